//! Live kernel, as root: cgroups the test makes beneath its own where the memory, pids, cpu and
//! cpuacct controllers are (their v1 hierarchies on a hybrid host, cgroup2 on a unified one) and
//! in cgroup2, with processes it started; limits set by writing the files; then what
//! `nstop cg --json` and `nstop snapshot --json` report of them.

mod common;

use common::{Spawned, TestCgroup, TestCgroups, nstop, require_root};
use serde_json::Value;

fn cg_json(args: &[&str]) -> Value {
    let mut all = vec!["cg", "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = nstop(&all);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("cg JSON")
}

/// `nstop snapshot --json`, which must succeed.
fn snapshot_json() -> Value {
    let (code, out, err) = nstop(&["snapshot", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("snapshot JSON")
}

/// Process `pid` in a snapshot document.
fn process_in(doc: &Value, pid: i32) -> &Value {
    let processes = doc["processes"].as_array().unwrap();
    let found = processes.iter().find(|p| p["pid"] == pid);
    found.unwrap_or_else(|| panic!("PID {pid} listed"))
}

/// The ID of the hierarchy with `controller` (`""`: cgroup2) in a `nstop cg --json` document.
fn hierarchy_id(doc: &Value, controller: &str) -> u64 {
    doc["hierarchies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| {
            if controller.is_empty() {
                h["version"] == 2
            } else {
                h["controllers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c == controller)
            }
        })
        .unwrap_or_else(|| panic!("hierarchy {controller:?} listed"))["id"]
        .as_u64()
        .unwrap()
}

fn find<'d>(doc: &'d Value, cgroup: &TestCgroup) -> &'d Value {
    let controller = cgroup.v1.as_deref().unwrap_or("");
    let id = hierarchy_id(doc, controller);
    doc["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["hierarchy"] == id && c["path"] == cgroup.path.as_str())
        .unwrap_or_else(|| panic!("{controller:?}:{} listed", cgroup.path))
}

#[test]
fn membership_limits_and_pressure_of_cgroups_the_test_made() {
    if !require_root() {
        return;
    }
    let made = TestCgroups::with(&["", "memory", "pids", "cpu"]);
    let (unified, memory, pids, cpu) = (
        made.of(""),
        made.of("memory"),
        made.of("pids"),
        made.of("cpu"),
    );
    memory.write(
        memory.either("memory.max", "memory.limit_in_bytes"),
        "67108864",
    );
    pids.write("pids.max", "20");
    if cpu.is_v2() {
        cpu.write("cpu.max", "50000 100000");
        cpu.write("cpu.weight", "200");
    } else {
        cpu.write("cpu.cfs_period_us", "100000");
        cpu.write("cpu.cfs_quota_us", "50000");
        cpu.write("cpu.shares", "2048");
    }
    let sleeper = Spawned::cmd("sleep 60");
    let pid = sleeper.pid();
    made.add(pid);

    let doc = cg_json(&["--all"]);
    assert!(["hybrid", "unified", "legacy"].contains(&doc["host_mode"].as_str().unwrap()));
    for cgroup in [unified, memory, pids, cpu] {
        let c = find(&doc, cgroup);
        assert_eq!(c["nprocs"], 1, "{}", cgroup.spec());
        assert_eq!(c["procs"], serde_json::json!([pid]), "{}", cgroup.spec());
        assert_eq!(c["nthreads"], 1, "{}", cgroup.spec());
        assert_eq!(c["populated"], true, "{}", cgroup.spec());
    }
    let m = &find(&doc, memory)["memory"];
    assert_eq!(m["max"], 67_108_864);
    assert!(m["current"].is_u64() && m["stat"]["anon"].is_u64(), "{m}");
    assert_eq!(m["events"]["oom_kill"], 0);
    if memory.is_v2() {
        // memory.events key for key, and the limits, as the kernel's files have them.
        let file = |name: &str| std::fs::read_to_string(memory.dir.join(name)).unwrap();
        for line in file("memory.events").lines() {
            let (key, value) = line.split_once(' ').unwrap();
            assert_eq!(
                m["events"][key],
                value.parse::<u64>().unwrap(),
                "{key}: {m}"
            );
        }
        assert_eq!(file("memory.high").trim(), "max");
        assert!(m["high"].is_null(), "max is unlimited: {m}");
        assert_eq!(m["min"], file("memory.min").trim().parse::<u64>().unwrap());
    } else {
        assert_eq!(m["under_oom"], false);
    }
    let p = &find(&doc, pids)["pids"];
    assert_eq!(
        (p["current"].as_u64(), p["max"].as_u64()),
        (Some(1), Some(20))
    );
    let c = &find(&doc, cpu)["cpu"];
    assert_eq!(
        (c["quota_usec"].as_u64(), c["period_usec"].as_u64()),
        (Some(50_000), Some(100_000))
    );
    assert_eq!(c["weight"].as_u64(), Some(200));
    if !cpu.is_v2() {
        assert_eq!(c["shares"].as_u64(), Some(2048));
    }
    // cgroup2 accounts CPU and pressure even where no controller is enabled.
    let u = find(&doc, unified);
    assert!(u["cpu"]["usage_usec"].is_u64(), "{u}");
    for resource in ["cpu", "memory", "io"] {
        let some = &u["pressure"][resource]["some"];
        assert!(
            some["total"].is_u64() && some["avg10"].is_f64(),
            "{resource}: {u}"
        );
    }
    // v1 hierarchies have no PSI.
    if !memory.is_v2() {
        assert!(find(&doc, memory)["pressure"].is_null());
    }

    // One hierarchy and one subtree, in the libcgroup convention.
    let only = cg_json(&[&memory.spec()]);
    let listed: Vec<&Value> = only["cgroups"].as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["path"], memory.path.as_str());
    let (code, table, _) = nstop(&["cg", &memory.spec()]);
    assert_eq!(code, 0);
    assert!(table.contains("64M"), "{table}");

    // The process's own view: one line per hierarchy, joined to the same paths.
    let snapshot = snapshot_json();
    let proc = process_in(&snapshot, pid);
    let cgroups = proc["cgroups"].as_array().unwrap();
    let memory_id = hierarchy_id(&doc, memory.v1.as_deref().unwrap_or(""));
    assert!(
        cgroups
            .iter()
            .any(|c| c["hierarchy"] == memory_id && c["path"] == memory.path.as_str())
    );
    assert!(
        cgroups
            .iter()
            .any(|c| c["hierarchy"] == 0 && c["path"] == unified.path.as_str())
    );
    drop(sleeper);
}

#[test]
fn rates_from_two_samples_show_cpu_use_and_throttling() {
    if !require_root() {
        return;
    }
    // Many v1 hosts mount cpu and cpuacct as one hierarchy: then the cpu cgroup is both.
    let made = TestCgroups::with(&["", "cpu", "cpuacct"]);
    let (unified, cpu, cpuacct) = (made.of(""), made.of("cpu"), made.of("cpuacct"));
    cpu.write(
        cpu.either("cpu.max", "cpu.cfs_quota_us"),
        cpu.either("20000 100000", "20000"),
    );
    if !cpu.is_v2() {
        cpu.write("cpu.cfs_period_us", "100000");
    }
    let spinner = Spawned::new("sh", &["-c", "while :; do :; done"]);
    made.add(spinner.pid());

    let doc = cg_json(&["--interval", "1s"]);
    // At most 20% of a CPU by quota; at least a little even on a busy 2-core host.
    for cgroup in [unified, cpuacct] {
        let percent = find(&doc, cgroup)["cpu"]["usage_percent"]
            .as_f64()
            .unwrap_or_else(|| panic!("{} has a CPU rate", cgroup.spec()));
        assert!(
            (1.0..=30.0).contains(&percent),
            "{}: {percent}",
            cgroup.spec()
        );
    }
    let throttled = &find(&doc, cpu)["cpu"];
    assert!(
        throttled["nr_throttled"].as_u64().unwrap() > 0,
        "{throttled}"
    );
    let share = throttled["throttled_percent"].as_f64().unwrap();
    assert!(
        share > 10.0,
        "a 20% quota throttles a spinning shell: {share}"
    );
    let stall = &find(&doc, unified)["pressure"]["cpu"]["some"]["stall_percent"];
    assert!(stall.is_f64(), "stall rate from PSI totals: {stall}");
    drop(spinner);
}

#[test]
fn paths_seen_from_inside_a_cgroup_namespace() {
    if !require_root() {
        return;
    }
    let unified = TestCgroup::new("");
    let procs = unified.dir.join("cgroup.procs");
    // nstop itself runs in a new cgroup namespace rooted at the test's cgroup.
    let script = format!(
        "echo $$ > {} && exec unshare --cgroup {} snapshot --json",
        procs.display(),
        env!("CARGO_BIN_EXE_nstop")
    );
    // `unshare` without --fork execs: nstop keeps the shell's PID.
    let child = std::process::Command::new("sh")
        .args(["-c", &script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run nstop in a cgroup namespace");
    let nstop_pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Said on stderr, naming the hierarchies seen from below their root (cgroup2 first; v1
    // ones where the test's own cgroup is not their root).
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nstop: inside a cgroup namespace: cgroup2")
            && err.contains("mounted from above it; paths are relative to the namespace's root"),
        "{err}"
    );
    let snapshot: Value = serde_json::from_slice(&out.stdout).unwrap();
    let own = std::process::id();
    let path_of = |pid: u32| -> String {
        let proc = snapshot["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == pid)
            .unwrap_or_else(|| panic!("{pid} listed"));
        let line = proc["cgroups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["hierarchy"] == 0)
            .expect("cgroup2 line");
        line["path"].as_str().unwrap().to_owned()
    };
    // This test process is outside the namespace's root: its path climbs out with `/..`.
    assert!(path_of(own).starts_with("/.."), "{}", path_of(own));
    assert_eq!(path_of(nstop_pid), "/");
    // The cgroup list uses the same view: the namespace's root holds nstop, below the mount's
    // root, which reads `/..`.
    let unified_cgroups: Vec<&Value> = snapshot["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["hierarchy"] == 0)
        .collect();
    assert_eq!(unified_cgroups[0]["depth"], 0);
    assert!(
        unified_cgroups[0]["path"]
            .as_str()
            .unwrap()
            .starts_with("/..")
    );
    // Every process's cgroup line names a listed cgroup, also the ones above the namespace.
    for pid in [own, nstop_pid] {
        let path = path_of(pid);
        assert!(
            unified_cgroups.iter().any(|c| c["path"] == path.as_str()),
            "{pid}'s {path} listed"
        );
    }
}

/// A process moved back and forth between two cgroups as fast as the kernel allows while
/// listings are taken: each listing places it in exactly one of them (issue 20: cgroup.procs
/// read per cgroup placed it in both or neither in some runs).
#[test]
fn a_process_moving_between_cgroups_is_in_exactly_one_of_them() {
    if !require_root() {
        return;
    }
    let (a, b) = (TestCgroup::new(""), TestCgroup::new(""));
    // Outlives the listings, also under an emulator (200 of them take minutes there).
    let sleeper = Spawned::new("sleep", &["3600"]);
    let pid = sleeper.pid();
    a.add(pid);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let roots = nstop::sys::Roots::default();
    let (mut runs, mut moves) = (0, 0);
    std::thread::scope(|scope| {
        let mover = scope.spawn(|| {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                [&b, &a][n as usize % 2].add(pid);
                n += 1;
            }
            n
        });
        let wrong = (0..200).find_map(|run| {
            let sample = nstop::sys::sample(&roots, nstop::sys::Collect::Cgroups).expect("sample");
            let model = nstop::model::Model::new(&sample, None);
            runs = run + 1;
            let holding: Vec<&str> = model
                .cgroups
                .iter()
                .filter(|c| c.hierarchy == 0 && [&a.path, &b.path].contains(&&c.path))
                .filter(|c| c.procs.contains(&pid))
                .map(|c| c.path.as_str())
                .collect();
            let listed = (model.cgroups.iter())
                .filter(|c| c.hierarchy == 0 && [&a.path, &b.path].contains(&&c.path))
                .count();
            let own = model.process(pid).map(|p| p.cgroups.clone());
            (holding.len() != 1).then(|| {
                format!("run {run}: in {holding:?}; {listed} of the 2 listed; its own: {own:?}")
            })
        });
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        moves = mover.join().expect("mover");
        assert_eq!(wrong, None, "{moves} moves");
    });
    assert!(
        moves > runs as u64,
        "{moves} moves in {runs} listings: the mover ran"
    );
    drop(sleeper);
}

/// Cgroups nested beneath a test cgroup by directory fds, each name 252 bytes: past PATH_MAX
/// as a path. Removed deepest first on drop.
struct DeepCgroups {
    /// Each level's directory, opened, the test cgroup's first.
    dirs: Vec<std::os::fd::OwnedFd>,
    name: String,
}

impl DeepCgroups {
    fn new(parent: &TestCgroup, levels: usize) -> DeepCgroups {
        use rustix::fs::{Mode, OFlags, mkdirat, openat};
        let name = "n".repeat(252);
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let top = rustix::fs::open(&parent.dir, flags, Mode::empty()).expect("open test cgroup");
        let mut deep = DeepCgroups {
            dirs: vec![top],
            name,
        };
        for _ in 0..levels {
            let at = deep.dirs.last().unwrap();
            mkdirat(at, deep.name.as_str(), Mode::from_raw_mode(0o755)).expect("mkdir a level");
            let dir = openat(at, deep.name.as_str(), flags, Mode::empty()).expect("open a level");
            deep.dirs.push(dir);
        }
        deep
    }

    /// The path of the deepest, as `parent`'s path plus every level.
    fn path(&self, parent: &TestCgroup) -> String {
        let levels = vec![self.name.as_str(); self.dirs.len() - 1];
        format!("{}/{}", parent.path, levels.join("/"))
    }

    fn add(&self, pid: i32) {
        use rustix::fs::{Mode, OFlags, openat};
        let procs = openat(
            self.dirs.last().unwrap(),
            "cgroup.procs",
            OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .expect("open the deepest cgroup.procs");
        rustix::io::write(&procs, pid.to_string().as_bytes()).expect("move into the deepest");
    }
}

impl Drop for DeepCgroups {
    fn drop(&mut self) {
        while self.dirs.len() > 1 {
            self.dirs.pop();
            let parent = self.dirs.last().unwrap();
            // A killed member may take a moment to leave.
            for _ in 0..100 {
                let removed = rustix::fs::unlinkat(
                    parent,
                    self.name.as_str(),
                    rustix::fs::AtFlags::REMOVEDIR,
                );
                if removed.is_ok() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

/// 18 levels of 252-byte names (4.6 KB of path): every level is listed, the deepest with its
/// member, and the member's cgroup is the whole path, where /proc/PID/cgroup cuts it at 4095
/// bytes (issue 20: the deep levels vanished and the process had the cut path).
#[test]
fn cgroups_deeper_than_path_max_are_listed_with_their_members() {
    if !require_root() {
        return;
    }
    let top = TestCgroup::new("");
    let deep = DeepCgroups::new(&top, 18);
    let path = deep.path(&top);
    assert!(path.len() > 4096, "{} bytes", path.len());
    let sleeper = Spawned::new("sleep", &["60"]);
    let pid = sleeper.pid();
    deep.add(pid);
    let cut = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let line = cut.lines().find(|l| l.starts_with("0::")).unwrap();
    assert!(
        path.starts_with(&line[3..]) && line.len() < path.len() + 3,
        "the kernel cuts it"
    );

    let doc = cg_json(&[]);
    let id = hierarchy_id(&doc, "");
    let ours: Vec<&Value> = doc["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["hierarchy"] == id && c["path"].as_str().unwrap().starts_with(&top.path))
        .collect();
    assert_eq!(ours.len(), 19, "the test cgroup and 18 levels");
    let deepest = ours.iter().find(|c| c["path"] == path.as_str());
    let deepest = deepest.expect("the deepest listed whole");
    assert_eq!(deepest["procs"], serde_json::json!([pid]));

    let snapshot = snapshot_json();
    let proc = process_in(&snapshot, pid);
    let cgroup2 = proc["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["hierarchy"] == 0)
        .expect("a cgroup2 line");
    assert_eq!(cgroup2["path"], path.as_str());
    let listed = snapshot["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["hierarchy"] == 0 && c["path"] == path.as_str());
    assert_eq!(
        listed.expect("in the snapshot")["procs"],
        serde_json::json!([pid])
    );
    drop(sleeper);
}

/// The commands that change cgroups reach one nested past PATH_MAX: `cg mk` beneath it, `cg
/// move` into it, `cg freeze`/`thaw` of it, `cg rm` of the child (issue 20: each said "no
/// cgroup" or failed with ENAMETOOLONG).
#[test]
fn commands_reach_a_cgroup_deeper_than_path_max() {
    if !require_root() {
        return;
    }
    let top = TestCgroup::new("");
    let deep = DeepCgroups::new(&top, 17);
    let path = deep.path(&top);
    let audit = tempfile::tempdir().unwrap();
    let audit = audit.path().join("audit.jsonl");
    let run = |args: &[&str]| {
        let (code, _, err) = common::nstop_audited(&audit, args);
        assert_eq!(code, 0, "nstop {}: {err}", args[..2].join(" "));
    };
    let deepest = deep.dirs.last().unwrap();
    let read = |name: &str| {
        let fd = rustix::fs::openat(
            deepest,
            name,
            rustix::fs::OFlags::RDONLY,
            rustix::fs::Mode::empty(),
        );
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(fd.expect(name)), &mut text)
            .unwrap();
        text
    };
    let child = format!("{path}/child");
    run(&["cg", "mk", &child]);
    assert!(rustix::fs::statat(deepest, "child", rustix::fs::AtFlags::empty()).is_ok());
    let sleeper = Spawned::new("sleep", &["60"]);
    let pid = sleeper.pid().to_string();
    run(&["cg", "move", &pid, &path]);
    assert_eq!(read("cgroup.procs").trim(), pid);
    run(&["cg", "freeze", &path]);
    assert_eq!(read("cgroup.freeze").trim(), "1");
    run(&["cg", "thaw", &path]);
    assert_eq!(read("cgroup.freeze").trim(), "0");
    run(&["cg", "rm", &child]);
    assert!(rustix::fs::statat(deepest, "child", rustix::fs::AtFlags::empty()).is_err());
    drop(sleeper);
}
