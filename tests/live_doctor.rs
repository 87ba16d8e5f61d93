//! `nstop doctor` on the host it runs on (root): each line against what the test reads itself.
//! This machine is hybrid, the real-host guest cgroup2-only; a kernel with or without
//! NS_GET_ID; as nobody, the missing capabilities and the kernel log are named with a fix.

mod common;

use std::process::Command;

use common::require_root;
use serde_json::Value;

fn doctor(nobody: bool) -> Vec<Value> {
    let mut command = match nobody {
        true => {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
            c.arg(env!("CARGO_BIN_EXE_nstop"));
            c
        }
        false => Command::new(env!("CARGO_BIN_EXE_nstop")),
    };
    let out = command
        .args(["doctor", "--json"])
        .env_remove("NSTOP_AUDIT_LOG")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc.as_array().unwrap().clone()
}

fn line<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {checks:?}"))
}

#[test]
fn doctor_says_what_this_host_has() {
    if !require_root() {
        return;
    }
    let checks = doctor(false);
    assert_eq!(line(&checks, "privileges")["found"], "root");
    // The layout, as this host's own mount table has it.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let v1 = mounts.lines().any(|l| l.contains(" - cgroup "));
    let v2 = mounts.lines().any(|l| l.contains(" - cgroup2 "));
    let cgroups = line(&checks, "cgroups")["found"]
        .as_str()
        .unwrap()
        .to_owned();
    let expected = match (v1, v2) {
        (true, true) => "hybrid: cgroup2 at ",
        (false, true) => "cgroup2 only: cgroup2 at /sys/fs/cgroup (",
        (true, false) => "v1 only: ",
        (false, false) => "no cgroup filesystem",
    };
    assert!(cgroups.starts_with(expected), "{cgroups}");
    if (false, true) == (v1, v2) {
        let controllers = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers").unwrap();
        assert!(
            cgroups.ends_with(&format!("({})", controllers.trim())),
            "{cgroups}"
        );
    }
    let psi = std::path::Path::new("/proc/pressure/memory").exists();
    assert_eq!(line(&checks, "pressure")["state"] == "ok", psi);
    assert_eq!(line(&checks, "kernel log")["state"], "ok");
    let kernel = line(&checks, "kernel")["found"].as_str().unwrap();
    assert_eq!(
        !kernel.contains("no NS_GET_ID"),
        common::kernel_has_ns_get_id(),
        "{kernel}"
    );
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert!(kernel.starts_with(release.trim()), "{kernel}");
}

#[test]
fn as_nobody_doctor_names_the_missing_privileges_and_their_fix() {
    if !require_root() {
        return;
    }
    let checks = doctor(true);
    let privileges = line(&checks, "privileges");
    assert_eq!(privileges["state"], "limited");
    let found = privileges["found"].as_str().unwrap();
    assert!(
        found.contains("CAP_SYS_PTRACE (other users' namespaces"),
        "{found}"
    );
    assert!(privileges["fix"].as_str().unwrap().contains("run as root"));
    // /dev/kmsg is root's where dmesg_restrict says so.
    let restricted = std::fs::read_to_string("/proc/sys/kernel/dmesg_restrict")
        .unwrap()
        .trim()
        == "1";
    let log = line(&checks, "kernel log");
    assert_eq!(log["state"] == "limited", restricted, "{log}");
    // nobody's home is /nonexistent: the audit log has nowhere to go, and says so.
    let audit = line(&checks, "audit log");
    assert!(
        audit["fix"].is_string() || audit["state"] == "ok",
        "{audit}"
    );
}
