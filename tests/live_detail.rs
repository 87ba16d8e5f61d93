//! `nstop ns --detail` against what the test itself set up inside each kind of namespace.

mod common;

use common::{
    Netns, Spawned, TestCgroups, children, new_ns_of, ns_inode, ns_of, nstop, require_root,
    wait_for,
};
use serde_json::Value;

/// `nstop ns --detail INO -J`, which must succeed.
fn detail(ino: u64, kind: &str) -> Value {
    let (code, out, err) = nstop(&["ns", "--detail", &ino.to_string(), "-t", kind, "-J"]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["error"], Value::Null, "{doc}");
    doc["detail"].clone()
}

/// The innermost process of `unshare ... --fork`: the child of the given unshare.
fn forked_child(unshare: &Spawned, comm: &str) -> i32 {
    wait_for(comm, || {
        let child = *children(unshare.pid()).first()?;
        let name = std::fs::read_to_string(format!("/proc/{child}/comm")).ok()?;
        (name.trim() == comm).then_some(child)
    })
}

#[test]
fn uts_hostname_set_inside() {
    if !require_root() {
        return;
    }
    let shell = Spawned::new(
        "unshare",
        &[
            "--uts",
            "--fork",
            "--kill-child",
            "sh",
            "-c",
            "hostname nstop-detail-host && exec sleep 60",
        ],
    );
    let pid = forked_child(&shell, "sleep");
    let d = detail(ns_of(pid, "uts"), "uts");
    assert_eq!(d["hostname"], "nstop-detail-host");
}

#[test]
fn user_maps_of_an_unprivileged_user_namespace() {
    if !require_root() {
        return;
    }
    let proc = Spawned::cmd(
        "setpriv --reuid=65534 --regid=65534 --clear-groups unshare --user --map-root-user sleep 60",
    );
    let pid = proc.pid();
    let ino = wait_for("user namespace with maps", || {
        let map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).ok()?;
        (map.split_whitespace().nth(1) == Some("65534")).then(|| ns_of(pid, "user"))
    });
    let d = detail(ino, "user");
    assert_eq!(
        d["uid_map"],
        serde_json::json!([{"inside": 0, "outside": 65534, "count": 1}])
    );
    assert_eq!(d["gid_map"][0]["outside"], 65534);
    assert_eq!(d["setgroups"], "deny");
    // The outside ids are as the reader's own user namespace sees them: it says which.
    let own = ns_of(std::process::id() as i32, "user");
    assert_eq!(d["seen_from"], own);
    let (code, text, err) = nstop(&["ns", "--detail", &ino.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains(&format!("user:[{own}]")), "{text}");
}

#[test]
fn net_interfaces_and_addresses_of_a_bind_mounted_netns() {
    if !require_root() {
        return;
    }
    let netns = Netns::add();
    for args in [
        ["link", "set", "lo", "up"].as_slice(),
        &["addr", "add", "10.77.0.1/8", "dev", "lo"],
    ] {
        let status = std::process::Command::new("ip")
            .args(["-n", &netns.0])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let d = detail(ns_inode(&netns.path()), "net");
    let lo = &d["interfaces"][0];
    assert_eq!(lo["name"], "lo");
    assert_eq!(lo["up"], true);
    let addresses: Vec<&str> = lo["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(addresses.contains(&"127.0.0.1/8"), "{addresses:?}");
    assert!(addresses.contains(&"10.77.0.1/8"), "{addresses:?}");
    assert_eq!(
        d["interfaces"].as_array().unwrap().len(),
        1,
        "a new netns has only lo"
    );
}

#[test]
fn mount_namespace_root_and_mount_count() {
    if !require_root() {
        return;
    }
    let proc = Spawned::cmd("unshare --mount sleep 60");
    let pid = proc.pid();
    let ino = new_ns_of(pid, "mnt");
    let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .unwrap()
        .lines()
        .count();
    let d = detail(ino, "mnt");
    assert_eq!(d["mounts"], mounts);
    assert_eq!(d["root"], "/");
}

#[test]
fn time_offsets_set_by_unshare() {
    if !require_root() {
        return;
    }
    let proc =
        Spawned::cmd("unshare --time --monotonic 86400 --boottime 7 --fork --kill-child sleep 60");
    let pid = forked_child(&proc, "sleep");
    let d = detail(ns_of(pid, "time"), "time");
    assert_eq!(d["monotonic"]["seconds"], 86400);
    assert_eq!(d["boottime"]["seconds"], 7);
}

#[test]
fn pid_namespace_init_and_process_count() {
    if !require_root() {
        return;
    }
    let proc = Spawned::new(
        "unshare",
        &[
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "sh",
            "-c",
            "sleep 60 & sleep 60 & wait",
        ],
    );
    let init = forked_child(&proc, "sh");
    wait_for("two sleeps", || (children(init).len() == 2).then_some(()));
    let d = detail(ns_of(init, "pid"), "pid");
    assert_eq!(d["init"], init);
    assert_eq!(d["processes"], 3);
}

/// The root is per hierarchy: here the cgroup2 and memory cgroups the test made (one cgroup
/// on a unified host, two on a hybrid one) and `/` or the test's own cgroup in the others;
/// every hierarchy of /proc/PID/cgroup has one (issue 20: only cgroup2's was shown).
#[test]
fn cgroup_namespace_root_in_every_hierarchy() {
    if !require_root() {
        return;
    }
    let made = TestCgroups::with(&["", "memory"]);
    let script = format!(
        "{}; exec unshare --cgroup sleep 60",
        ["", "memory"]
            .map(|c| format!(
                "echo $$ > {}",
                made.of(c).dir.join("cgroup.procs").display()
            ))
            .join("; ")
    );
    let proc = Spawned::new("sh", &["-c", &script]);
    let pid = proc.pid();
    let ino = new_ns_of(pid, "cgroup");
    let d = detail(ino, "cgroup");
    let roots: Vec<(u64, String)> = d["roots"]
        .as_array()
        .expect("roots")
        .iter()
        .map(|r| {
            (
                r["hierarchy"].as_u64().unwrap(),
                r["root"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let outside: Vec<(u64, String)> = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut f = l.splitn(3, ':');
            let id = f.next().unwrap().parse().unwrap();
            (id, f.nth(1).unwrap().to_owned())
        })
        .collect();
    assert_eq!(roots, outside);
    for c in ["", "memory"] {
        let cgroup = made.of(c);
        assert!(
            roots.iter().any(|(_, r)| *r == cgroup.path),
            "{}",
            cgroup.spec()
        );
    }
    let (code, text, err) = nstop(&["ns", "--detail", &ino.to_string()]);
    assert_eq!(code, 0, "{err}");
    let unified = made.of("");
    assert!(
        text.contains(&format!("cgroup root in cgroup2: {}\n", unified.path)),
        "{text}"
    );
    drop(proc);
}

#[test]
fn detail_of_an_unknown_namespace_is_a_usage_error() {
    // Where some process cannot be read (not root; PID 1 of a sandbox) nstop cannot tell.
    let (_, _, listing_err) = nstop(&["ns"]);
    let (code, out, err) = nstop(&["ns", "--detail", "12345"]);
    assert!(out.is_empty());
    if listing_err.contains("unreadable") {
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains("cannot read whether namespace 12345 exists"),
            "{err}"
        );
    } else {
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("no namespace with inode 12345"), "{err}");
    }
}
