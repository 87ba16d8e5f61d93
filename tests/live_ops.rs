//! Changes made through the real binary on the live kernel (root), confined to cgroups beneath
//! the test's own and to processes the test started: every round trip is checked by reading the
//! kernel's files, every refusal by checking nothing changed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Spawned, TestCgroup, nstop_audited as nstop, require_root, wait_for};

/// A fresh audit log for one test (the directory lives as long as the guard).
fn audit_log() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    (dir, path)
}

/// A cgroup directory nstop is asked to make, removed on drop should the test fail first.
struct Made(PathBuf);

impl Drop for Made {
    fn drop(&mut self) {
        for _ in 0..100 {
            if !self.0.exists() || std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_owned()
}

fn audit_lines(audit: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(audit)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// One text field of every audit line, in order.
fn audit_field(audit: &Path, field: &str) -> Vec<String> {
    audit_lines(audit)
        .iter()
        .map(|l| l[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn ok(result: (i32, String, String)) -> String {
    assert_eq!(result.0, 0, "stdout: {}\nstderr: {}", result.1, result.2);
    result.1
}

#[test]
fn memory_round_trip_with_audit() {
    if !require_root() {
        return;
    }
    let (_dir, audit) = audit_log();
    let parent = TestCgroup::with("memory");
    if parent.is_v2() {
        // The child gets memory files only when its parent hands the controller down.
        parent.write("cgroup.subtree_control", "+memory");
    }
    let path = format!("{}/child", parent.path);
    let spec = format!("{}/child", parent.spec());
    let made = Made(parent.dir.join("child"));
    ok(nstop(&audit, &["cg", "mk", &spec]));
    assert!(made.0.is_dir());
    let limit = parent.either("memory.max", "memory.limit_in_bytes");
    let out = ok(nstop(&audit, &["cg", "set", &spec, "memory.max=64M"]));
    assert!(out.contains(limit), "{out}");
    assert_eq!(read(&made.0.join(limit)), "67108864");

    let sleep = Spawned::cmd("sleep 300");
    ok(nstop(
        &audit,
        &["cg", "move", &sleep.pid().to_string(), &spec],
    ));
    let cgroups = read(Path::new(&format!("/proc/{}/cgroup", sleep.pid())));
    let line = format!("{}/child", parent.line());
    assert!(cgroups.lines().any(|l| l.ends_with(&line)), "{cgroups}");

    // Populated: refused, saying how many, nothing removed.
    let (code, _, err) = nstop(&audit, &["cg", "rm", &spec]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not empty: 1 process"), "{err}");
    assert!(made.0.is_dir());

    // cgroup2 kills the whole cgroup at once; v1 has no cgroup.kill: the signal goes to each
    // member through a pidfd.
    let out = ok(nstop(&audit, &["cg", "kill", &spec]));
    let how = if parent.is_v2() {
        made.0.join("cgroup.kill").display().to_string()
    } else {
        format!("pidfd_send_signal({}, SIGKILL)", sleep.pid())
    };
    assert!(out.contains(&how), "{out}");
    wait_for("the sleep to die", || {
        read(&made.0.join("cgroup.procs")).is_empty().then_some(())
    });
    ok(nstop(&audit, &["cg", "rm", &spec]));
    assert!(!made.0.exists());

    // Every executed change is a line: the limit with its value before and after.
    let lines = audit_lines(&audit);
    let set = lines
        .iter()
        .find(|l| l["change"]["op"] == "write")
        .expect("the limit write");
    assert_eq!(set["before"], parent.either("max", "9223372036854771712"));
    assert_eq!(set["after"], "67108864");
    assert_eq!(set["result"], "ok");
    assert_eq!(set["uid"], 0);
    let ops: Vec<&str> = lines
        .iter()
        .map(|l| l["change"]["op"].as_str().unwrap())
        .collect();
    let kill = parent.either("write", "signal");
    assert_eq!(ops, ["mkdir", "write", "move", kill, "rmdir"]);
    assert!(lines[2]["after"].as_str().unwrap().contains(&path));
}

#[test]
fn pids_and_cpu_limits_in_their_units() {
    if !require_root() {
        return;
    }
    let (_dir, audit) = audit_log();
    let pids = TestCgroup::with("pids");
    let cpu = TestCgroup::with("cpu");
    ok(nstop(&audit, &["cg", "set", &pids.spec(), "pids.max=5"]));
    assert_eq!(read(&pids.dir.join("pids.max")), "5");
    ok(nstop(&audit, &["cg", "set", &pids.spec(), "pids.max=max"]));
    assert_eq!(read(&pids.dir.join("pids.max")), "max");
    let spec = cpu.spec();
    // cgroup2 files as they are; v1 in its own units (cfs_* in µs, shares ×1024/100).
    let cpu_files = || {
        if cpu.is_v2() {
            vec![
                read(&cpu.dir.join("cpu.max")),
                read(&cpu.dir.join("cpu.weight")),
            ]
        } else {
            ["cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares"]
                .map(|f| read(&cpu.dir.join(f)))
                .to_vec()
        }
    };
    ok(nstop(
        &audit,
        &["cg", "set", &spec, "cpu.max=50%", "cpu.weight=200"],
    ));
    let expected = cpu.either("50000 100000,200", "50000,100000,2048");
    assert_eq!(cpu_files().join(","), expected);
    ok(nstop(&audit, &["cg", "set", &spec, "cpu.max=20000 50000"]));
    let expected = cpu.either("20000 50000,200", "20000,50000,2048");
    assert_eq!(cpu_files().join(","), expected);
    ok(nstop(&audit, &["cg", "set", &spec, "cpu.max=max"]));
    // Unlimited: the quota only (the period is the kernel's business then).
    let quota = cpu_files()[0].clone();
    assert_eq!(quota.split(' ').next(), Some(cpu.either("max", "-1")));
    let memory = TestCgroup::with("memory");
    let (code, _, err) = nstop(&audit, &["cg", "set", &memory.spec(), "memory.high=1G"]);
    if memory.is_v2() {
        assert_eq!(code, 0, "{err}");
        assert_eq!(read(&memory.dir.join("memory.high")), "1073741824");
    } else {
        // A key v1 does not have is refused with the reason.
        assert_eq!(code, 2);
        assert!(err.contains("no equivalent"), "{err}");
    }
}

#[test]
fn cgroup2_move_freeze_thaw_kill() {
    if !require_root() {
        return;
    }
    let (_dir, audit) = audit_log();
    let parent = TestCgroup::new("");
    let path = format!("{}/child", parent.path);
    let made = Made(parent.dir.join("child"));
    ok(nstop(&audit, &["cg", "mk", &path]));
    let sleep = Spawned::cmd("sleep 300");
    ok(nstop(
        &audit,
        &["cg", "move", &sleep.pid().to_string(), &path],
    ));
    assert_eq!(read(&made.0.join("cgroup.procs")), sleep.pid().to_string());
    let events = || read(&made.0.join("cgroup.events"));
    ok(nstop(&audit, &["cg", "freeze", &path]));
    wait_for("frozen", || events().contains("frozen 1").then_some(()));
    ok(nstop(&audit, &["cg", "thaw", &path]));
    wait_for("thawed", || events().contains("frozen 0").then_some(()));
    let out = ok(nstop(&audit, &["cg", "kill", &path]));
    assert!(out.contains("cgroup.kill"), "{out}");
    let mut sleep = sleep;
    let status = sleep.0.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    wait_for("empty", || events().contains("populated 0").then_some(()));
    ok(nstop(&audit, &["cg", "rm", &path]));
    assert!(!made.0.exists());
}

/// cgroup2's rule that a cgroup handing controllers to its children holds no process itself:
/// the kernel's EBUSY comes back in words, and the process stays where it was.
#[test]
fn cgroup2_no_internal_process_refusal_in_words() {
    if !require_root() {
        return;
    }
    let (_dir, audit) = audit_log();
    let parent = TestCgroup::new("");
    // Any controller cgroup2 hands the test's cgroup (memory in the guest; none on a hybrid
    // host, whose cgroup2 root hands down nothing: there the rule never applies).
    let controllers = read(&parent.dir.join("cgroup.controllers"));
    let controller = controllers.split_whitespace().next();
    if let Some(controller) = controller {
        parent.write("cgroup.subtree_control", &format!("+{controller}"));
    }
    let child = format!("{}/child", parent.path);
    let made = Made(parent.dir.join("child"));
    ok(nstop(&audit, &["cg", "mk", &child]));
    let sleep = Spawned::cmd("sleep 300");
    let pid = sleep.pid().to_string();
    ok(nstop(&audit, &["cg", "move", &pid, &child]));
    let moved = nstop(&audit, &["cg", "move", &pid, &parent.path]);
    if controller.is_none() {
        ok(moved);
        assert_eq!(read(&parent.dir.join("cgroup.procs")), pid);
        return;
    }
    let (code, _, err) = moved;
    assert_ne!(code, 0);
    assert!(
        err.contains("cgroup2 keeps processes only in leaf cgroups"),
        "{err}"
    );
    assert_eq!(
        read(&made.0.join("cgroup.procs")),
        pid,
        "still in the child"
    );
    assert!(read(&parent.dir.join("cgroup.procs")).is_empty());
}

#[test]
fn bad_input_is_refused_and_nothing_changes() {
    if !require_root() {
        return;
    }
    let (_dir, audit) = audit_log();
    let memory = TestCgroup::with("memory");
    let spec = memory.spec();
    let limit = memory.memory_limit();
    let before = read(&limit);
    let children = || {
        std::fs::read_dir(&memory.dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_dir())
            .count()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "cg".into(),
                "set".into(),
                spec.clone(),
                "memory.max=-5M".into(),
            ],
            "not a size",
        ),
        (
            vec![
                "cg".into(),
                "set".into(),
                spec.clone(),
                "memory.maxx=5M".into(),
            ],
            "accepted: memory.max",
        ),
        (
            vec![
                "cg".into(),
                "set".into(),
                spec.clone(),
                "memory.max=99999999P".into(),
            ],
            "too large",
        ),
        (
            vec![
                "cg".into(),
                "set".into(),
                spec.clone(),
                "cpu.max=99999%".into(),
            ],
            "CPUs",
        ),
        // One good limit and one bad: neither is written.
        (
            vec![
                "cg".into(),
                "set".into(),
                spec.clone(),
                "memory.max=64M".into(),
                "pids.max=-1".into(),
            ],
            "whole number",
        ),
        (
            vec!["cg".into(), "mk".into(), format!("{spec}/../escape")],
            "'..' are refused",
        ),
        (
            vec!["cg".into(), "mk".into(), format!("{spec}/a\nb")],
            "newline",
        ),
        (
            vec![
                "cg".into(),
                "mk".into(),
                format!("{}relative", memory.either("", "memory:")),
            ],
            "must be absolute",
        ),
        (
            vec![
                "cg".into(),
                "mk".into(),
                format!("nosuchcontroller:{}/x", memory.path),
            ],
            "no hierarchy has",
        ),
        (
            vec!["cg".into(), "move".into(), "999999999".into(), spec.clone()],
            "does not exist",
        ),
        (
            vec!["cg".into(), "move".into(), "1".into(), spec.clone()],
            "PID 1",
        ),
        (
            vec!["cg".into(), "move".into(), "2".into(), spec.clone()],
            "kernel thread",
        ),
        (
            vec!["cg".into(), "move".into(), "abc".into(), spec.clone()],
            "not a PID",
        ),
        (
            vec!["cg".into(), "rm".into(), format!("{spec}/nosuch")],
            "no cgroup",
        ),
        (
            vec!["kill".into(), "-s".into(), "NOPE".into(), "12345".into()],
            "unknown signal",
        ),
        (vec!["kill".into(), "1".into()], "PID 1"),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = nstop(&audit, &args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_eq!(read(&limit), before, "{args:?} changed the limit");
        assert_eq!(children(), 0, "{args:?} made a cgroup");
    }
    assert!(audit_lines(&audit).is_empty(), "nothing was executed");
}

#[test]
fn dry_run_prints_and_changes_nothing() {
    if !require_root() {
        return;
    }
    let (_dir, audit) = audit_log();
    let memory = TestCgroup::with("memory");
    let spec = memory.spec();
    let out = ok(nstop(
        &audit,
        &["cg", "mk", "--dry-run", &format!("{spec}/x")],
    ));
    assert_eq!(
        out.trim(),
        format!(
            "would mkdir {}\ndry run: nothing changed",
            memory.dir.join("x").display()
        )
    );
    assert!(!memory.dir.join("x").exists());
    let before = read(&memory.memory_limit());
    let out = ok(nstop(
        &audit,
        &["cg", "set", "--dry-run", &spec, "memory.max=1G"],
    ));
    assert!(
        out.contains(&format!(
            "write \"1073741824\" to {}",
            memory.memory_limit().display()
        )),
        "{out}"
    );
    assert_eq!(read(&memory.memory_limit()), before);
    let sleep = Spawned::cmd("sleep 300");
    let out = ok(nstop(
        &audit,
        &["kill", "--dry-run", "-s", "KILL", &sleep.pid().to_string()],
    ));
    assert!(out.contains("would ") && out.contains("SIGKILL"), "{out}");
    assert!(out.ends_with("dry run: nothing changed\n"), "{out}");
    assert!(Path::new(&format!("/proc/{}", sleep.pid())).exists());
    let out = ok(nstop(
        &audit,
        &[
            "unshare",
            "--dry-run",
            "--pid",
            "--mount-proc",
            "--",
            "true",
        ],
    ));
    assert!(out.contains("unshare(CLONE_NEWNS|CLONE_NEWPID)"), "{out}");
    assert!(audit_lines(&audit).is_empty());
}

#[test]
fn a_reused_pid_is_never_hit() {
    if !require_root() {
        return;
    }
    use nstop::ops::{Change, LiveOps, Ops};
    let memory = TestCgroup::with("memory");
    let sleep = Spawned::cmd("sleep 300");
    let start = nstop::ops::process::Pinned::open(sleep.pid())
        .unwrap()
        .start_time;
    // The PID as it was seen, but the process there now started at another time.
    let stale = Change::Move {
        pid: sleep.pid(),
        start_time: start + 1,
        procs: memory.dir.join("cgroup.procs"),
    };
    let err = LiveOps.apply(&stale).unwrap_err();
    assert!(err.0.contains("another process"), "{err}");
    assert!(read(&memory.dir.join("cgroup.procs")).is_empty());
    let stale_signal = Change::Signal {
        pid: sleep.pid(),
        start_time: start + 1,
        signal: 9,
    };
    assert!(LiveOps.apply(&stale_signal).is_err());
    assert!(
        Path::new(&format!("/proc/{}", sleep.pid())).exists(),
        "not signalled"
    );
}

/// Three processes moved in one plan, the middle one gone before its turn: the other two move,
/// and the refusal names exactly which moves were done and which not.
#[test]
fn a_move_of_several_pids_reports_exactly_which_moved() {
    if !require_root() {
        return;
    }
    use nstop::ops::cgroup::{Granularity, Host, move_pids};
    let (_dir, audit) = audit_log();
    // SAFETY: the other tests only read the environment through std, which locks it.
    unsafe { std::env::set_var("NSTOP_AUDIT_LOG", &audit) };
    let target = TestCgroup::new("");
    let sleeps: Vec<Spawned> = (0..3).map(|_| Spawned::cmd("sleep 300")).collect();
    let pids: Vec<i32> = sleeps.iter().map(Spawned::pid).collect();
    let host = Host::read(nstop::sys::Roots::default());
    let plan = move_pids(&host, &pids, &target.path, Granularity::Processes, false).unwrap();
    // The middle one exits after the plan pinned it, before it is moved.
    let mut sleeps = sleeps;
    let mut gone = sleeps.remove(1);
    gone.0.kill().unwrap();
    gone.0.wait().unwrap();

    let err = nstop::ops::execute(&plan, &mut nstop::ops::LiveOps).unwrap_err();
    let procs = target.dir.join("cgroup.procs");
    let expected = format!(
        "1 of 3 moves not done:\n  write {1} to {procs}: PID {1} does not exist\ndone:\n  write {0} to {procs}\n  write {2} to {procs}",
        pids[0],
        pids[1],
        pids[2],
        procs = procs.display()
    );
    assert_eq!(err.0, expected);
    let mut members: Vec<i32> = read(&procs).lines().map(|l| l.parse().unwrap()).collect();
    members.sort();
    assert_eq!(members, [pids[0], pids[2]]);
    let results = audit_field(&audit, "result");
    assert_eq!(
        results,
        ["ok", &format!("PID {} does not exist", pids[1]), "ok"]
    );
}

#[test]
fn kill_signals_through_a_pidfd() {
    if !require_root() {
        return;
    }
    let (_dir, audit) = audit_log();
    let mut sleep = Spawned::cmd("sleep 300");
    ok(nstop(
        &audit,
        &["kill", "-s", "USR1", &sleep.pid().to_string()],
    ));
    let status = sleep.0.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(10)
    );
}

#[test]
fn cg_exec_starts_the_command_inside() {
    if !require_root() {
        return;
    }
    let (_dir, audit) = audit_log();
    let memory = TestCgroup::with("memory");
    let out = ok(nstop(
        &audit,
        &[
            "cg",
            "exec",
            &memory.spec(),
            "--",
            "cat",
            "/proc/self/cgroup",
        ],
    ));
    assert!(out.lines().any(|l| l.ends_with(&memory.line())), "{out}");
}

#[test]
fn unshare_then_nstop_ns_finds_the_new_namespaces() {
    if !require_root() {
        return;
    }
    let (_dir, audit) = audit_log();
    // Without --fork the command is nstop itself, exec'd: its PID is the one started.
    let held = Spawned::new(
        env!("CARGO_BIN_EXE_nstop"),
        &["unshare", "--uts", "--net", "--ipc", "--", "sleep", "300"],
    );
    let host_uts = common::ns_of(std::process::id() as i32, "uts");
    let uts = wait_for("the new uts namespace", || {
        let ino = common::ns_of(held.pid(), "uts");
        (ino != 0 && ino != host_uts).then_some(ino)
    });
    let (_, json, _) = common::nstop(&["ns", "-J", "-t", "uts"]);
    let found: serde_json::Value = serde_json::from_str(&json).unwrap();
    let row = found["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["ns"] == uts)
        .expect("nstop ns lists it");
    assert_eq!(row["pid"], held.pid());
    assert_ne!(
        common::ns_of(held.pid(), "net"),
        common::ns_of(std::process::id() as i32, "net")
    );

    // A new pid namespace with its own /proc: the command is PID 1 there and sees only itself.
    let out = ok(nstop(
        &audit,
        &[
            "unshare",
            "--pid",
            "--mount-proc",
            "--",
            "sh",
            "-c",
            "echo $$; ls /proc | grep -c '^[0-9]'",
        ],
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1", "{out}");
    assert!(lines[1].parse::<u32>().unwrap() <= 3, "{out}");
    let ops = audit_field(&audit, "what");
    assert_eq!(ops, ["unshare(CLONE_NEWNS|CLONE_NEWPID)"]);
}

#[test]
fn enter_uts_net_pid_of_a_test_process() {
    if !require_root() {
        return;
    }
    let name = format!("inner-{}", std::process::id());
    // The target: its own uts, net and pid namespaces, a hostname of its own.
    let target = Spawned::new(
        "unshare",
        &[
            "--uts",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "sh",
            "-c",
            &format!("hostname {name}; sleep 300"),
        ],
    );
    let inner = wait_for("the target's shell", || {
        common::children(target.pid())
            .first()
            .copied()
            .filter(|&p| {
                std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .is_ok_and(|c| c.trim() == "sleep")
                    || common::children(p).iter().any(|&c| {
                        std::fs::read_to_string(format!("/proc/{c}/comm"))
                            .is_ok_and(|c| c.trim() == "sleep")
                    })
            })
    });
    // All at once through the pidfd, then as on a kernel before 5.8: one by one through
    // /proc/PID/ns links.
    for hidden in ["", "pidfd-setns"] {
        let (_dir, audit) = audit_log();
        // Inside an outer `unshare -u`, so a bug cannot rename the host.
        let out = Command::new("unshare")
            .args([
                "--uts",
                env!("CARGO_BIN_EXE_nstop"),
                "enter",
                "-t",
                &inner.to_string(),
                "--uts",
                "--net",
                "--pid",
                "--",
                "sh",
                "-c",
                "echo $NSTOP_NS; hostname; cat /proc/net/dev | tail -n +3 | cut -d: -f1; echo pid=$$",
            ])
            .env("NSTOP_AUDIT_LOG", &audit)
            .env("NSTOP_HIDE", hidden)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}{err}");
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        // The shell learns where it is.
        let entered = ["net", "pid", "uts"].map(|k| format!("{k}:[{}]", common::ns_of(inner, k)));
        assert_eq!(lines[0], entered.join(" "), "{text}");
        let lines = &lines[1..];
        assert_eq!(lines[0], name, "{text}");
        assert_eq!(
            &lines[1..lines.len() - 1],
            ["lo"],
            "only the target's loopback: {text}"
        );
        let pid: i32 = lines
            .last()
            .unwrap()
            .strip_prefix("pid=")
            .unwrap()
            .parse()
            .unwrap();
        assert!(pid < 10, "a PID of the target's namespace: {text}");
        assert!(
            err.contains("keeps nstop's credentials, capabilities"),
            "{err}"
        );
        let what = audit_field(&audit, "what");
        assert_eq!(
            what,
            [format!(
                "setns(pidfd of {inner}, CLONE_NEWNET|CLONE_NEWPID|CLONE_NEWUTS)"
            )]
        );
    }
}

#[test]
fn enter_with_join_cgroup_runs_in_the_targets_cgroups() {
    if !require_root() {
        return;
    }
    let (_dir, audit) = audit_log();
    let memory = TestCgroup::with("memory");
    let target = Spawned::new("unshare", &["--uts", "sleep", "300"]);
    // unshare without --fork execs sleep: the same PID, in its own uts namespace.
    wait_for("the target's uts namespace", || {
        (common::ns_of(target.pid(), "uts") != common::ns_of(std::process::id() as i32, "uts"))
            .then_some(())
    });
    memory.add(target.pid());
    let out = Command::new("unshare")
        .args([
            "--uts",
            env!("CARGO_BIN_EXE_nstop"),
            "enter",
            "-t",
            &target.pid().to_string(),
            "--uts",
            "--join-cgroup",
            "--",
            "cat",
            "/proc/self/cgroup",
        ])
        .env("NSTOP_AUDIT_LOG", &audit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.lines().any(|l| l.ends_with(&memory.line())), "{text}");
    // The command has ended; the cgroup is left as it was (only the target in it).
    wait_for("the command gone from the cgroup", || {
        (read(&memory.dir.join("cgroup.procs")) == target.pid().to_string()).then_some(())
    });
}

/// Eight nstops changing limits at once write whole lines to one audit log: each line is one
/// JSON object and every change is there once.
#[test]
fn concurrent_writers_never_interleave_audit_lines() {
    if !require_root() {
        return;
    }
    let (_dir, audit) = audit_log();
    let pids = TestCgroup::with("pids");
    let spec = pids.spec();
    let (writers, changes) = (8, 25);
    std::thread::scope(|scope| {
        for writer in 0..writers {
            let (audit, spec) = (&audit, &spec);
            scope.spawn(move || {
                for change in 0..changes {
                    let value = format!("pids.max={}", 1000 + writer * changes + change);
                    ok(nstop(audit, &["cg", "set", spec, &value]));
                }
            });
        }
    });
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), writers * changes, "one line per change");
    // What each wrote ("after" is what the file held then, maybe another writer's value).
    let mut written: Vec<String> = lines
        .iter()
        .map(|l| l["change"]["value"].as_str().unwrap_or_default().to_owned())
        .collect();
    written.sort();
    let mut expected: Vec<String> = (0..writers * changes)
        .map(|i| (1000 + i).to_string())
        .collect();
    expected.sort();
    assert_eq!(written, expected, "each value once, whole");
}

/// `enter --ns` enters exactly one namespace, also one no process is in and bind-mounted only
/// inside another mount namespace (its path on the host is a plain file): through that mount
/// namespace's process. The command learns where it is from NSTOP_NS; the audit log names the
/// file and the namespace.
#[test]
fn enter_a_namespace_held_only_by_a_bind_mount_in_another_mount_namespace() {
    if !require_root() {
        return;
    }
    let hidden = common::HiddenNetns::add();
    let (pid, net) = (hidden.holder(), hidden.net);
    let ino = net.to_string();
    let (_dir, audit) = audit_log();
    let run = [
        "enter",
        "--ns",
        &ino,
        "--",
        "sh",
        "-c",
        "readlink /proc/self/ns/net /proc/self/ns/mnt; echo $NSTOP_NS",
    ];
    let out = ok(nstop(&audit, &run));
    // Exactly that one: the mount namespace stays ours.
    let own_mnt = common::ns_inode("/proc/self/ns/mnt");
    assert_eq!(out, format!("net:[{net}]\nmnt:[{own_mnt}]\nnet:[{net}]\n"));
    let what = audit_field(&audit, "what");
    let via = format!("/proc/{pid}/root{}", hidden.point.0);
    assert_eq!(
        what,
        [format!("setns({via}, CLONE_NEWNET) into net:[{net}]")]
    );

    let dry = ok(nstop(&audit, &["enter", "--ns", &ino, "--dry-run"]));
    assert!(
        dry.contains(&format!("would setns({via}, CLONE_NEWNET)")),
        "{dry}"
    );
    assert!(dry.contains("dry run: nothing changed"), "{dry}");
    // Type flags choose among a process's namespaces: refused with --ns, nothing done.
    let (code, _, err) = nstop(&audit, &["enter", "--ns", &ino, "--uts"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("takes no type flags"), "{err}");
    assert_eq!(
        audit_field(&audit, "what").len(),
        1,
        "nothing more was done"
    );
    drop(hidden);
}

/// Signalling the init (PID 1) of a pid namespace says what it will do: one without a handler
/// ignores SIGTERM (issue 21: the explorer said "done" and the process lived on); SIGKILL
/// ends it and its namespace.
#[test]
fn a_signal_to_a_pid_namespace_init_says_what_it_does() {
    if !require_root() {
        return;
    }
    let outer = Spawned::cmd("unshare --pid --fork --kill-child sleep 60");
    let init = wait_for("the namespace's init", || {
        let child = *common::children(outer.pid()).first()?;
        let status = std::fs::read_to_string(format!("/proc/{child}/status")).ok()?;
        let nspid = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
        (nspid.split_whitespace().last() == Some("1")
            && std::fs::read_to_string(format!("/proc/{child}/comm"))
                .ok()?
                .trim()
                == "sleep")
            .then_some(child)
    });
    let (_dir, audit) = audit_log();
    let pid = init.to_string();
    let term = ok(nstop(&audit, &["kill", "--dry-run", &pid]));
    assert!(
        term.contains(&format!("PID {init} is the init (PID 1) of its pid namespace: it has no handler for SIGTERM, so it ignores it")),
        "{term}"
    );
    let kill = ok(nstop(&audit, &["kill", "-s", "KILL", "--dry-run", &pid]));
    assert!(
        kill.contains("when it ends, every process in that namespace is killed"),
        "{kill}"
    );
    // SIGSTOP stops it and SIGCONT resumes it, as said (they said it would end, and that it
    // ignores SIGCONT).
    let state = || {
        let status = std::fs::read_to_string(format!("/proc/{init}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("State:"))
            .unwrap()
            .trim()
            .to_owned()
    };
    for (signal, said, stopped) in [
        (
            "STOP",
            "reaches it and stops it; its namespace's processes run on",
            true,
        ),
        ("CONT", "resumes it if it is stopped", false),
    ] {
        let out = ok(nstop(&audit, &["kill", "-s", signal, "--dry-run", &pid]));
        assert!(out.contains(said), "{out}");
        ok(nstop(&audit, &["kill", "-s", signal, &pid]));
        wait_for(signal, || {
            (state().starts_with('T') == stopped).then_some(())
        });
    }
    // Carried out, SIGTERM leaves it running, as said.
    ok(nstop(&audit, &["kill", &pid]));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        std::path::Path::new(&format!("/proc/{init}")).exists(),
        "the init lives on"
    );
    drop(outer);
}

/// The v1 mount of the hierarchy with `controller`: its mount point and its controllers as
/// `mount -o` takes them (a second mount must name the same set).
fn v1_hierarchy(controller: &str) -> Option<(String, String)> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    nstop::sys::cgroupfs::parse_cgroup_mounts(&mountinfo)
        .into_iter()
        .find(|m| m.version == 1 && m.root == "/" && m.controllers.iter().any(|c| c == controller))
        .map(|m| (m.mount, m.controllers.join(",")))
}

/// Thaws a freezer cgroup on drop, so that the frozen process can be killed.
struct ThawOnDrop(PathBuf);

impl Drop for ThawOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::write(self.0.join("freezer.state"), "THAWED");
    }
}

/// `f` on a v1 cgroup of a hierarchy without the freezer (memory on a hybrid host) offers
/// `cg freeze --create-freezer`: a new freezer cgroup of its path, its processes moved there,
/// frozen. nstop runs in a cgroup namespace with v1 mounts of its own, where the test's
/// memory and freezer cgroups are both `/`, so the freezer cgroup it makes is beneath the
/// test's own. Where no v1 freezer is mounted the flag is refused and nothing changes.
#[test]
fn a_v1_cgroup_is_frozen_through_a_new_freezer_cgroup() {
    if !require_root() {
        return;
    }
    let (_dir, audit) = audit_log();
    let Some((freezer_mount, freezer_options)) = v1_hierarchy("freezer") else {
        let cgroup = TestCgroup::new("");
        let sleep = Spawned::cmd("sleep 3600");
        cgroup.add(sleep.pid());
        let (code, _, err) = nstop(&audit, &["cg", "freeze", "--create-freezer", &cgroup.path]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("no v1 freezer hierarchy is mounted"), "{err}");
        assert_eq!(read(&cgroup.dir.join("cgroup.freeze")), "0");
        assert!(!audit.exists(), "nothing was done, nothing audited");
        return;
    };
    let (memory_mount, memory_options) =
        v1_hierarchy("memory").expect("a v1 memory hierarchy beside the v1 freezer");
    let memory = TestCgroup::new("memory");
    let leaf = memory.path.rsplit('/').next().unwrap().to_owned();
    let own_freezer = common::own_cgroup("freezer");
    let made = Made(PathBuf::from(format!(
        "{freezer_mount}{own_freezer}/{leaf}"
    )));
    let sleep = Spawned::cmd("sleep 3600");
    memory.add(sleep.pid());
    let _thaw = ThawOnDrop(made.0.clone());
    // In the namespace the test's cgroups are the roots: memory:/LEAF is the test's.
    let script = format!(
        "umount -R /sys/fs/cgroup && mount -t tmpfs nstop-test /sys/fs/cgroup && \
         mkdir /sys/fs/cgroup/memory /sys/fs/cgroup/freezer && \
         mount -t cgroup -o {memory_options} cgroup /sys/fs/cgroup/memory && \
         mount -t cgroup -o {freezer_options} cgroup /sys/fs/cgroup/freezer && \
         exec \"$0\" cg freeze --create-freezer memory:/{leaf}"
    );
    let freeze_inside = || {
        let out = Command::new("unshare")
            .args([
                "--cgroup",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
            ])
            .arg(&script)
            .arg(env!("CARGO_BIN_EXE_nstop"))
            .env("NSTOP_AUDIT_LOG", &audit)
            .output()
            .expect("unshare");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = freeze_inside();
    assert_eq!(code, Some(0), "{memory_mount}: {stdout}\n{stderr}");
    // The plan said each step: the freezer cgroup made, the process moved, frozen.
    for step in [
        format!("mkdir /sys/fs/cgroup/freezer/{leaf}"),
        format!(
            "write {} to /sys/fs/cgroup/freezer/{leaf}/cgroup.procs",
            sleep.pid()
        ),
        format!("write \"FROZEN\" to /sys/fs/cgroup/freezer/{leaf}/freezer.state"),
    ] {
        assert!(stdout.contains(&step), "{step} in\n{stdout}");
    }
    assert!(made.0.is_dir());
    let cgroups = read(Path::new(&format!("/proc/{}/cgroup", sleep.pid())));
    assert!(
        cgroups.contains(&format!(":freezer:{own_freezer}/{leaf}\n")),
        "{cgroups}"
    );
    assert!(
        cgroups.contains(&format!(":memory:{}\n", memory.path)),
        "{cgroups}"
    );
    let state = || read(&made.0.join("freezer.state"));
    wait_for("frozen", || (state() == "FROZEN").then_some(()));
    let action = format!("cg freeze --create-freezer memory:/{leaf}");
    assert!(audit_field(&audit, "action").iter().all(|a| *a == action));
    assert_eq!(audit_field(&audit, "what").len(), 3, "one line per change");
    // From the host it is now an ordinary freezer cgroup, thawed by path; a second
    // --create-freezer is refused, pointing there.
    let twin = format!("freezer:{own_freezer}/{leaf}");
    ok(nstop(&audit, &["cg", "thaw", &twin]));
    wait_for("thawed", || (state() == "THAWED").then_some(()));
    let (code, _, err) = freeze_inside();
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("exists already"), "{err}");
}
