//! Live kernel, as root, alone in its binary: the explorer's sampler runs inside this test
//! process (its transient nsfs fds would show up as holders in other tests' snapshots).

mod common;

use common::{ns_of, require_root, wait_for};
use nstop::model::sample::{HolderSample, NsType};

/// The explorer's sampler skips re-reading a single-threaded process that did not run since
/// its last scan; one that ran — here it unshares, execs and opens a namespace fd while
/// keeping its PID and start time — is read again in full at the next scan.
#[test]
fn a_process_that_ran_between_scans_is_read_again() {
    ran_between_scans_is_read_again(nstop::sys::Pace::Background);
}

/// So does `nstop serve`'s, which does not read an idle process at all.
#[test]
fn unattended_a_process_that_ran_between_scans_is_read_again() {
    ran_between_scans_is_read_again(nstop::sys::Pace::Unattended);
}

fn ran_between_scans_is_read_again(pace: nstop::sys::Pace) {
    if !require_root() {
        return;
    }
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("sh")
        .args([
            "-c",
            "read go; exec 3</proc/self/ns/net; exec unshare --uts sh -c 'read go; exec sleep 60' 3<&3",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start sh");
    let mut child = common::Spawned(child);
    let pid = child.pid();
    let mut stdin = child.0.stdin.take().expect("piped stdin");
    let state = |pid: i32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(") ")?.1.chars().next()
    };
    let asleep = |comm: &str| {
        wait_for("the shell asleep in read", || {
            let now = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            (now.trim() == comm && state(pid) == Some('S')).then_some(())
        })
    };
    asleep("sh");
    let roots = nstop::sys::Roots::default();
    let mut sampler = nstop::sys::Sampler::new(pace);
    let scan = |sampler: &mut nstop::sys::Sampler| {
        sampler
            .sample(&roots, nstop::sys::Collect::Everything)
            .expect("sample")
    };
    let first = scan(&mut sampler);
    let before = first.procs.iter().find(|p| p.pid == pid).expect("listed");
    let host_uts = ns_of(std::process::id() as i32, "uts");
    assert_eq!(before.ns[NsType::Uts.index()], Some(host_uts));
    // Asleep: the second scan may reuse what the first read, and must give the same.
    let second = scan(&mut sampler);
    assert_eq!(second.procs.iter().find(|p| p.pid == pid), Some(before));

    stdin.write_all(b"go\n").expect("wake the shell");
    wait_for("unshare to exec the inner shell", || {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        (cmdline.starts_with(b"sh\0-c\0read go") && state(pid) == Some('S')).then_some(())
    });
    let third = scan(&mut sampler);
    let after = third
        .procs
        .iter()
        .find(|p| p.pid == pid)
        .expect("still listed");
    assert_eq!(after.start_time, before.start_time, "same process");
    assert_eq!(after.ns[NsType::Uts.index()], Some(ns_of(pid, "uts")));
    assert_ne!(after.ns[NsType::Uts.index()], Some(host_uts));
    assert_eq!(
        after.cmdline.as_deref(),
        Some("sh -c read go; exec sleep 60")
    );
    let net = ns_of(pid, "net");
    assert!(
        third.held.iter().any(|h| h.ns.kind == NsType::Net
            && h.ns.ino == net
            && h.holder == HolderSample::Fd { pid, fd: 3 }),
        "fd 3 on its net namespace found after the process opened it"
    );
    assert!(
        !second
            .held
            .iter()
            .any(|h| h.holder == HolderSample::Fd { pid, fd: 3 }),
        "no fd 3 before"
    );
}

/// RSS is what top and htop show (statm's resident, VmRSS), not stat's `rss`, which on kernels
/// with per-CPU RSS counters (6.2 and later) lags by the pages not yet folded in: a fresh
/// `sleep` read 414 pages there against VmRSS's 457. Both scans of a process that sleeps agree.
#[test]
fn resident_memory_is_vmrss() {
    if !require_root() {
        return;
    }
    let sleeper = common::Spawned::new("sleep", &["60"]);
    let pid = sleeper.pid();
    let vm_rss = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let kb = status.lines().find_map(|l| l.strip_prefix("VmRSS:"));
        let kb: u64 = kb
            .expect("VmRSS")
            .trim()
            .trim_end_matches(" kB")
            .parse()
            .unwrap();
        kb * 1024
    };
    let page = rustix::param::page_size() as u64;
    let roots = nstop::sys::Roots::default();
    let mut sampler = nstop::sys::Sampler::new(nstop::sys::Pace::Background);
    wait_for("sleep asleep", || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.contains("(sleep) S ").then_some(())
    });
    for scan in ["first", "second"] {
        let expected = vm_rss();
        let sample = sampler
            .sample(&roots, nstop::sys::Collect::Everything)
            .expect("sample");
        let proc = sample.procs.iter().find(|p| p.pid == pid).expect("listed");
        assert_eq!(
            vm_rss(),
            expected,
            "the sleeper's VmRSS moved during the scan"
        );
        assert_eq!(proc.rss_pages * page, expected, "{scan} scan");
    }
}

/// A process with threads, all idle between two scans, is not read again (its threads' links
/// are what made an idle 10,000-thread process cost 200 ms a tick); when one of its threads
/// wakes and unshares uts, the next scan finds that thread's namespace.
#[test]
fn an_idle_process_with_threads_is_kept_and_a_thread_that_unshares_is_found() {
    if !require_root() {
        return;
    }
    use std::io::Write;
    use std::process::{Command, Stdio};
    // Three sleeping threads and one that unshares uts when a line arrives, then sleeps.
    let code = "import ctypes, sys, threading, time\n\
                def unshare():\n    sys.stdin.readline()\n    \
                ctypes.CDLL(None, use_errno=True).unshare(0x04000000)\n    time.sleep(600)\n\
                for t in [threading.Thread(target=time.sleep, args=(600,), daemon=True) \
                for _ in range(3)] + [threading.Thread(target=unshare, daemon=True)]:\n    t.start()\n\
                time.sleep(600)\n";
    let child = Command::new("python3")
        .args(["-c", code])
        .stdin(Stdio::piped())
        .spawn()
        .expect("start python3");
    let mut child = common::Spawned(child);
    let pid = child.pid();
    let threads_asleep = || {
        let tids: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .ok()?
            .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
            .collect();
        let asleep = tids.iter().all(|tid| {
            std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat"))
                .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('S')))
        });
        (tids.len() == 5 && asleep).then_some(tids)
    };
    wait_for("five threads asleep", threads_asleep);
    let roots = nstop::sys::Roots::default();
    let mut sampler = nstop::sys::Sampler::new(nstop::sys::Pace::Background);
    let mut scan = || {
        sampler
            .sample(&roots, nstop::sys::Collect::Everything)
            .expect("sample")
    };
    let find = |sample: &nstop::model::sample::Sample| {
        sample
            .procs
            .iter()
            .find(|p| p.pid == pid)
            .cloned()
            .expect("listed")
    };
    let thread_holders = |sample: &nstop::model::sample::Sample| -> Vec<(i32, NsType, u64)> {
        sample
            .held
            .iter()
            .filter_map(|h| match h.holder {
                HolderSample::Thread { pid: p, tid } if p == pid => {
                    Some((tid, h.ns.kind, h.ns.ino))
                }
                _ => None,
            })
            .collect()
    };
    let first = scan();
    let second = scan();
    assert!(
        std::sync::Arc::ptr_eq(&find(&first), &find(&second)),
        "an idle process with threads is kept from the scan before"
    );
    assert_eq!(thread_holders(&second), []);

    child
        .0
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"go\n")
        .unwrap();
    let (tid, uts) = wait_for("a thread in its own uts namespace", || {
        let tids = threads_asleep()?;
        let host = ns_of(pid, "uts");
        tids.iter().find_map(|tid| {
            let link = std::fs::read_link(format!("/proc/{pid}/task/{tid}/ns/uts")).ok()?;
            let ino = link
                .to_string_lossy()
                .trim_start_matches("uts:[")
                .trim_end_matches(']')
                .parse()
                .ok()?;
            (ino != host).then(|| (tid.parse::<i32>().unwrap(), ino))
        })
    });
    let third = scan();
    assert_eq!(thread_holders(&third), [(tid, NsType::Uts, uts)]);
}
