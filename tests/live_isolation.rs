//! Privileges read from the live kernel (root): processes the test starts with capabilities
//! dropped and no_new_privs (setpriv), a seccomp filter, a user namespace whose root is uid
//! 100000 on the host, a chroot; their `snapshot` fields against /proc and `capsh --decode`,
//! and `nstop audit` of a sandbox that shares some of the host's namespaces.

mod common;

use std::process::Command;

use common::{Spawned, nstop, require_root, wait_for};
use serde_json::Value;

/// The snapshot's entry for `pid`, once it is there with its privileges read.
fn security_of(pid: i32) -> Value {
    wait_for("the process in a snapshot", || {
        let (code, out, err) = nstop(&["snapshot", "--json"]);
        assert_eq!(code, 0, "{err}");
        let doc: Value = serde_json::from_str(&out).unwrap();
        let p = doc["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == pid)?;
        Some(p["security"].clone()).filter(|s| !s.is_null())
    })
}

/// A line of /proc/PID/status.
fn status_field(pid: i32, key: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("{key} in /proc/{pid}/status"))
        .trim()
        .to_owned()
}

/// `capsh --decode` of a status mask: the names, upper-cased as nstop writes them.
fn capsh_names(mask: &str) -> Vec<String> {
    let out = Command::new("capsh")
        .arg(format!("--decode=0x{mask}"))
        .output()
        .expect("capsh (libcap2-bin) is installed");
    let text = String::from_utf8_lossy(&out.stdout);
    let names = text.trim().split_once('=').map_or("", |(_, n)| n);
    names
        .split(',')
        .filter(|n| !n.is_empty())
        .map(str::to_uppercase)
        .collect()
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect()
}

/// The process a starter command execs into, once it is `comm`.
fn exec_of(started: &Spawned, comm: &str) -> i32 {
    let pid = started.pid();
    wait_for(comm, || {
        let now = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (now.trim() == comm).then_some(pid)
    })
}

#[test]
fn dropped_capabilities_and_no_new_privs_read_as_capsh_decodes_them() {
    if !require_root() {
        return;
    }
    let sleep = Spawned::cmd(
        "setpriv --inh-caps=-all --bounding-set=-all,+net_bind_service,+kill --no-new-privs sleep 3600",
    );
    let pid = exec_of(&sleep, "sleep");
    let s = security_of(pid);
    for (set, key) in [
        ("effective", "CapEff"),
        ("permitted", "CapPrm"),
        ("bounding", "CapBnd"),
        ("inheritable", "CapInh"),
        ("ambient", "CapAmb"),
    ] {
        assert_eq!(
            names(&s["caps"][set]),
            capsh_names(&status_field(pid, key)),
            "{set}"
        );
    }
    assert_eq!(
        names(&s["caps"]["bounding"]),
        vec!["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    );
    assert_eq!(s["no_new_privs"], true);
    assert_eq!(s["seccomp"], "disabled");
    assert_eq!(s["host_root"], true);
    assert_eq!(s["uid"], 0);
}

/// A seccomp filter that allows everything (one `SECCOMP_RET_ALLOW`), installed by python
/// through prctl after no_new_privs, then a sleep.
const SECCOMP_FILTER: &str = "
import ctypes, time
libc = ctypes.CDLL(None, use_errno=True)
class Insn(ctypes.Structure):
    _fields_ = [('code', ctypes.c_ushort), ('jt', ctypes.c_ubyte), ('jf', ctypes.c_ubyte), ('k', ctypes.c_uint)]
class Prog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.POINTER(Insn))]
allow = (Insn * 1)(Insn(0x06, 0, 0, 0x7fff0000))
prog = Prog(1, allow)
assert libc.prctl(38, 1, 0, 0, 0) == 0, 'PR_SET_NO_NEW_PRIVS'
assert libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0, ctypes.get_errno()
time.sleep(3600)
";

#[test]
fn a_seccomp_filter_is_seen_with_its_count() {
    if !require_root() {
        return;
    }
    let python = Spawned::new("python3", &["-c", SECCOMP_FILTER]);
    let pid = python.pid();
    wait_for("the filter installed", || {
        (status_field(pid, "Seccomp") == "2").then_some(())
    });
    let s = security_of(pid);
    assert_eq!(s["seccomp"], "filter");
    assert_eq!(
        s["seccomp_filters"].as_u64().map(|n| n.to_string()),
        Some(status_field(pid, "Seccomp_filters"))
    );
    assert_eq!(s["no_new_privs"], true);
}

#[test]
fn root_in_a_user_namespace_is_uid_100000_on_the_host() {
    if !require_root() {
        return;
    }
    let sleep = Spawned::cmd(
        "setpriv --reuid 100000 --regid 100000 --clear-groups unshare --user --map-root-user sleep 3600",
    );
    let pid = exec_of(&sleep, "sleep");
    wait_for("its map written", || {
        let map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).ok()?;
        (!map.trim().is_empty()).then_some(())
    });
    let s = security_of(pid);
    assert_eq!(s["uid"], 100000);
    assert_eq!(s["inside"]["uid"], 0);
    assert_eq!(s["inside"]["gid"], 0);
    // Its capabilities are its namespace's: the audit says so, and nothing above info.
    let (code, out, err) = nstop(&["audit", &pid.to_string()]);
    assert!(
        out.contains("has every capability in its own user namespace only"),
        "{out}{err}"
    );
    assert!(!out.contains("runs privileged"), "{out}");
    assert!(
        code == 0 || out.contains("WARN") || out.contains("ALERT"),
        "{out}"
    );
}

#[test]
fn a_chrooted_process_has_its_own_root() {
    if !require_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let code = format!(
        "import os, time; os.chroot({:?}); os.chdir('/'); time.sleep(3600)",
        dir.path().to_str().unwrap()
    );
    let python = Spawned::new("python3", &["-c", &code]);
    let pid = python.pid();
    wait_for("the chroot", || {
        let root = std::fs::read_link(format!("/proc/{pid}/root")).ok()?;
        (root == dir.path()).then_some(())
    });
    assert_eq!(security_of(pid)["host_root"], false);
}

/// A sandbox of the test's own: new mount, pid and network namespaces, the host's UTS and
/// IPC, all of root's capabilities, no seccomp. `audit` names each weakness with its
/// evidence and exits 1; the network namespace it does not share is not named.
#[test]
fn audit_names_what_a_sandbox_shares_with_the_host() {
    if !require_root() {
        return;
    }
    let sandbox = Spawned::cmd("unshare --mount --pid --net --fork --kill-child sleep 3600");
    let pid = wait_for("the sleep inside", || {
        let child = *common::children(sandbox.pid()).first()?;
        let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).ok()?;
        (comm.trim() == "sleep").then_some(child)
    });
    let (code, out, err) = nstop(&["audit", &pid.to_string()]);
    assert_eq!(code, 1, "{out}{err}");
    // The host's UTS namespace is the test's own.
    let uts = common::ns_of(pid, "uts");
    assert_eq!(uts, common::ns_of(std::process::id() as i32, "uts"));
    for said in [
        format!(
            "WARN  shares the host's UTS namespace: can set the host's hostname  [uts:[{uts}] (PID {pid})]"
        ),
        "no seccomp filter: every system call is open to it".to_owned(),
        "CAP_SYS_ADMIN: can mount, can escape".to_owned(),
    ] {
        assert!(out.contains(&said), "{said} in\n{out}");
    }
    assert!(!out.contains("network namespace"), "{out}");
    // On a host with a v1 devices hierarchy: its cgroup there allows every device when its
    // list says `a *:* rwm`, as read here.
    let devices = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap()
        .lines()
        .find_map(|l| l.split_once(":devices:").map(|(_, path)| path.to_owned()));
    if let (Some(path), Some(mount)) = (devices, common::cgroup_mount("devices")) {
        let list = std::fs::read_to_string(format!("{mount}{path}/devices.list")).unwrap();
        let all = list.lines().any(|l| l == "a *:* rwm");
        assert_eq!(
            out.contains("every device is allowed"),
            all,
            "{list}\n{out}"
        );
    }
    let (code, json, _) = nstop(&["audit", "--json", &pid.to_string()]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["exceeds_baseline"], true);
    let checks: Vec<&str> = doc["subjects"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert!(
        checks.contains(&"host-namespace") && checks.contains(&"capabilities"),
        "{checks:?}"
    );
    // Bad input: exit 2, what was wrong and what is accepted.
    let (code, _, err) = nstop(&["audit", "999999999"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no process 999999999 (a PID of a running process, or a cgroup"),
        "{err}"
    );
    let (code, _, err) = nstop(&["audit", "/nstop-no-such-cgroup"]);
    assert_eq!(code, 2);
    assert!(err.contains("no cgroup '/nstop-no-such-cgroup'"), "{err}");
}

/// The findings `nstop audit PID` makes, as (check, what, evidence).
fn audit_findings(pid: i32) -> Vec<(String, String, String)> {
    let (code, json, err) = nstop(&["audit", "--json", &pid.to_string()]);
    assert!(code == 0 || code == 1, "{err}");
    let doc: Value = serde_json::from_str(&json).unwrap();
    doc["subjects"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let text = |key: &str| f[key].as_str().unwrap().to_owned();
            (text("check"), text("what"), text("evidence"))
        })
        .collect()
}

/// Two sandboxes in the host's PID namespace: one in its own network namespace only (the
/// host's /proc/sys, writable to it as the host's root), one in its own mount namespace with
/// /proc/sys bound read-only as runtimes bind it. Both may trace as this host's yama allows,
/// and the audit says by which scope; only the first can set kernel.core_pattern; where
/// that pattern pipes to a program, both are told a crash leaves them.
#[test]
fn audit_weighs_ptrace_and_a_writable_proc_sys() {
    if !require_root() {
        return;
    }
    let net_only = Spawned::cmd("unshare --net sleep 3600");
    let open = exec_of(&net_only, "sleep");
    let walled = Spawned::new(
        "unshare",
        &[
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount -o bind,ro /proc/sys /proc/sys && exec sleep 3600",
        ],
    );
    let walled = exec_of(&walled, "sleep");
    let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .map_or("not set (no yama)".to_owned(), |s| s.trim().to_owned());
    let core_pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let core_pattern = core_pattern.trim_end_matches('\n');
    for (pid, writes_sysctls) in [(open, true), (walled, false)] {
        let findings = audit_findings(pid);
        let said = |check: &str, words: &str| {
            findings
                .iter()
                .find(|(c, what, _)| c == check && what.contains(words))
        };
        let (_, _, evidence) = said("ptrace", "trace").unwrap_or_else(|| panic!("{findings:#?}"));
        assert!(
            evidence.ends_with(&format!("as uid 0; kernel.yama.ptrace_scope = {scope}")),
            "{evidence}"
        );
        let writer = said("core-dump", "can write sysctls at /proc/sys");
        assert_eq!(writer.is_some(), writes_sysctls, "PID {pid}: {findings:#?}");
        if let Some((_, _, evidence)) = writer {
            assert!(
                evidence.ends_with(&format!("kernel.core_pattern = {core_pattern}")),
                "{evidence}"
            );
        }
        let piped = said("core-dump", "handed to a program on the host");
        assert_eq!(
            piped.is_some(),
            core_pattern.starts_with('|'),
            "{findings:#?}"
        );
    }
}
