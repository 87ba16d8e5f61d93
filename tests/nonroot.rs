//! Every subcommand as an unprivileged user, started by root through `setpriv --reuid=65534
//! --regid=65534 --clear-groups`: reads degrade to what is visible and say so, actions are
//! refused naming the missing privilege, nothing panics and nothing changes.

mod common;

use std::process::Command;

use common::{Spawned, TestCgroup, require_root};

/// Runs nstop as nobody; returns (exit code, stdout, stderr).
fn as_nobody(args: &[&str]) -> (i32, String, String) {
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_nstop"))
        .args(args)
        .env_remove("NSTOP_AUDIT_LOG")
        .output()
        .expect("run setpriv");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn no_panic(args: &[&str], stderr: &str) {
    assert!(
        !stderr.contains("panicked"),
        "nstop {args:?} panicked as nobody: {stderr}"
    );
}

#[test]
fn reads_show_what_is_visible_and_say_what_is_not() {
    if !require_root() {
        return;
    }
    for args in [
        &["ns"][..],
        &["ns", "-J", "--output-all"],
        &["ns", "-T=parent"],
        &["cg"],
        &["cg", "--json"],
        &["snapshot", "--json"],
        &["oom"],
        &["oom", "--json"],
    ] {
        let (code, out, err) = as_nobody(args);
        no_panic(args, &err);
        assert_eq!(code, 0, "nstop {args:?} as nobody: {err}");
        assert!(!out.is_empty(), "nstop {args:?} printed nothing");
        if args.contains(&"--json") || args.contains(&"-J") {
            serde_json::from_str::<serde_json::Value>(&out)
                .unwrap_or_else(|e| panic!("nstop {args:?}: invalid JSON: {e}"));
        }
    }
    // Other users' processes hide their namespaces from nobody: the listing says so.
    let (_, _, err) = as_nobody(&["ns"]);
    assert!(
        err.contains("unreadable") && err.contains("root"),
        "a notice naming what is hidden and how to see it: {err}"
    );
    // A root-owned process of the test's own: nobody cannot read its links, and says so.
    let sleep = Spawned::cmd("sleep 60");
    let (code, out, err) = as_nobody(&["ns", "-p", &sleep.pid().to_string()]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(&format!(
            "cannot read the namespaces of PID {}",
            sleep.pid()
        )) && err.contains("CAP_SYS_PTRACE"),
        "{err}"
    );
}

#[test]
fn actions_are_refused_naming_the_privilege() {
    if !require_root() {
        return;
    }
    // Made by the test as root: nobody may not add a child to it or write its files.
    let cgroup = TestCgroup::new("");
    let child = format!("{}/child", cgroup.path);
    let sleeper = Spawned::cmd("sleep 60");
    let pid = sleeper.pid().to_string();
    for args in [
        vec!["kill", "-s", "TERM", pid.as_str()],
        vec!["cg", "mk", child.as_str()],
        vec!["cg", "freeze", cgroup.path.as_str()],
        vec!["unshare", "--net", "--", "true"],
        vec!["enter", "-t", pid.as_str(), "--net", "--", "true"],
    ] {
        let (code, _, err) = as_nobody(&args);
        no_panic(&args, &err);
        assert_ne!(code, 0, "nstop {args:?} as nobody succeeded");
        assert!(
            err.contains("CAP_") || err.contains("root"),
            "nstop {args:?}: the refusal names the privilege: {err}"
        );
    }
    assert!(!cgroup.dir.join("child").exists(), "nothing was created");
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the sleeper was not signalled"
    );
    let frozen = std::fs::read_to_string(cgroup.dir.join("cgroup.freeze")).unwrap();
    assert_eq!(frozen.trim(), "0", "nothing was written");
}

/// A namespace only root's processes are in: nobody cannot see it, and says it cannot tell
/// rather than that there is no such namespace (exit 1, not the usage error's 2).
#[test]
fn a_namespace_nobody_cannot_read_is_not_called_missing() {
    if !require_root() {
        return;
    }
    let proc = Spawned::cmd("unshare --uts sleep 60");
    let ino = common::new_ns_of(proc.pid(), "uts").to_string();
    for args in [&["ns", "--detail", &ino][..], &["ns", &ino]] {
        let (code, out, err) = as_nobody(args);
        no_panic(args, &err);
        assert_eq!(code, 1, "nstop {args:?} as nobody: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(
            err.contains(&format!("cannot read whether namespace {ino} exists"))
                && err.contains("CAP_SYS_PTRACE")
                && !err.contains("no namespace"),
            "{err}"
        );
    }
}
