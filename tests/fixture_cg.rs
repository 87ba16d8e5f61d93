//! Cgroup fixture trees read through `Roots`: a pure v2 systemd host with docker, Kubernetes,
//! podman, LXC and a machine (tests/fixtures/cg-v2), a legacy v1 host with the cgroupfs driver
//! (cg-v1), this machine's hybrid layout captured live (cg-hybrid), and a real cgroup2-only
//! systemd host with a podman container captured in the real-host guest (cg-v2-real). Values are
//! asserted against each tree's SCENARIO.md and, for the real trees, against their own files;
//! the tables are insta snapshots.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nstop::cli::cg::{CgArgs, SortKey, render};
use nstop::model::Model;
use nstop::model::cgroup::Cgroup;
use nstop::model::host::HostMode;
use nstop::sys::{self, Collect, Roots};

const V2: &str = "tests/fixtures/cg-v2";
const V1: &str = "tests/fixtures/cg-v1";
const HYBRID: &str = "tests/fixtures/cg-hybrid";
const RUNTIMES: &str = "tests/fixtures/runtimes";
const V2_REAL: &str = "tests/fixtures/cg-v2-real";

const DOCKER_V2: &str =
    "/system.slice/docker-1e2e793e926d876fdfe63d8e43ecd7f65a38337bc950184e93c1fd67820e63ac.scope";
const DOCKER_V1: &str = "/docker/1d08f128163cb971a431eb37348dd1cd6a913f77cf1bceef0602577dd051b7a3";

fn model(dir: &str) -> Model {
    let sample = sys::sample(&Roots::under(Path::new(dir)), Collect::Everything);
    Model::new(&sample.expect("read fixture"), None)
}

fn cgroup<'m>(model: &'m Model, controller: &str, path: &str) -> &'m Cgroup {
    let hierarchy = model
        .host
        .hierarchies
        .iter()
        .find(|h| {
            if controller.is_empty() {
                h.version == 2
            } else {
                h.controllers.iter().any(|c| c == controller)
            }
        })
        .expect("hierarchy");
    model
        .cgroups
        .iter()
        .find(|c| c.hierarchy == hierarchy.id && c.path == path)
        .unwrap_or_else(|| panic!("{controller}:{path} listed"))
}

fn table(dir: &str, args: CgArgs) -> String {
    render(&args, &model(dir)).expect("render")
}

#[test]
fn v2_host_hierarchy_and_system_pressure() {
    let m = model(V2);
    assert_eq!(m.host.mode, HostMode::Unified);
    assert_eq!(m.host.hierarchies.len(), 1);
    let h = &m.host.hierarchies[0];
    assert_eq!(
        (h.id, h.version, h.mount.as_str()),
        (0, 2, "/sys/fs/cgroup")
    );
    assert!(h.controllers.iter().any(|c| c == "memory"));
    let cpu = m.host.pressure.as_ref().unwrap().cpu.as_ref().unwrap();
    assert!(cpu.some.as_ref().unwrap().total > 0);
    assert_eq!(m.cgroups.len() as u64, 1 + m.cgroups[0].nr_descendants);
    assert_eq!(m.cgroups.len(), 28);
}

#[test]
fn v2_docker_container_in_full() {
    let m = model(V2);
    let c = cgroup(&m, "", DOCKER_V2);
    let container = c.workload.container.as_ref().unwrap();
    assert_eq!(container.runtime, "docker");
    assert!(container.id.as_deref().unwrap().starts_with("1e2e793e926d"));
    assert_eq!(c.procs, [2231, 2290]);
    let mem = c.memory.as_ref().unwrap();
    assert_eq!(mem.current, Some(528_277_504));
    assert_eq!(mem.max, Some(536_870_912));
    assert_eq!(mem.peak, Some(536_870_912));
    assert_eq!(mem.swap_current, Some(12_582_912));
    assert_eq!(mem.swap_max, Some(536_870_912));
    let stat = mem.stat.as_ref().unwrap();
    assert_eq!(
        (stat.anon, stat.file, stat.kernel),
        (Some(492_830_720), Some(31_457_280), Some(3_989_504))
    );
    assert_eq!(stat.pgscan, Some(500_222));
    let events = mem.events.as_ref().unwrap();
    assert_eq!(
        (
            events.max,
            events.oom,
            events.oom_kill,
            events.oom_group_kill
        ),
        (Some(1584), Some(3), Some(2), Some(0))
    );
    let cpu = c.cpu.as_ref().unwrap();
    assert_eq!(
        (cpu.quota_usec, cpu.period_usec),
        (Some(50_000), Some(100_000))
    );
    assert_eq!(cpu.usage_usec, Some(1_802_455_120));
    assert_eq!(
        (cpu.nr_periods, cpu.nr_throttled, cpu.throttled_usec),
        (Some(48_213), Some(7_391), Some(412_986_331))
    );
    assert_eq!(cpu.usage_percent, None, "one sample has no rates");
    let pids = c.pids.as_ref().unwrap();
    assert_eq!(
        (pids.current, pids.max, pids.events_max),
        (Some(2), Some(100), Some(4))
    );
    let io = &c.io.as_ref().unwrap().devices;
    assert_eq!(io.len(), 2);
    assert_eq!(
        (
            io[1].device.as_str(),
            io[1].rbytes,
            io[1].wbytes,
            io[1].dbytes
        ),
        ("8:16", 52_789_248, 1_207_959_552, 4_194_304)
    );
    let pressure = c.pressure.as_ref().unwrap();
    let cpu_some = pressure.cpu.as_ref().unwrap().some.as_ref().unwrap();
    assert_eq!(
        (cpu_some.avg10, cpu_some.avg60, cpu_some.total),
        (35.2, 30.11, 612_345_678)
    );
    let irq = pressure.irq.as_ref().unwrap();
    assert!(irq.some.is_none());
    assert_eq!(irq.full.as_ref().unwrap().total, 120_034);
}

#[test]
fn v2_tree_counts_limits_and_identities() {
    let m = model(V2);
    let root = cgroup(&m, "", "/");
    assert_eq!(root.nr_descendants, 27);
    assert!(root.memory.as_ref().is_none_or(|mem| mem.current.is_none()));
    let empty = cgroup(
        &m,
        "",
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podd07282c2_79e6_47ca_9717_055d374360a3.slice",
    );
    assert!(!empty.populated);
    assert_eq!(
        empty.workload.pod.as_ref().unwrap().uid,
        "d07282c2-79e6-47ca-9717-055d374360a3"
    );
    let lxc = cgroup(&m, "", "/lxc.payload.web1");
    assert_eq!(lxc.memory.as_ref().unwrap().high, Some(966_367_232));
    assert_eq!(lxc.workload.label().as_deref(), Some("lxc web1"));
    let sshd = cgroup(&m, "", "/system.slice/sshd.service");
    assert_eq!(sshd.memory.as_ref().unwrap().min, Some(16_777_216));
    assert_eq!(sshd.workload.unit.as_deref(), Some("sshd.service"));
    // user-1000.slice enables only memory and pids: no cpu.max below it.
    let session = cgroup(&m, "", "/user.slice/user-1000.slice/session-3.scope");
    let cpu = session.cpu.as_ref().unwrap();
    assert!(cpu.usage_usec.is_some() && cpu.quota_usec.is_none() && cpu.weight.is_none());
    assert!(session.io.is_none());
    let machine = cgroup(&m, "", "/machine.slice/machine-qemu\\x2d1\\x2dvm.scope");
    assert_eq!(
        machine.workload.label().as_deref(),
        Some("machine qemu-1-vm")
    );
    // Each process's cgroup line joins a listed cgroup.
    let redis = m.process(3544).unwrap();
    assert_eq!(redis.cgroups.len(), 1);
    let joined = cgroup(&m, "", &redis.cgroups[0].path);
    assert_eq!(joined.workload.pod.as_ref().unwrap().qos, "guaranteed");
    assert_eq!(joined.procs, [3544]);
}

#[test]
fn v1_values_in_v2_shape() {
    let m = model(V1);
    assert_eq!(m.host.mode, HostMode::Legacy);
    let mem = cgroup(&m, "memory", DOCKER_V1).memory.clone().unwrap();
    assert_eq!(mem.max, Some(268_435_456));
    assert_eq!(mem.failcnt, Some(17));
    assert_eq!(mem.events.as_ref().unwrap().oom_kill, Some(1));
    assert_eq!(mem.under_oom, Some(false));
    assert_eq!(mem.high, None, "v1 has no memory.high");
    assert_eq!(
        (mem.memsw_current, mem.memsw_max),
        (Some(287_834_112), Some(536_870_912))
    );
    // Unlimited at the root: PAGE_COUNTER_MAX bytes reads as no limit.
    assert_eq!(cgroup(&m, "memory", "/").memory.as_ref().unwrap().max, None);
    let cpu = cgroup(&m, "cpu", DOCKER_V1).cpu.clone().unwrap();
    assert_eq!(
        (cpu.quota_usec, cpu.period_usec),
        (Some(20_000), Some(100_000))
    );
    assert_eq!(
        (cpu.nr_periods, cpu.nr_throttled),
        (Some(31_250), Some(4_122))
    );
    // throttled_time is in ns, cpuacct.usage in ns, cpuacct.stat in USER_HZ ticks.
    assert_eq!(cpu.throttled_usec, Some(197_654_321));
    // cpu and cpuacct share one hierarchy here: usage from cpuacct in the same cgroup.
    assert_eq!(cpu.usage_usec, Some(611_110_026));
    assert_eq!(
        (cpu.user_usec, cpu.system_usec),
        (Some(512_340_000), Some(98_760_000))
    );
    assert_eq!((cpu.shares, cpu.weight), (Some(1024), Some(100)));
    let pids = cgroup(&m, "pids", DOCKER_V1).pids.clone().unwrap();
    assert_eq!(
        (pids.current, pids.max, pids.events_max),
        (Some(1), Some(50), Some(2))
    );
    let io = cgroup(&m, "blkio", DOCKER_V1).io.clone().unwrap().devices;
    assert_eq!(
        (io[0].rbytes, io[0].wbytes, io[0].rios, io[0].wios),
        (1_459_200, 314_773_504, 192, 353)
    );
    let frozen = "/docker/ea11887bae94d520c589c391ead071385c2d2817bd5fdf441ba3f156f77a96d8";
    assert_eq!(cgroup(&m, "freezer", frozen).frozen, Some(true));
    assert_eq!(cgroup(&m, "freezer", DOCKER_V1).frozen, Some(false));
    // Populated and descendants come from the tree on v1.
    let docker = cgroup(&m, "memory", "/docker");
    assert!(docker.populated && docker.nprocs == 0);
    assert_eq!(docker.nr_descendants, 2);
    assert!(cgroup(&m, "memory", "/").pressure.is_none(), "no PSI on v1");
}

#[test]
fn tables_of_each_layout() {
    for (name, dir) in [("v2", V2), ("v1", V1), ("hybrid", HYBRID)] {
        let tree = table(
            dir,
            CgArgs {
                tree: true,
                all: true,
                notruncate: true,
                ..CgArgs::default()
            },
        );
        insta::assert_snapshot!(format!("cg_tree_{name}"), tree);
    }
    let by_memory = table(
        V2,
        CgArgs {
            sort: SortKey::Memory,
            ..CgArgs::default()
        },
    );
    insta::assert_snapshot!("cg_v2_by_memory", by_memory);
}

/// tests/fixtures/runtimes: podman (containers/storage, also its transient store), CRI-O,
/// docker and containerd's Kubernetes containers, each runtime's state file beside the
/// cgroups, read as `nstop cg` reads (cgroups only).
#[test]
fn containers_are_named_from_their_runtimes_state_files() {
    let roots = Roots::under(Path::new(RUNTIMES));
    let m = Model::new(&sys::sample(&roots, Collect::Cgroups).unwrap(), None);
    assert_eq!(m.name_notes, Vec::<String>::new());
    let web = "7166873bbcec2a0e5b1c4a8a10f6d7cd1a3e0e2cc2d31c5c8a6bb4e0c1f7d3a9";
    let payload = cgroup(
        &m,
        "",
        &format!("/machine.slice/libpod-{web}.scope/container"),
    );
    assert_eq!(
        payload.workload.label().as_deref(),
        Some("podman web (7166873bbcec)")
    );
    let tree = render(
        &CgArgs {
            tree: true,
            notruncate: true,
            ..CgArgs::default()
        },
        &m,
    )
    .unwrap();
    insta::assert_snapshot!("cg_tree_runtimes", tree);
    let json: serde_json::Value = serde_json::from_str(
        &render(
            &CgArgs {
                json: true,
                ..CgArgs::default()
            },
            &m,
        )
        .unwrap(),
    )
    .unwrap();
    let named: Vec<(&str, &str)> = json["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            let c = c.get("container").filter(|c| !c.is_null())?;
            Some((c["name"].as_str()?, c["name_source"].as_str()?))
        })
        .collect();
    assert!(
        named.contains(&(
            "web",
            "containers/storage /var/lib/containers/storage/overlay-containers/containers.json"
        )),
        "{named:?}"
    );
    assert!(
        named
            .iter()
            .any(|(n, s)| *n == "api" && s.starts_with("docker /var/lib/docker/"))
    );
    assert!(
        named
            .iter()
            .any(|(n, s)| *n == "default/cache-0/redis" && s.starts_with("containerd /run/"))
    );
}

#[test]
fn one_subtree_in_the_libcgroup_convention() {
    let args = |cgroup: &str| CgArgs {
        cgroup: Some(cgroup.to_owned()),
        json: true,
        ..CgArgs::default()
    };
    let doc: serde_json::Value =
        serde_json::from_str(&table(V1, args("memory:/kubepods"))).unwrap();
    assert_eq!(doc["host_mode"], "legacy");
    assert_eq!(doc["hierarchies"].as_array().unwrap().len(), 1);
    let paths: Vec<&str> = doc["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 7);
    assert!(paths.iter().all(|p| p.starts_with("/kubepods")));
    let every: serde_json::Value = serde_json::from_str(&table(V1, args("*:/docker"))).unwrap();
    assert_eq!(every["hierarchies"].as_array().unwrap().len(), 12);
    let err = render(&args("/docker"), &model(V1))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no cgroup2 hierarchy is mounted") && err.contains("legacy"),
        "{err}"
    );
    let err = render(&args("memory:/nope"), &model(V1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no cgroup /nope in memory"), "{err}");
}

/// Copies a fixture tree to a temporary directory (symlinks kept) so a test can change it.
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else if kind.is_dir() {
            std::fs::create_dir(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn rates_between_two_samples_and_none_for_a_recreated_cgroup() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(Path::new(V2), dir.path());
    let roots = Roots::under(dir.path());
    let scope: PathBuf = roots.resolve(&format!("/sys/fs/cgroup{DOCKER_V2}"));
    let sshd = roots.resolve("/sys/fs/cgroup/system.slice/sshd.service");
    let mut first = sys::sample(&roots, Collect::Everything).unwrap();
    // Two seconds later: the container used one more CPU-second and was throttled in 5 of 20
    // periods; sshd's cgroup was removed and made again with the same path.
    let cpu_stat = std::fs::read_to_string(scope.join("cpu.stat")).unwrap();
    let bumped: String = cpu_stat
        .lines()
        .map(|l| match l.split_once(' ') {
            Some(("usage_usec", v)) => {
                format!("usage_usec {}\n", v.parse::<u64>().unwrap() + 1_000_000)
            }
            Some(("nr_periods", v)) => format!("nr_periods {}\n", v.parse::<u64>().unwrap() + 20),
            Some(("nr_throttled", v)) => {
                format!("nr_throttled {}\n", v.parse::<u64>().unwrap() + 5)
            }
            _ => format!("{l}\n"),
        })
        .collect();
    std::fs::write(scope.join("cpu.stat"), bumped).unwrap();
    // And read 4 MiB more from 8:0.
    let io_stat = std::fs::read_to_string(scope.join("io.stat")).unwrap();
    let read_more = io_stat.replacen("rbytes=1459200 ", "rbytes=5653504 ", 1);
    assert_ne!(io_stat, read_more);
    std::fs::write(scope.join("io.stat"), read_more).unwrap();
    let moved = dir.path().join("sshd-again");
    std::fs::create_dir(&moved).unwrap();
    copy_tree(&sshd, &moved);
    std::fs::remove_dir_all(&sshd).unwrap();
    std::fs::rename(&moved, &sshd).unwrap();
    let second = sys::sample(&roots, Collect::Everything).unwrap();
    first.cgroups.taken_at = second.cgroups.taken_at - Duration::from_secs(2);
    let m = Model::new(&second, Some(&first));
    let cpu = cgroup(&m, "", DOCKER_V2).cpu.clone().unwrap();
    assert_eq!(cpu.usage_percent, Some(50.0));
    assert_eq!(cpu.throttled_percent, Some(25.0));
    let io = cgroup(&m, "", DOCKER_V2).io.clone().unwrap();
    assert_eq!(io.read_bytes_per_sec, Some(2_097_152.0));
    assert_eq!(io.write_bytes_per_sec, Some(0.0));
    let stall = cgroup(&m, "", DOCKER_V2)
        .pressure
        .clone()
        .unwrap()
        .cpu
        .unwrap();
    assert_eq!(stall.some.unwrap().stall_percent, Some(0.0));
    let again = cgroup(&m, "", "/system.slice/sshd.service");
    assert!(
        again.cpu.as_ref().unwrap().usage_percent.is_none(),
        "new inode: no delta"
    );
    assert!(
        m.host
            .pressure
            .as_ref()
            .unwrap()
            .cpu
            .as_ref()
            .unwrap()
            .some
            .as_ref()
            .unwrap()
            .stall_percent
            .is_some()
    );
}

/// A copy of a fixture tree that changes may be written to.
fn copy(fixture: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .args(["-a", &format!("{fixture}/."), dir.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

/// `nstop --root COPY cg set` on copies of the fixture trees: every key lands in its file in
/// the kernel's form, v2 and v1 alike, and a refused set writes nothing.
#[test]
fn limits_are_written_in_each_layout() {
    let run = |root: &Path, args: &[&str]| {
        let audit = root.join("audit.jsonl");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nstop"))
            .arg("--root")
            .arg(root)
            .args(args)
            .env("NSTOP_AUDIT_LOG", &audit)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let read = |path: PathBuf| std::fs::read_to_string(path).unwrap().trim().to_owned();

    let v2 = copy(V2);
    let (code, err) = run(
        v2.path(),
        &[
            "cg",
            "set",
            DOCKER_V2,
            "memory.max=512M",
            "memory.high=1.5G",
            "memory.low=64M",
            "memory.swap.max=max",
            "cpu.max=150%",
            "cpu.weight=200",
            "pids.max=100",
            "io.max=8:0 rbps=1M wiops=120",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let dir = v2.path().join(format!("sys/fs/cgroup{DOCKER_V2}"));
    for (file, value) in [
        ("memory.max", "536870912"),
        ("memory.high", "1610612736"),
        ("memory.low", "67108864"),
        ("memory.swap.max", "max"),
        ("cpu.max", "150000 100000"),
        ("cpu.weight", "200"),
        ("pids.max", "100"),
        ("io.max", "8:0 rbps=1048576 wiops=120"),
    ] {
        assert_eq!(read(dir.join(file)), value, "{file}");
    }
    // One bad value among good ones: nothing is written.
    let before = read(dir.join("memory.max"));
    let (code, err) = run(
        v2.path(),
        &["cg", "set", DOCKER_V2, "memory.max=1G", "cpu.weight=0"],
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(read(dir.join("memory.max")), before, "nothing written");

    let v1 = copy(V1);
    let (code, err) = run(
        v1.path(),
        &[
            "cg",
            "set",
            &format!("memory:{DOCKER_V1}"),
            "memory.max=256M",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let memory = v1.path().join(format!("sys/fs/cgroup/memory{DOCKER_V1}"));
    assert_eq!(read(memory.join("memory.limit_in_bytes")), "268435456");
    let (code, err) = run(
        v1.path(),
        &[
            "cg",
            "set",
            &format!("cpu:{DOCKER_V1}"),
            "cpu.max=50%",
            "cpu.weight=50",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let cpu = v1
        .path()
        .join(format!("sys/fs/cgroup/cpu,cpuacct{DOCKER_V1}"));
    assert_eq!(read(cpu.join("cpu.cfs_quota_us")), "50000");
    assert_eq!(read(cpu.join("cpu.shares")), "512");
}

/// Kills a cgroup2 cgroup's memory.events.local counted without a kernel report (the log
/// unreadable or rotated) become events of their own, at the time they were noticed; a report
/// read in another sample than its counter is matched all the same.
#[test]
fn memory_events_increments_are_kills_without_a_report() {
    use nstop::model::oom::{OomEvent, Unmatched, counted_kills, note_reported};
    let m = model(V2);
    let docker = cgroup(&m, "", DOCKER_V2);
    let kills = docker
        .local_oom_kills()
        .expect("memory.events.local oom_kill");
    assert!(kills > 0);
    let before: std::collections::HashMap<(u32, u64), u64> =
        [((docker.hierarchy, docker.inode), kills - 1)].into();
    let mut unmatched = Unmatched::new();
    let events = counted_kills(&before, &m.cgroups, &mut unmatched, "2026-11-26T14:00:00Z");
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.task_memcg.as_deref(), Some(DOCKER_V2));
    assert_eq!(e.source, "memory.events");
    assert_eq!(e.constraint, None, "the counter does not say which limit");
    assert_eq!(e.limit_bytes, docker.memory.as_ref().unwrap().max);
    assert_eq!(e.time.as_deref(), Some("2026-11-26T14:00:00Z"));
    // A kill the kernel log reported (one sample earlier) is not counted twice.
    let reported = OomEvent {
        task_memcg: Some(DOCKER_V2.to_owned()),
        ..Default::default()
    };
    note_reported(&mut unmatched, &[reported]);
    assert!(counted_kills(&before, &m.cgroups, &mut unmatched, "t").is_empty());
    assert!(unmatched.is_empty(), "matched once");
    // Nothing before to compare with: nothing counted (the first sample only sets the base).
    assert!(counted_kills(&Default::default(), &m.cgroups, &mut unmatched, "t").is_empty());
}

/// Removes what a kernel without PSI (CONFIG_PSI off, or psi=0) lacks: /proc/pressure and every
/// cgroup's *.pressure file.
fn remove_pressure(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() && entry.file_name() == "pressure" && dir.ends_with("proc") {
            std::fs::remove_dir_all(&path).unwrap();
        } else if kind.is_dir() {
            remove_pressure(&path);
        } else if entry.file_name().to_string_lossy().ends_with(".pressure") {
            std::fs::remove_file(&path).unwrap();
        }
    }
}

#[test]
fn without_psi_pressure_is_unknown_never_zero() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(Path::new(V2), dir.path());
    remove_pressure(dir.path());
    let with_psi = model(V2);
    assert!(with_psi.host.pressure.is_some());
    let without = model(dir.path().to_str().unwrap());
    assert!(without.host.pressure.is_none());
    assert!(without.cgroups.iter().all(|c| c.pressure.is_none()));
    // Everything else reads as before.
    assert_eq!(without.cgroups.len(), with_psi.cgroups.len());
    assert_eq!(
        cgroup(&without, "", DOCKER_V2).memory,
        cgroup(&with_psi, "", DOCKER_V2).memory
    );
    let table = render(&CgArgs::default(), &without).unwrap();
    let head = table.lines().next().unwrap();
    let column = |name: &str| head.find(name).unwrap() + name.len();
    for line in table.lines().skip(1) {
        for name in ["PSI.CPU", "PSI.MEM"] {
            let end = column(name);
            assert_eq!(&line[end - 1..end], "-", "{name} in {line}");
        }
    }
}

/// No cgroup or cgroup2 line in mountinfo (a container without /sys/fs/cgroup): no cgroups,
/// and a notice saying why.
#[test]
fn without_a_cgroup_mount_the_notice_says_why() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(Path::new(V2), dir.path());
    let roots = Roots::under(dir.path());
    let mountinfo = std::fs::canonicalize(roots.resolve("/proc/self/mountinfo")).unwrap();
    let kept: String = std::fs::read_to_string(&mountinfo)
        .unwrap()
        .lines()
        .filter(|l| !l.contains(" - cgroup"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&mountinfo, kept).unwrap();
    let m = model(dir.path().to_str().unwrap());
    assert_eq!(m.host.mode, HostMode::None);
    assert!(m.cgroups.is_empty());
    let notice = m.host.cgroup_notice().unwrap();
    assert!(
        notice.starts_with("no cgroup hierarchy is visible"),
        "{notice}"
    );
    assert_eq!(model(V2).host.cgroup_notice(), None);
}

/// A flat-keyed cgroup file of the real tree (`key value` lines) as numbers.
fn keyed(dir: &Path, file: &str) -> Vec<(String, u64)> {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

/// A single-value file: a number, `None` for `max`.
fn limit(dir: &Path, file: &str) -> Option<Option<u64>> {
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    Some(text.trim().parse().ok())
}

#[test]
fn real_v2_host_every_value_is_the_kernels() {
    // As `nstop cg` reads it: members from cgroup.procs (a full sample takes them from the
    // processes, of which the capture holds only its own).
    let sample = sys::sample(&Roots::under(Path::new(V2_REAL)), Collect::Cgroups);
    let m = Model::new(&sample.expect("read fixture"), None);
    assert_eq!(m.host.mode, HostMode::Unified);
    assert_eq!(m.host.hierarchies.len(), 1);
    let doc = serde_json::to_value(&m).unwrap();
    let cgroups = doc["cgroups"].as_array().unwrap();
    let dirs = walk(&Path::new(V2_REAL).join("sys/fs/cgroup"));
    assert_eq!(cgroups.len(), dirs.len(), "every cgroup of the tree");
    for c in cgroups {
        let path = c["path"].as_str().unwrap();
        let dir = Path::new(V2_REAL).join(format!("sys/fs/cgroup{path}"));
        let at = |what: &str| format!("{path} {what}");
        let lines = |file: &str| {
            std::fs::read_to_string(dir.join(file))
                .unwrap()
                .lines()
                .filter(|l| !l.is_empty())
                .count()
        };
        assert_eq!(c["nprocs"], lines("cgroup.procs"), "{}", at("nprocs"));
        assert_eq!(c["nthreads"], lines("cgroup.threads"), "{}", at("nthreads"));
        for (key, value) in keyed(&dir, "cgroup.events") {
            assert_eq!(c[&key] == true, value == 1, "{}", at(&key));
        }
        if path == "/" {
            continue; // the root has no limits, and nstop no memory row for it
        }
        let memory = &c["memory"];
        for (file, field) in [
            ("memory.max", "max"),
            ("memory.high", "high"),
            ("memory.low", "low"),
            ("memory.min", "min"),
            ("memory.current", "current"),
            ("memory.peak", "peak"),
            ("memory.swap.max", "swap_max"),
        ] {
            if let Some(value) = limit(&dir, file) {
                assert_eq!(memory[field].as_u64(), value, "{}", at(file));
            }
        }
        for (file, field) in [
            ("memory.events", "events"),
            ("memory.events.local", "events_local"),
        ] {
            for (key, value) in keyed(&dir, file) {
                assert_eq!(
                    memory[field][&key],
                    value,
                    "{}",
                    at(&format!("{file} {key}"))
                );
            }
        }
        let stat = keyed(&dir, "memory.stat");
        let stat_of = |key: &str| stat.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
        for key in ["anon", "file", "kernel", "shmem", "sock", "slab", "pgscan"] {
            assert_eq!(memory["stat"][key].as_u64(), stat_of(key), "{}", at(key));
        }
        // 6.1 splits refaults by anon and file; nstop adds them.
        let refaults = stat_of("workingset_refault_anon").zip(stat_of("workingset_refault_file"));
        assert_eq!(
            memory["stat"]["workingset_refault"].as_u64(),
            refaults.map(|(a, f)| a + f),
            "{}",
            at("refaults")
        );
        if let Some(pids) = limit(&dir, "pids.max") {
            assert_eq!(c["pids"]["max"].as_u64(), pids, "{}", at("pids.max"));
            assert_eq!(
                c["pids"]["current"].as_u64(),
                limit(&dir, "pids.current").flatten()
            );
        }
        if let Ok(cpu_max) = std::fs::read_to_string(dir.join("cpu.max")) {
            let (quota, period) = cpu_max.trim().split_once(' ').unwrap();
            assert_eq!(
                c["cpu"]["quota_usec"].as_u64(),
                quota.parse().ok(),
                "{}",
                at("cpu.max")
            );
            assert_eq!(c["cpu"]["period_usec"].as_u64(), period.parse().ok());
        }
        let cpu_stat = keyed(&dir, "cpu.stat");
        for (key, field) in [
            ("usage_usec", "usage_usec"),
            ("nr_throttled", "nr_throttled"),
        ] {
            let value = cpu_stat.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
            assert_eq!(c["cpu"][field].as_u64(), value, "{}", at(key));
        }
        // PSI: some and full on every resource, cpu's full line included (5.13+).
        for resource in ["cpu", "memory", "io"] {
            let text = std::fs::read_to_string(dir.join(format!("{resource}.pressure"))).unwrap();
            for line in text.lines() {
                let (kind, rest) = line.split_once(' ').unwrap();
                let total: u64 = rest.rsplit_once("total=").unwrap().1.parse().unwrap();
                assert_eq!(
                    c["pressure"][resource][kind]["total"],
                    total,
                    "{}",
                    at(resource)
                );
            }
        }
    }

    // What SCENARIO.md says the capture made.
    let fx = cgroup(&m, "", "/nstop-fx");
    let memory = fx.memory.as_ref().unwrap();
    assert_eq!((memory.max, memory.high), (Some(64 << 20), Some(48 << 20)));
    let web = "/machine.slice/libpod-4ef098e6dedd20fd79b82c9bbb84c3b8de1f01e4b9e5ba0bd158fc136b7ba027.scope/container";
    let container = cgroup(&m, "", web).workload.container.as_ref().unwrap();
    assert_eq!(container.runtime, "podman");
    assert_eq!(container.name.as_deref(), Some("web"));
    assert!(
        container
            .name_source
            .as_deref()
            .unwrap()
            .contains("containers.json")
    );
    assert_eq!(cgroup(&m, "", web).procs, [372]);
    // A full sample joins the captured processes to the same cgroups.
    let full = model(V2_REAL);
    assert_eq!(cgroup(&full, "", "/nstop-fx/a").procs, [319]);
    assert_eq!(cgroup(&full, "", web).procs, [372]);
    let unit = cgroup(&m, "", "/system.slice/nstop-fx.service");
    assert_eq!(unit.workload.unit.as_deref(), Some("nstop-fx.service"));
    assert_eq!(unit.memory.as_ref().unwrap().max, Some(80 << 20));
    // Escaped unit names come back as systemd shows them.
    let getty = cgroup(&m, "", "/system.slice/system-serial\\x2dgetty.slice");
    assert_eq!(
        getty.workload.unit.as_deref(),
        Some("system-serial-getty.slice")
    );
    insta::assert_snapshot!(
        "cg_tree_v2_real",
        table(
            V2_REAL,
            CgArgs {
                tree: true,
                all: true,
                notruncate: true,
                ..CgArgs::default()
            }
        )
    );
}

/// Every directory of a tree, itself included.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![dir.to_owned()];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        }
    }
    found
}

/// The audit log is never written through a symlink another user planted, nor in a directory
/// others can write: the change is made, the log refuses, and the symlink's target is intact.
#[test]
fn the_audit_log_does_not_follow_planted_symlinks() {
    use std::os::unix::fs::PermissionsExt;
    let tree = copy(V2);
    let logs = tempfile::tempdir().unwrap();
    let target = logs.path().join("victim");
    std::fs::write(&target, "untouched\n").unwrap();
    let planted = logs.path().join("audit.jsonl");
    std::os::unix::fs::symlink(&target, &planted).unwrap();
    let set = |audit: &Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nstop"))
            .arg("--root")
            .arg(tree.path())
            .args(["cg", "set", DOCKER_V2, "memory.max=512M"])
            .env("NSTOP_AUDIT_LOG", audit)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = set(&planted);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("could not append to the audit log"), "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched\n");

    let shared = logs.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (_, err) = set(&shared.join("audit.jsonl"));
    assert!(err.contains("writable by group or others"), "{err}");
    assert!(!shared.join("audit.jsonl").exists());
}
