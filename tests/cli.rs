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
    assert_usage_error(
        &["ns", "-p", "abc"],
        &["'abc' is not a PID (accepted: a process ID"],
    );
    assert_usage_error(
        &["ns", "x1"],
        &["'x1' is not a namespace (accepted: its inode number"],
    );
    assert_usage_error(
        &["cg", "move", "/x"],
        &["usage: nstop cg move [--threads] [--tree] [--dry-run] PID... CGROUP"],
    );
    assert_usage_error(&["ns", "4026531836x"], &["4026531836x"]);
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

/// Typed text echoed in a message and host text in every human-readable mode reach the
/// terminal escaped; JSON keeps it exact.
#[test]
fn control_and_bidi_characters_are_escaped_in_messages_and_tables() {
    for args in [
        vec!["cg", "set", "/x\u{1b}[2J\u{7}", "memory.max=1"],
        vec!["cg", "rm", "/x\u{1b}]0;title\u{7}"],
        vec!["cg", "memory:/evil\u{202E}txt"],
    ] {
        let (code, _, err) = nstop(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            !err.chars()
                .any(|c| c != '\n' && nstop::text::unprintable(c)),
            "{args:?}: {err:?}"
        );
        assert!(err.contains("\\x"), "{args:?}: {err:?}");
    }
}

/// A process whose command line reverses the text after it, read from a real /proc.
#[test]
fn a_command_line_with_a_bidi_override_is_escaped_in_every_ns_mode() {
    if !common::require_root() {
        return;
    }
    // Its own uts namespace makes it the namespace's representative, so its COMMAND is shown.
    let holder = common::Spawned::new(
        "unshare",
        &[
            "--uts",
            "sh",
            "-c",
            "sleep 60; true",
            "evil\u{202E}txt.exe\u{1b}[2J",
        ],
    );
    let ino = common::new_ns_of(holder.pid(), "uts");
    let ino = ino.to_string();
    for mode in [&[][..], &["-l"], &["-T"], &["-r"], &["-W"], &["-u"]] {
        let mut args = vec!["ns", "-t", "uts"];
        args.extend(mode);
        let (code, out, err) = nstop(&args);
        assert_eq!(code, 0, "{err}");
        let row = out
            .lines()
            .find(|l| l.contains(&ino))
            .expect("our namespace");
        assert!(
            row.contains("evil\\xe2\\x80\\xaetxt.exe\\x1b[2J"),
            "{mode:?}: {row}"
        );
    }
    let (_, out, _) = nstop(&["ns", "-J", "-t", "uts"]);
    assert!(
        out.contains("evil\u{202E}txt.exe\\u001b[2J"),
        "JSON is exact: {out}"
    );
}

#[test]
fn bad_filter_expressions_point_at_the_error() {
    assert_usage_error(
        &["ns", "-Q", "TYPE == \"net\" &&"],
        &[
            "--filter: column 17: expected a value after `&&`",
            "\n                  ^",
        ],
    );
    assert_usage_error(
        &["ns", "--filter", "NPROCS > 1 and BOGUS"],
        &[
            "column 16: unknown column BOGUS (accepted: NS, TYPE",
            "NSID",
        ],
    );
    assert_usage_error(
        &["ns", "-Q", "TYPE =~ \"(\""],
        &["column 9", "regular expression"],
    );
    assert_usage_error(&["ns", "-P", "-p", "1"], &["--persistent", "--task"]);
}

#[test]
fn list_columns_as_lsns_prints_them() {
    let (code, out, _) = nstop(&["ns", "-H", "-r"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "NS <integer> namespace\\x20identifier\\x20(inode\\x20number)"
    );
    assert!(
        lines.contains(&"TYPE <string> kind\\x20of\\x20namespace"),
        "{out}"
    );
    assert_eq!(lines.len(), 18);
    let (_, out, _) = nstop(&["ns", "-H", "-J"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["lsns-columns"][3]["holder"], "NPROCS");
    assert_eq!(doc["lsns-columns"][3]["type"], "<integer>");
}

#[test]
fn snapshot_is_one_line_in_a_pipe_and_indented_with_pretty() {
    let root = "tests/fixtures/cg-v2";
    let (code, line, _) = nstop(&["--root", root, "snapshot"]);
    assert_eq!(code, 0);
    assert_eq!(line.lines().count(), 1);
    let (_, pretty, _) = nstop(&["--root", root, "snapshot", "--pretty"]);
    assert!(pretty.starts_with("{\n  \"host\": {"), "{}", &pretty[..40]);
    let a: serde_json::Value = serde_json::from_str(&line).unwrap();
    let b: serde_json::Value = serde_json::from_str(&pretty).unwrap();
    assert_eq!(a, b);
}
