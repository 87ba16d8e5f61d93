//! Bad input: a clear message naming what is accepted, exit code 2, nothing printed on stdout.

mod common;

use common::nstop;

fn assert_usage_error(args: &[&str], names: &[&str]) {
    let (code, out, err) = nstop(args);
    assert_eq!(code, 2, "{args:?}: {err}");
    assert!(out.is_empty(), "{args:?} printed {out}");
    for name in names {
        assert!(
            err.contains(name),
            "{args:?}: {err:?} does not mention {name}"
        );
    }
}

#[test]
fn unknown_type_lists_the_accepted_types() {
    assert_usage_error(
        &["ns", "-t", "bogus"],
        &["bogus", "cgroup, ipc, mnt, net, pid, time, user, uts"],
    );
    // Type names are case-sensitive, as in lsns.
    assert_usage_error(&["ns", "-t", "Net"], &["Net"]);
}

#[test]
fn unknown_column_lists_the_accepted_columns() {
    assert_usage_error(&["ns", "-o", "NS,BOGUS"], &["BOGUS", "NETNSID", "HOLDERS"]);
    assert_usage_error(&["ns", "-o", "+"], &["unknown column ''"]);
    assert_usage_error(&["ns", "-o", "NS,"], &["unknown column ''"]);
}

#[test]
fn missing_process_and_garbage_numbers() {
    assert_usage_error(
        &["ns", "-p", "2147483647"],
        &["no process with PID 2147483647"],
    );
    assert_usage_error(&["ns", "-p", "abc"], &["abc"]);
    assert_usage_error(&["ns", "4026531836x"], &["4026531836x"]);
    assert_usage_error(&["ns", "99"], &["no namespace with inode 99"]);
    assert_usage_error(&["ns", "-p", "1", "4026531836"], &["--task", "NAMESPACE"]);
    assert_usage_error(&["ns", "-J", "-r"], &["--json", "--raw"]);
}

#[test]
fn columns_are_case_insensitive_and_plus_appends() {
    let (code, out, _) = nstop(&["ns", "-n", "-r", "-o", "nS,tYpE", "-t", "user"]);
    assert_eq!(code, 0);
    let first = out.lines().next().unwrap();
    assert_eq!(first.split(' ').nth(1), Some("user"));
    let (_, out, _) = nstop(&["ns", "-r", "-o", "+PATH", "-t", "user"]);
    assert!(
        out.starts_with("NS TYPE NPROCS PID USER COMMAND PATH\n"),
        "{out}"
    );
}

#[test]
fn bad_cgroup_arguments() {
    assert_usage_error(
        &["cg", "relative/path"],
        &["must be absolute", "controllers:/path"],
    );
    assert_usage_error(
        &["cg", "memory:/no-such-cgroup-here"],
        &["no cgroup /no-such-cgroup-here"],
    );
    assert_usage_error(
        &["cg", "bogus:/"],
        &["no v1 hierarchy has the controllers 'bogus'", "this host"],
    );
    assert_usage_error(
        &["cg", "-s", "bogus"],
        &["bogus", "psi-memory", "oom-kills"],
    );
    assert_usage_error(&["cg", "-i", "0"], &["out of range"]);
    assert_usage_error(&["cg", "-i", "2h"], &["accepted: ms, s, m"]);
    assert_usage_error(&["snapshot", "-i", "x"], &["not a duration"]);
}

/// `--root` describes a captured tree; commands that act on processes by PID would reach live
/// ones that merely share the number.
#[test]
fn acting_on_processes_is_refused_with_a_root() {
    let root = "tests/fixtures/cg-v2";
    for args in [
        vec!["kill", "4242"],
        vec!["cg", "move", "4242", "/system.slice"],
        vec!["cg", "kill", "/system.slice"],
        vec!["cg", "exec", "/system.slice", "--", "true"],
        vec!["enter", "-t", "4242", "--uts"],
        vec!["unshare", "--uts", "--", "true"],
    ] {
        let mut all = vec!["--root", root];
        all.extend(&args);
        assert_usage_error(&all, &["acts on live processes", "without --root"]);
    }
}
