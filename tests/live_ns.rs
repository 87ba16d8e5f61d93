//! Live kernel, as root: each test builds its own namespaces, checks what nstop reports against
//! the kernel, and tears them down in guards. Assertions are about the test's own objects only,
//! since other tests change the host at the same time.

mod common;

use common::{
    Netns, Spawned, UtsThread, children, new_ns_of, ns_inode, ns_of, nstop, require_root, wait_for,
};
use std::process::Command;

use nstop::model::Model;
use nstop::model::namespace::Namespace;
use nstop::model::sample::{HolderSample, NsType};

/// The model, sampled by the nstop binary: a sampler inside this test process would see the
/// fds that parallel tests' samplers hold open.
fn live_model() -> Model {
    let (code, out, err) = nstop(&["snapshot", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("snapshot JSON is the Model")
}

fn find(model: &Model, kind: NsType, ino: u64) -> &Namespace {
    model
        .namespaces
        .iter()
        .find(|n| n.kind == kind && n.ns == ino)
        .unwrap_or_else(|| panic!("{kind}:[{ino}] not listed"))
}

fn pid_ns(pid: i32) -> u64 {
    ns_of(pid, "pid")
}

#[test]
fn nested_pid_namespaces_three_deep_give_nspid_and_parent_chains() {
    if !require_root() {
        return;
    }
    let outer = Spawned::cmd(
        "unshare --pid --fork --kill-child unshare --pid --fork --kill-child unshare --pid --fork --kill-child sleep 60",
    );
    // outer unshare -> level1 (unshare) -> level2 (unshare) -> level3 (sleep)
    let chain: Vec<i32> = wait_for("three levels of children", || {
        let mut chain = vec![outer.pid()];
        for _ in 0..3 {
            let next = *children(*chain.last()?).first()?;
            chain.push(next);
        }
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", chain[3])).ok()?;
        (comm.trim() == "sleep").then_some(chain)
    });
    let sleeper = chain[3];
    let model = live_model();

    let proc = model.process(sleeper).expect("sleep listed");
    assert_eq!(
        proc.nspid,
        vec![sleeper, 3, 2, 1],
        "NSpid of the innermost sleep"
    );
    assert_eq!(model.process(chain[1]).unwrap().nspid, vec![chain[1], 1]);

    // The parent of each level's pid namespace is the level above, up to ours.
    let levels: Vec<u64> = chain.iter().map(|&p| pid_ns(p)).collect();
    assert_eq!(levels[0], pid_ns(std::process::id() as i32));
    for depth in 1..4 {
        assert_ne!(levels[depth], levels[depth - 1]);
        let ns = find(&model, NsType::Pid, levels[depth]);
        assert_eq!(
            ns.parent,
            Some(levels[depth - 1]),
            "parent of level {depth}"
        );
        assert_eq!(ns.pids, vec![chain[depth]]);
    }
    // The unshare at each level creates its children in the next one.
    for depth in 0..3 {
        let ns = find(&model, NsType::Pid, levels[depth + 1]);
        assert!(
            ns.holders
                .contains(&HolderSample::ForChildren { pid: chain[depth] }),
            "pid_for_children of {} in {:?}",
            chain[depth],
            ns.holders
        );
    }

    let (code, out, _) = nstop(&[
        "ns",
        "-p",
        &sleeper.to_string(),
        "-o",
        "NS,NSPID",
        "-t",
        "pid",
        "-r",
        "-n",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out, format!("{} {sleeper}:3:2:1\n", levels[3]));
}

#[test]
fn bind_mounted_netns_without_processes_is_listed() {
    if !require_root() {
        return;
    }
    let netns = Netns::add();
    let ino = ns_inode(&netns.path());
    let model = live_model();
    let ns = find(&model, NsType::Net, ino);
    assert!(ns.pids.is_empty());
    assert_eq!(ns.pid, None);
    assert_eq!(ns.nsfs, vec![netns.path()]);
    assert_eq!(ns.path.as_deref(), Some(netns.path().as_str()));
    // Other mount namespaces (systemd services') may hold copies of the same mount.
    let our_mnt = ns_inode("/proc/self/ns/mnt");
    assert!(
        ns.holders
            .iter()
            .any(|h| matches!(h, HolderSample::BindMount { path, mnt_ns, .. }
            if *path == netns.path() && *mnt_ns == our_mnt)),
        "{:?}",
        ns.holders
    );
    // Reached through the bind mount, the ioctls still answer: owned by our user namespace.
    assert_eq!(ns.owner, Some(ns_inode("/proc/self/ns/user")));
    assert_eq!(ns.netnsid, Some(-1), "a fresh netns has no id assigned");

    let (code, out, _) = nstop(&["ns", "-J", "--output-all", &ino.to_string()]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = doc["namespaces"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "its own row, no member to list: {doc}");
    assert_eq!(rows[0]["ns"], ino);
    assert_eq!(rows[0]["nprocs"], 0);
    let (_, out, _) = nstop(&["ns", &ino.to_string()]);
    assert!(
        out.contains(&format!("[held by mount:{}", netns.path())),
        "{out}"
    );
    let (code, out, _) = nstop(&["ns", "-J", "--output-all", "-t", "net"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ns"] == ino)
        .expect("bind-mounted netns in JSON");
    assert_eq!(row["nprocs"], 0);
    assert_eq!(row["nsfs"], netns.path());
    assert_eq!(row["pid"], serde_json::Value::Null);
    assert_eq!(row["netnsid"], "unassigned");
    let (_, out, _) = nstop(&["ns", "-t", "net", "-n", "-o", "NS,COMMAND"]);
    let row = out.lines().find(|l| l.contains(&ino.to_string())).unwrap();
    assert!(
        row.contains(&format!("[held by mount:{}", netns.path())),
        "{row}"
    );
}

#[test]
fn assigned_netnsid_matches_ip_netns() {
    if !require_root() {
        return;
    }
    let netns = Netns::add();
    let ino = ns_inode(&netns.path());
    let status = std::process::Command::new("ip")
        .args(["netns", "set", &netns.0, "auto"])
        .status()
        .unwrap();
    assert!(status.success());
    let listed = std::process::Command::new("ip")
        .args(["netns", "list-id"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&listed.stdout);
    let id: i32 = text
        .lines()
        .find(|l| l.ends_with(&format!("(iproute2 netns name: {})", netns.0)))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or_else(|| panic!("no id for {} in: {text}", netns.0));
    let model = live_model();
    assert_eq!(find(&model, NsType::Net, ino).netnsid, Some(id));
}

#[test]
fn netns_held_only_by_an_open_fd_is_listed_with_its_holder() {
    if !require_root() {
        return;
    }
    let holder = {
        let member = Spawned::cmd("unshare --net sleep 60");
        let path = format!("/proc/{}/ns/net", member.pid());
        wait_for("unshare --net", || {
            (ns_inode(&path) != ns_inode("/proc/self/ns/net")).then_some(())
        });
        std::fs::File::open(&path).expect("open netns")
    }; // the member is killed here: only our fd keeps the namespace
    use std::os::fd::AsRawFd;
    let fd = holder.as_raw_fd();
    let ino = ns_inode(&format!("/proc/self/fd/{fd}"));
    let me = std::process::id() as i32;
    let model = live_model();
    let ns = find(&model, NsType::Net, ino);
    assert!(ns.pids.is_empty(), "member gone: {:?}", ns.pids);
    assert!(ns.holders.contains(&HolderSample::Fd { pid: me, fd }));
    assert_eq!(ns.pid, Some(me));
    assert_eq!(ns.path, Some(format!("/proc/{me}/fd/{fd}")));
}

/// How `ip netns`, CNI plugins and runtimes hold a namespace: an fd opened through its bind
/// mount, whose link text is then a path (`/run/netns/x`, later `/`), not `net:[ino]`.
#[test]
fn netns_held_by_an_fd_opened_through_its_bind_mount_is_found() {
    if !require_root() {
        return;
    }
    use std::os::fd::AsRawFd;
    let me = std::process::id() as i32;
    let netns = Netns::add();
    let ino = ns_inode(&netns.path());
    let holder = std::fs::File::open(netns.path()).expect("open the bind mount");
    let fd = holder.as_raw_fd();
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
    assert!(!link.to_string_lossy().starts_with("net:"), "{link:?}");

    let model = live_model();
    let ns = find(&model, NsType::Net, ino);
    assert!(
        ns.holders.contains(&HolderSample::Fd { pid: me, fd }),
        "the fd counts as a holder beside the mount: {:?}",
        ns.holders
    );

    drop(netns); // `ip netns delete`: only the fd keeps the namespace now
    let model = live_model();
    let ns = find(&model, NsType::Net, ino);
    assert_eq!(ns.holders, vec![HolderSample::Fd { pid: me, fd }]);
    assert_eq!(ns.path, Some(format!("/proc/{me}/fd/{fd}")));
    let (code, out, err) = nstop(&["ns", "--detail", &ino.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("held by: fd:{me}/{fd}")), "{out}");
    // The table labels the process shown as the holder it is, not a member.
    let (_, out, _) = nstop(&["ns", "-t", "net", "-n", "-o", "NS,NPROCS,PID,COMMAND"]);
    let row = out.lines().find(|l| l.contains(&ino.to_string())).unwrap();
    let words: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(words[1..4], ["0", &me.to_string(), "[holder]"], "{row}");
    drop(holder);
}

#[test]
fn thread_in_its_own_uts_namespace_is_listed_as_a_thread_holder() {
    if !require_root() {
        return;
    }
    let thread = UtsThread::start();
    let me = std::process::id() as i32;
    assert_ne!(thread.ino, ns_of(me, "uts"));
    let model = live_model();
    let (ino, tid) = (thread.ino, thread.tid);
    thread.end();

    let ns = find(&model, NsType::Uts, ino);
    assert!(ns.pids.is_empty());
    assert_eq!(ns.holders, vec![HolderSample::Thread { pid: me, tid }]);
    assert_eq!(ns.path, Some(format!("/proc/{me}/task/{tid}/ns/uts")));
}

#[test]
fn time_namespace_only_for_children_is_listed() {
    if !require_root() {
        return;
    }
    // unshare(CLONE_NEWTIME) without exec or fork: the namespace exists only as
    // time_for_children of this process.
    let proc = Spawned::new(
        "python3",
        &[
            "-c",
            "import ctypes,time; assert ctypes.CDLL(None).unshare(0x80) == 0; time.sleep(60)",
        ],
    );
    let pid = proc.pid();
    let path = format!("/proc/{pid}/ns/time_for_children");
    let ino = wait_for("time_for_children", || {
        let own = ns_of(pid, "time");
        std::fs::metadata(&path).ok()?;
        let children_ns = ns_inode(&path);
        (children_ns != own).then_some(children_ns)
    });
    let model = live_model();
    let ns = find(&model, NsType::Time, ino);
    assert!(ns.pids.is_empty());
    assert_eq!(ns.holders, vec![HolderSample::ForChildren { pid }]);
    assert_eq!(ns.path, Some(path));
    assert_eq!(ns.pid, Some(pid));
}

#[test]
fn user_namespace_owner_uid_and_parent() {
    if !require_root() {
        return;
    }
    let proc =
        Spawned::cmd("setpriv --reuid=65534 --regid=65534 --clear-groups unshare --user sleep 60");
    let pid = proc.pid();
    let ino = wait_for("unshare --user", || {
        let ino = ns_of(pid, "user");
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == "sleep" && ino != ns_inode("/proc/self/ns/user")).then_some(ino)
    });
    let model = live_model();
    let ns = find(&model, NsType::User, ino);
    assert_eq!(ns.owner_uid, Some(65534));
    assert_eq!(ns.parent, Some(ns_inode("/proc/self/ns/user")));
    assert_eq!(
        ns.owner, ns.parent,
        "a user namespace is owned by its parent"
    );
    let proc = model.process(pid).unwrap();
    assert_eq!(proc.uid, 65534);
    assert_eq!(proc.user.as_deref(), Some("nobody"));
}

/// The parent of a namespace, by our own ioctl call (independent of nstop's code).
fn kernel_parent_ino(path: &str) -> u64 {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let file = std::fs::File::open(path).unwrap();
    // SAFETY: NS_GET_PARENT (_IO(0xb7, 2)) takes no argument and returns a new fd.
    let fd = unsafe { nix::libc::ioctl(file.as_raw_fd(), 0xb702) };
    assert!(fd >= 0, "NS_GET_PARENT on {path}");
    let parent = unsafe { OwnedFd::from_raw_fd(fd) };
    nix::sys::stat::fstat(&parent).unwrap().st_ino
}

#[test]
fn ghost_user_namespace_is_listed_as_the_parent_that_holds_it() {
    if !require_root() {
        return;
    }
    // Two user namespaces, one process: the outer one only lives on as the inner one's parent.
    let proc = Spawned::cmd("unshare -Ur unshare -Ur sleep 60");
    let pid = proc.pid();
    let inner = wait_for("nested user namespaces", || {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == "sleep").then(|| ns_of(pid, "user"))
    });
    let outer = kernel_parent_ino(&format!("/proc/{pid}/ns/user"));
    let host = ns_inode("/proc/self/ns/user");
    assert_ne!(outer, host);

    let model = live_model();
    let ghost = find(&model, NsType::User, outer);
    assert!(ghost.pids.is_empty());
    assert_eq!(ghost.pid, None);
    assert_eq!(ghost.path, None);
    assert_eq!(ghost.parent, Some(host));
    assert_eq!(ghost.owner_uid, Some(0));
    assert!(ghost.holders.contains(&HolderSample::ParentOf {
        ns: nstop::model::sample::NsRef {
            kind: NsType::User,
            ino: inner
        }
    }));
    assert_eq!(find(&model, NsType::User, inner).parent, Some(outer));

    // The parent tree nests host > ghost > inner, in text and JSON.
    let (code, out, _) = nstop(&["ns", "-J", "--tree=parent", "-t", "user"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let host_row = doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ns"] == host)
        .expect("host user namespace is a root");
    let ghost_row = host_row["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ns"] == outer)
        .expect("ghost under the host user namespace");
    assert_eq!(ghost_row["nprocs"], 0);
    assert_eq!(ghost_row["children"][0]["ns"], inner);
    assert_eq!(ghost_row["children"][0]["pid"], pid);

    let (_, text, _) = nstop(&["ns", "-Tparent", "-t", "user", "-o", "NS,NPROCS"]);
    assert!(
        text.contains(&format!("└─{outer}")) || text.contains(&format!("`-{outer}")),
        "{text}"
    );
}

#[test]
fn netns_held_only_by_a_socket_is_found() {
    if !require_root() {
        return;
    }
    // Create a netns, open a socket in it, go back: only the socket keeps the namespace.
    let script = "\
import ctypes, os, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
home = os.open('/proc/self/ns/net', os.O_RDONLY)
assert libc.unshare(0x40000000) == 0
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print(os.stat('/proc/thread-self/ns/net').st_ino, sock.fileno(), flush=True)
assert libc.setns(home, 0x40000000) == 0
os.close(home)
time.sleep(60)
";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let proc = Spawned(child);
    let pid = proc.pid();
    let mut fields = line.split_whitespace().map(|f| f.parse::<u64>().unwrap());
    let (ino, fd) = (fields.next().unwrap(), fields.next().unwrap() as i32);
    wait_for("setns back home", || {
        (ns_of(pid, "net") == ns_inode("/proc/self/ns/net")).then_some(())
    });

    let model = live_model();
    let ns = find(&model, NsType::Net, ino);
    assert!(ns.pids.is_empty());
    assert_eq!(ns.holders, vec![HolderSample::Socket { pid, fd }]);
    assert_eq!(ns.pid, Some(pid));
    // Reached through the socket's namespace fd, the ioctls answer too.
    assert_eq!(ns.owner, Some(ns_inode("/proc/self/ns/user")));
    assert_eq!(ns.id.is_some(), common::kernel_has_ns_get_id());
}

/// On a kernel without NS_GET_ID namespaces are told apart by inode alone: the same namespaces,
/// members, parents and owners, only without ids (on such a kernel, as 6.1, the two runs agree
/// on everything).
#[test]
fn without_ns_get_id_everything_but_the_id_is_the_same() {
    if !require_root() {
        return;
    }
    let sleep = Spawned::cmd("unshare --user --pid --uts --fork --kill-child sleep 300");
    let inner = wait_for("the sleep inside", || {
        children(sleep.pid()).first().copied()
    });
    let (uts, pid) = (ns_of(inner, "uts"), pid_ns(inner));
    let hidden = Command::new(env!("CARGO_BIN_EXE_nstop"))
        .args(["snapshot", "--json"])
        .env("NSTOP_HIDE", "ns-get-id")
        .output()
        .unwrap();
    assert!(hidden.status.success());
    let hidden: Model = serde_json::from_slice(&hidden.stdout).unwrap();
    let seen = live_model();
    assert!(hidden.namespaces.iter().all(|n| n.id.is_none()));
    for (kind, ino) in [(NsType::Uts, uts), (NsType::Pid, pid)] {
        let with_id = find(&seen, kind, ino);
        assert_eq!(with_id.id.is_some(), common::kernel_has_ns_get_id());
        let without = find(&hidden, kind, ino);
        assert_eq!(
            Namespace {
                id: None,
                ..with_id.clone()
            },
            *without
        );
    }
}

/// `--filter` selects exactly the test's own namespace in every output mode, and `-P` lists a
/// namespace kept only by a bind mount and none with processes.
#[test]
fn filter_and_persistent_select_our_own_namespaces() {
    if !require_root() {
        return;
    }
    let member = Spawned::cmd("unshare --uts sleep 60");
    let pid = member.pid();
    let ino = new_ns_of(pid, "uts");
    let expr = format!("NS == {ino} && TYPE == \"uts\" && NPROCS == 1 && PID == {pid}");
    for mode in [
        &["-n", "-r"][..],
        &["-n", "-l", "-r"],
        &["-n", "-r", "-T=owner"],
    ] {
        let mut args = vec!["ns", "-o", "NS,PID", "-Q", &expr];
        args.extend(mode);
        let (code, out, err) = nstop(&args);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, format!("{ino} {pid}\n"), "{mode:?}");
    }
    let (_, out, _) = nstop(&["ns", "-J", "-Q", &expr]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["namespaces"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(doc["namespaces"][0]["ns"], ino);
    // A column the output does not show still filters; a failing one empties the list.
    let (_, out, _) = nstop(&[
        "ns",
        "-n",
        "-r",
        "-o",
        "NS",
        "-Q",
        &format!("{expr} && PPID == 1"),
    ]);
    assert_eq!(out, "", "its parent is the test, not PID 1");
    // --detail keeps to what the expression selects.
    let (code, _, err) = nstop(&["ns", "--detail", &ino.to_string(), "-Q", "TYPE == \"net\""]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("uts:[{ino}] does not match --filter")),
        "{err}"
    );

    let netns = Netns::add();
    let held = ns_inode(&netns.path());
    let (code, out, err) = nstop(&["ns", "-P", "-J", "-o", "NS,NPROCS"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = doc["namespaces"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["ns"] == held), "{out}");
    assert!(rows.iter().all(|r| r["nprocs"] == 0), "{out}");
    assert!(!rows.iter().any(|r| r["ns"] == ino));
}

/// A process without argv (here a zombie: its memory is gone) reads as `[comm]`, as ps shows
/// it; a kernel thread keeps its bare name, as lsns shows it (issue 20: both read as the bare
/// name).
#[test]
fn a_process_without_argv_reads_as_bracketed_comm_and_a_kernel_thread_as_its_name() {
    if !require_root() {
        return;
    }
    // The shell's child becomes the exec'd sleep's, which never reaps it.
    let parent = Spawned::new("sh", &["-c", "sleep 0 & exec sleep 60"]);
    let pid = wait_for("a zombie child", || {
        let child = *common::children(parent.pid()).first()?;
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
        stat.contains("(sleep) Z ").then_some(child)
    });
    let (code, out, err) = nstop(&["snapshot", "--json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let command = |pid: i32| {
        doc["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == pid)
            .map(|p| p["command"].as_str().unwrap().to_owned())
    };
    assert_eq!(command(pid).as_deref(), Some("[sleep]"));
    // kthreadd is PID 2 wherever a kernel's threads are visible.
    let comm = std::fs::read_to_string("/proc/2/comm").unwrap_or_default();
    if comm.trim() == "kthreadd" {
        assert_eq!(command(2).as_deref(), Some("kthreadd"));
    }
    drop(parent);
}

/// A netns bind-mounted only inside another mount namespace: on the host its path is a plain
/// file, so it is no NSFS path and no PATH here; HOLDERS says which mount namespace holds the
/// mount; PATH opens the namespace from here (through that namespace's process). A netns
/// mounted in our own mount namespace keeps its path, and its holder needs no namespace named
/// (issue 20).
#[test]
fn a_bind_mount_in_another_mount_namespace_is_told_apart() {
    if !require_root() {
        return;
    }
    let hidden = common::HiddenNetns::add();
    let ours = Netns::add();
    let (point, mnt, net) = (hidden.point.0.as_str(), hidden.mnt, hidden.net);
    let own_mnt = ns_inode("/proc/self/ns/mnt");
    assert_ne!(
        ns_inode(point),
        net,
        "on the host the path is not the namespace"
    );

    let (code, out, err) = nstop(&["ns", "-J", "-t", "net", "-o", "NS,PATH,NSFS,HOLDERS"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = |ino: u64| {
        doc["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ns"] == ino)
            .cloned()
            .unwrap_or_else(|| panic!("net:[{ino}] listed"))
    };
    let mounted_in = |row: &serde_json::Value, path: &str| -> Vec<u64> {
        let holders = row["holders"].as_array().cloned().unwrap_or_default();
        holders
            .iter()
            .filter(|h| h["kind"] == "bind_mount" && h["path"] == path)
            .filter_map(|h| h["mnt_ns"].as_u64())
            .collect()
    };
    let theirs = row(net);
    assert_eq!(theirs["nsfs"], serde_json::Value::Null, "{theirs}");
    let path = theirs["path"].as_str().expect("a path");
    assert_eq!(
        ns_inode(path),
        net,
        "PATH {path} opens the namespace from here"
    );
    assert_eq!(mounted_in(&theirs, point), [mnt], "{theirs}");
    let ours_ino = ns_inode(&ours.path());
    let mine = row(ours_ino);
    assert_eq!(mine["nsfs"], ours.path());
    assert!(mounted_in(&mine, &ours.path()).contains(&own_mnt), "{mine}");

    let (_, table, _) = nstop(&["ns", "-t", "net", "-n", "-o", "NS,HOLDERS"]);
    let line = |ino: u64| {
        table
            .lines()
            .find(|l| l.contains(&ino.to_string()))
            .unwrap_or_default()
    };
    assert!(
        line(net).contains(&format!("mount:{}@mnt:[{mnt}]", point)),
        "{table}"
    );
    // In our own mount namespace the path alone says where.
    let own = format!("mount:{}", ours.path());
    let labels = line(ours_ino).split_whitespace().nth(1).unwrap_or_default();
    assert!(labels.split(',').any(|l| l == own), "{table}");
    drop(hidden);
}
