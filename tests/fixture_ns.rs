//! The readers and the model on a proc tree captured from real processes
//! (tests/fixtures/host-ns, see its SCENARIO.md), read through `Roots`.

mod common;

use std::path::Path;

use nstop::model::Model;
use nstop::model::sample::{HolderSample, NsType};
use nstop::sys::{self, Roots};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/host-ns");

fn model() -> Model {
    let sample = sys::sample(&Roots::under(Path::new(FIXTURE)), sys::Collect::Namespaces);
    Model::new(&sample.expect("read fixture"), None)
}

fn ns(model: &Model, kind: NsType, ino: u64) -> &nstop::model::namespace::Namespace {
    model
        .namespaces
        .iter()
        .find(|n| n.kind == kind && n.ns == ino)
        .unwrap_or_else(|| panic!("{kind}:[{ino}] missing"))
}

#[test]
fn every_captured_process_is_read() {
    let model = model();
    let pids: Vec<i32> = model.processes.iter().map(|p| p.pid).collect();
    assert_eq!(
        pids,
        vec![
            2, 13, 17145, 17156, 17158, 17159, 17162, 17204, 17233, 17249, 17255
        ]
    );
    let kthreadd = model.process(2).unwrap();
    assert_eq!(
        kthreadd.command, "kthreadd",
        "kernel threads fall back to comm"
    );
    assert_eq!(kthreadd.namespaces.len(), 8);
    assert_eq!(model.process(17162).unwrap().command, "sleep 600");
    assert_eq!(model.process(17255).unwrap().ppid, 17145);
}

#[test]
fn host_namespaces_count_every_member_and_pick_the_lowest_pid() {
    let model = model();
    let host_net = ns(&model, NsType::Net, 4026531833);
    assert_eq!(host_net.nprocs(), 11);
    assert_eq!(host_net.pid, Some(2));
    assert_eq!(host_net.path.as_deref(), Some("/proc/2/ns/net"));
    // Members of the nested pid namespaces are not in the host's.
    assert_eq!(ns(&model, NsType::Pid, 4026531836).nprocs(), 8);
}

#[test]
fn nspid_chains_of_nested_pid_namespaces() {
    let model = model();
    assert_eq!(model.process(17162).unwrap().nspid, vec![17162, 3, 2, 1]);
    assert_eq!(model.process(17159).unwrap().nspid, vec![17159, 2, 1]);
    assert_eq!(model.process(17158).unwrap().nspid, vec![17158, 1]);
    // In the /proc mount's own namespace the status file is not needed.
    assert_eq!(model.process(17145).unwrap().nspid, vec![17145]);
    for (ino, member, creator) in [
        (4026541643, 17158, 17156),
        (4026541644, 17159, 17158),
        (4026541645, 17162, 17159),
    ] {
        let pid_ns = ns(&model, NsType::Pid, ino);
        assert_eq!(pid_ns.pids, vec![member]);
        assert_eq!(
            pid_ns.holders,
            vec![HolderSample::ForChildren { pid: creator }]
        );
    }
}

#[test]
fn namespaces_without_member_processes_and_their_holders() {
    let model = model();
    let bound = ns(&model, NsType::Net, 4026541646);
    assert!(bound.pids.is_empty());
    assert_eq!(bound.nsfs, vec!["/run/netns/nstop-fx"]);
    assert_eq!(bound.path.as_deref(), Some("/run/netns/nstop-fx"));
    assert_eq!(bound.pid, None);
    // Seen in one mount namespace, through its lowest-PID member.
    assert_eq!(
        bound.holders,
        vec![HolderSample::BindMount {
            path: "/run/netns/nstop-fx".into(),
            mnt_ns: 4026531832,
            via_pid: 2
        }]
    );

    let fd_held = ns(&model, NsType::Net, 4026541715);
    assert_eq!(
        fd_held.holders,
        vec![HolderSample::Fd { pid: 17204, fd: 3 }]
    );
    assert_eq!(fd_held.path.as_deref(), Some("/proc/17204/fd/3"));
    assert_eq!(fd_held.pid, Some(17204));

    let thread_held = ns(&model, NsType::Uts, 4026541784);
    assert_eq!(
        thread_held.holders,
        vec![HolderSample::Thread {
            pid: 17233,
            tid: 17243
        }]
    );
    assert_eq!(
        thread_held.path.as_deref(),
        Some("/proc/17233/task/17243/ns/uts")
    );

    let time_children = ns(&model, NsType::Time, 4026541785);
    assert!(time_children.pids.is_empty());
    assert_eq!(
        time_children.holders,
        vec![HolderSample::ForChildren { pid: 17249 }]
    );
    assert_eq!(
        time_children.path.as_deref(),
        Some("/proc/17249/ns/time_for_children")
    );

    let user = ns(&model, NsType::User, 4026541786);
    assert_eq!(user.pids, vec![17255]);
}

#[test]
fn cli_output_all_with_holders() {
    let (code, out, err) = common::nstop(&[
        "--root",
        FIXTURE,
        "ns",
        "--output-all",
        "-o",
        "+HOLDERS,NSPID",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out);
}

#[test]
fn cli_default_table_draws_the_process_tree() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nstop"))
        .args(["--root", FIXTURE, "ns"])
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn cli_json_has_lsns_shape() {
    let (code, out, _) =
        common::nstop(&["--root", FIXTURE, "ns", "-J", "--output-all", "-t", "net"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = doc["namespaces"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let keys: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "ns", "type", "path", "nprocs", "pid", "ppid", "command", "uid", "user", "netnsid",
            "nsfs", "pns", "ons"
        ]
    );
    assert_eq!(rows[0]["ns"], 4026531833u64);
    assert_eq!(rows[0]["nprocs"], 11);
    assert_eq!(rows[0]["command"], "kthreadd");
    assert_eq!(rows[0]["nsfs"], serde_json::Value::Null);
    assert_eq!(rows[1]["nsfs"], "/run/netns/nstop-fx");
}

#[test]
fn cli_namespace_argument_lists_member_processes() {
    let (code, out, _) = common::nstop(&["--root", FIXTURE, "ns", "-r", "4026541645"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "PID PPID USER COMMAND\n17162 17159 root sleep\\x20600\n"
    );
}

/// `nstop ns` listings read command lines and NSpid only for the processes they show: the
/// namespaces come out the same, and so does every process a namespace shows.
#[test]
fn a_namespace_listing_reads_the_shown_processes_in_full() {
    let read = |collect| {
        let sample = sys::sample(&Roots::under(Path::new(FIXTURE)), collect);
        Model::new(&sample.expect("read fixture"), None)
    };
    let full = read(sys::Collect::Namespaces);
    let listing = read(sys::Collect::NamespaceList);
    assert_eq!(
        serde_json::to_value(&listing.namespaces).unwrap(),
        serde_json::to_value(&full.namespaces).unwrap()
    );
    let shown: Vec<i32> = full.namespaces.iter().filter_map(|n| n.pid).collect();
    for pid in &shown {
        assert_eq!(listing.process(*pid), full.process(*pid), "PID {pid}");
    }
    // The others are there for their namespaces and parents, without what was not read.
    let unshown = full
        .processes
        .iter()
        .find(|p| !shown.contains(&p.pid) && p.command != p.comm)
        .expect("a process no namespace shows, with a command line");
    let lean = listing.process(unshown.pid).expect("listed");
    assert_eq!(lean.command, lean.comm);
    assert_eq!(lean.namespaces, unshown.namespaces);
}
