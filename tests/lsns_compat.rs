//! `nstop ns -J --output-all` against the installed lsns, run before and after it. Kept alone in
//! its own test binary so no other live test changes the host while it compares.

mod common;

use std::collections::HashMap;
use std::process::Command;

use common::{Netns, Spawned, children, nstop, require_root, wait_for};
use serde_json::Value;

const COMPARED: [&str; 12] = [
    "type", "path", "nprocs", "pid", "ppid", "command", "uid", "user", "netnsid", "nsfs", "pns",
    "ons",
];

fn rows_by_ns(json: &str) -> HashMap<u64, Value> {
    let doc: Value = serde_json::from_str(json).expect("JSON");
    doc["namespaces"]
        .as_array()
        .expect("namespaces array")
        .iter()
        .map(|row| (row["ns"].as_u64().expect("numeric ns"), row.clone()))
        .collect()
}

fn lsns() -> HashMap<u64, Value> {
    let out = Command::new("lsns")
        .args(["-J", "--output-all"])
        .output()
        .expect("lsns is installed (util-linux)");
    assert!(out.status.success());
    rows_by_ns(&String::from_utf8_lossy(&out.stdout))
}

#[test]
fn agrees_with_lsns_on_every_namespace_lsns_lists() {
    if !require_root() {
        return;
    }
    // Our own scenario, so the comparison covers parents, owners, nsfs and netns ids: nested
    // pid + user namespaces, and a process inside a bind-mounted netns.
    let nested = Spawned::cmd(
        "unshare --user --map-root-user --pid --fork --kill-child --mount-proc unshare --pid --fork --kill-child sleep 60",
    );
    let (level1, innermost) = wait_for("nested pid namespaces", || {
        let level1 = *children(nested.pid()).first()?;
        Some((level1, *children(level1).first()?))
    });
    let netns = Netns::add();
    let in_netns = Spawned::new("ip", &["netns", "exec", &netns.0, "sleep", "60"]);
    wait_for("ip netns exec", || {
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", in_netns.pid())).ok()?;
        (comm.trim() == "sleep").then_some(())
    });
    let empty_netns = Netns::add();

    let before = lsns();
    let (code, out, err) = nstop(&["ns", "-J", "--output-all"]);
    let after = lsns();
    assert_eq!(code, 0, "{err}");
    let ours = rows_by_ns(&out);

    let mut compared = std::collections::HashSet::new();
    for (ns, row) in &before {
        // Namespaces that changed while we ran (processes coming and going) prove nothing.
        if after.get(ns) != Some(row) {
            continue;
        }
        let mine = ours
            .get(ns)
            .unwrap_or_else(|| panic!("lsns lists {ns}, nstop does not"));
        for field in COMPARED {
            // A process without argv (a zombie, a wiped one) is `[comm]` here as in ps; lsns
            // prints the bare name.
            let bracketed = row[field].as_str().map(|s| format!("[{s}]"));
            if field == "command" && mine[field].as_str() == bracketed.as_deref() {
                continue;
            }
            assert_eq!(mine[field], row[field], "{field} of namespace {ns}");
        }
        compared.insert(*ns);
    }
    // The test's own namespaces are stable (it holds them): each must have been compared.
    let own = [
        common::ns_of(level1, "user"),
        common::ns_of(level1, "pid"),
        common::ns_of(innermost, "pid"),
        common::ns_of(in_netns.pid(), "net"),
    ];
    for ns in own {
        assert!(
            compared.contains(&ns),
            "the test's namespace {ns} was compared"
        );
    }

    // What lsns 2.38 cannot see (newer versions can): the bind-mounted netns with no process.
    let empty_ino = common::ns_inode(&empty_netns.path());
    assert_eq!(ours[&empty_ino]["nsfs"], empty_netns.path());
    assert_eq!(ours[&empty_ino]["nprocs"], 0);
}
