//! Real containers and systemd units on a cgroup2-only systemd host (root): podman and docker
//! containers the test names and starts, OOM-killed at their `--memory` limit, and a transient
//! unit. nstop must call them by the names their users gave, with values equal to the kernel's
//! files.
//!
//! These need the runtimes under systemd on cgroup2, which the hybrid development host lacks:
//! they are ignored in a plain `cargo test` and run in the cgroup2-only guest, where
//! scripts/realhost/suite.sh passes `--include-ignored`. The runtimes make their own cgroups
//! (`machine.slice/libpod-<id>.scope`, `system.slice/docker-<id>.scope`) in that guest, which is
//! the test's own machine.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::tmux::Tmux;
use common::{nstop, require_root, unique_name, wait_for};
use serde_json::Value;

const GUEST_ONLY: &str = "needs the runtimes under systemd on cgroup2: runs in scripts/realhost.sh";

/// A container runtime's command line and where it keeps the names nstop reads.
struct Runtime {
    cli: &'static str,
    /// How `rm` stops a container at once (a sleep as PID 1 ignores SIGTERM).
    remove: &'static [&'static str],
    state_file: &'static str,
}

const PODMAN: Runtime = Runtime {
    cli: "podman",
    remove: &["rm", "-f", "-t", "0"],
    state_file: "containers.json",
};

const DOCKER: Runtime = Runtime {
    cli: "docker",
    remove: &["rm", "-f"],
    state_file: "config.v2.json",
};

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (is it installed?): {e}"))
}

fn ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn json(args: &[&str]) -> Value {
    let (code, out, err) = nstop(args);
    assert_eq!(code, 0, "nstop {args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("nstop {args:?}: {e}"))
}

/// A busybox image made without a registry (`import` of a rootfs built here), removed with every
/// container of the test's on drop.
struct Image {
    runtime: &'static Runtime,
    tag: String,
    containers: Vec<String>,
}

impl Image {
    fn import(runtime: &'static Runtime) -> Image {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let busybox = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("busybox (busybox-static) for the container's image");
        std::fs::copy(busybox, bin.join("busybox")).unwrap();
        for applet in ["sh", "dd", "sleep", "cat"] {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
        }
        let tar = root.path().join("rootfs.tar");
        ok(
            "tar",
            &[
                "-C",
                root.path().to_str().unwrap(),
                "-cf",
                tar.to_str().unwrap(),
                "bin",
            ],
        );
        let tag = format!("localhost/{}", unique_name());
        ok(runtime.cli, &["import", tar.to_str().unwrap(), &tag]);
        Image {
            runtime,
            tag,
            containers: Vec::new(),
        }
    }

    /// `run --name NAME OPTIONS... IMAGE COMMAND...` with the test's image.
    fn run(&mut self, name: &str, options: &[&str], command: &[&str]) -> Output {
        self.containers.push(name.to_owned());
        let mut args = vec!["run", "--name", name];
        if !options.contains(&"--network") {
            args.extend(["--network", "none"]);
        }
        args.extend_from_slice(options);
        args.push(&self.tag);
        args.extend_from_slice(command);
        run(self.runtime.cli, &args)
    }

    fn inspect(&self, name: &str, format: &str) -> String {
        ok(self.runtime.cli, &["inspect", "--format", format, name])
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        for name in &self.containers {
            let mut args = self.runtime.remove.to_vec();
            args.push(name);
            let _ = run(self.runtime.cli, &args);
        }
        let _ = run(self.runtime.cli, &["rmi", "-f", &self.tag]);
    }
}

/// The cgroup2 directory of a process, from its /proc/PID/cgroup.
fn cgroup_dir(pid: &str) -> (String, PathBuf) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("a cgroup2 line")
        .to_owned();
    let dir = PathBuf::from(format!("/sys/fs/cgroup{path}"));
    (path, dir)
}

fn read_u64(dir: &Path, file: &str) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    text.trim().parse().ok()
}

#[test]
#[ignore = "needs podman under systemd on cgroup2: runs in scripts/realhost.sh"]
fn a_named_podman_container_and_its_oom_kill_are_called_by_name() {
    named_container_and_its_oom_kill(&PODMAN);
}

#[test]
#[ignore = "needs dockerd under systemd on cgroup2: runs in scripts/realhost.sh"]
fn a_named_docker_container_and_its_oom_kill_are_called_by_name() {
    named_container_and_its_oom_kill(&DOCKER);
}

fn named_container_and_its_oom_kill(runtime: &'static Runtime) {
    if !require_root() {
        return;
    }
    let cli = runtime.cli;
    // dockerd may still be starting in a freshly booted guest.
    wait_for(&format!("{cli} to answer ({GUEST_ONLY})"), || {
        run(cli, &["info"]).status.success().then_some(())
    });
    let mut image = Image::import(runtime);

    // A container that stays: nstop cg and ns show it by name, values equal to the kernel's.
    let idle = format!("{}-idle", unique_name());
    let out = image.run(&idle, &["-d", "--memory", "48m"], &["sleep", "600"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = image.inspect(&idle, "{{.Id}}");
    let pid = image.inspect(&idle, "{{.State.Pid}}");
    let (path, dir) = cgroup_dir(&pid);
    assert!(
        path.contains(&id),
        "{cli}'s cgroup {path} names the container"
    );
    let doc = json(&["cg", "--json", "-a"]);
    let row = doc["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["hierarchy"] == 0 && c["path"] == path.as_str())
        .unwrap_or_else(|| panic!("{path} listed"));
    let container = &row["container"];
    assert_eq!(container["runtime"], cli, "{row}");
    assert_eq!(container["id"], id.as_str());
    assert_eq!(container["name"], idle.as_str(), "{row}");
    assert!(
        container["name_source"]
            .as_str()
            .is_some_and(|s| s.contains(runtime.state_file)),
        "where the name came from: {container}"
    );
    let memory = &row["memory"];
    assert_eq!(memory["max"], 48 << 20);
    assert_eq!(read_u64(&dir, "memory.max"), Some(48 << 20));
    for line in std::fs::read_to_string(dir.join("memory.events"))
        .unwrap()
        .lines()
    {
        let (key, value) = line.split_once(' ').unwrap();
        assert_eq!(
            memory["events"][key],
            value.parse::<u64>().unwrap(),
            "{key}"
        );
    }
    assert_eq!(
        row["procs"],
        serde_json::json!([pid.parse::<u64>().unwrap()])
    );
    let (code, table, _) = nstop(&["cg", &path]);
    assert_eq!(code, 0);
    assert!(table.contains(&idle), "the table names it: {table}");
    // Its namespaces, with the container's process as their representative.
    let ns = json(&["ns", "-J", "-p", &pid]);
    let uts = ns["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "uts")
        .expect("its uts namespace");
    assert_eq!(uts["pid"].to_string(), pid);
    assert_eq!(uts["command"], "sleep 600");

    // A container whose PID 1 allocates past its limit: the kernel kills it. podman 4.3 has said
    // OOMKilled=false when PID 1 was the victim; the kernel's report is what counts.
    let hog = format!("{}-hog", unique_name());
    let out = image.run(
        &hog,
        &["--memory", "64m", "--memory-swap", "64m"],
        &["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"],
    );
    assert_eq!(out.status.code(), Some(137), "SIGKILLed: {out:?}");
    let hog_id = image.inspect(&hog, "{{.Id}}");
    let report = wait_for("the kill in the kernel log", || {
        let report = json(&["oom", "--json"]);
        report["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| {
                e["source"] == "kmsg"
                    && e["task_memcg"]
                        .as_str()
                        .is_some_and(|m| m.contains(&hog_id))
            })
            .then_some(report)
    });
    let event = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["source"] == "kmsg"
                && e["task_memcg"]
                    .as_str()
                    .is_some_and(|m| m.contains(&hog_id))
        })
        .unwrap();
    assert_eq!(event["comm"], "dd", "{event}");
    assert_eq!(event["limit_bytes"], 64 << 20, "{event}");
    assert_eq!(event["constraint"], "CONSTRAINT_MEMCG");
    assert!(
        event["oom_memcg"].as_str().unwrap().contains(&hog_id),
        "{event}"
    );
    for workload in ["oom_workload", "task_workload"] {
        let container = &event[workload]["container"];
        assert_eq!(container["runtime"], cli, "{workload}: {event}");
        assert_eq!(container["id"], hog_id.as_str(), "{workload}");
        assert_eq!(container["name"], hog.as_str(), "{workload}: {event}");
    }
    let (_, text, _) = nstop(&["oom"]);
    assert!(
        text.lines()
            .any(|l| l.contains("killed dd") && l.contains(&hog)),
        "the sentence names the container: {text}"
    );

    // The explorer: the running container by name on the Cgroups screen, the kill by name on
    // the OOM screen.
    let tmux = Tmux::start(200, 50);
    tmux.shell(&format!("{}; echo exit=$?", env!("CARGO_BIN_EXE_nstop")));
    tmux.wait("the first frame", |s| {
        s.contains("NPROCS") && s.contains("1 Namespaces")
    });
    tmux.keys(&["2"]);
    let label = format!("{cli} {idle} (");
    tmux.wait("the container by name", |s| s.contains(&label));
    tmux.keys(&["6"]);
    tmux.wait("the kill by the container's name", |s| {
        s.lines().any(|l| l.contains("dd") && l.contains(&hog))
    });
    tmux.keys(&["q"]);
    tmux.wait("nstop's exit status", |s| s.contains("exit=0"));
}

/// `nstop audit` of podman containers the test starts: each weakness is said of the container
/// that has it and not of a default one, with what each option of `podman run` grants.
#[test]
#[ignore = "needs podman under systemd on cgroup2: runs in scripts/realhost.sh"]
fn audit_says_what_each_container_has_beyond_a_default_one() {
    if !require_root() {
        return;
    }
    let mut image = Image::import(&PODMAN);
    // (name suffix, options, the checks and words its findings must have)
    type Variant = (
        &'static str,
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    );
    let variants: [Variant; 6] = [
        (
            "privileged",
            &["--privileged"],
            &[
                ("privileged", "runs privileged"),
                (
                    "core-dump",
                    "can write sysctls at /proc/sys as the host's root",
                ),
            ],
        ),
        (
            "sysadmin",
            &["--cap-add", "SYS_ADMIN"],
            &[("capabilities", "CAP_SYS_ADMIN: can mount")],
        ),
        (
            "noseccomp",
            &["--security-opt", "seccomp=unconfined"],
            &[("seccomp", "no seccomp filter")],
        ),
        (
            "hostroot",
            &["-v", "/:/host"],
            &[
                ("host-mount", "the host's / is mounted writable at /host"),
                // The host's /proc comes along, its sysctls writable.
                (
                    "core-dump",
                    "can write sysctls at /host/proc/sys as the host's root",
                ),
            ],
        ),
        (
            "hostnet",
            &["--network", "host"],
            &[("host-namespace", "the host's network namespace")],
        ),
        (
            "hostpid",
            &["--pid", "host"],
            &[
                ("host-namespace", "the host's pid namespace"),
                ("ptrace", "trace"),
            ],
        ),
    ];
    let base = unique_name();
    let mut started = vec![(format!("{base}-default"), &[][..], &[][..])];
    started.extend(
        variants
            .iter()
            .map(|(suffix, options, said)| (format!("{base}-{suffix}"), *options, *said)),
    );
    let mut audits = Vec::new();
    for (name, options, _) in &started {
        let mut args = vec!["-d"];
        args.extend_from_slice(options);
        let out = image.run(name, &args, &["sleep", "3600"]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pid = image.inspect(name, "{{.State.Pid}}");
        let (_, json, err) = nstop(&["audit", "--json", &pid]);
        let doc: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {err}"));
        audits.push(doc["subjects"][0]["findings"].clone());
    }
    let has =
        |findings: &Value, check: &str, words: &str| {
            findings.as_array().unwrap().iter().any(|f| {
                f["check"] == check && f["what"].as_str().unwrap_or_default().contains(words)
            })
        };
    // The default container is the baseline: nothing above info (podman's masks of
    // /proc/kcore with /dev/null were once said to expose the host's /dev).
    let above_info: Vec<&Value> = audits[0]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .collect();
    assert!(
        above_info.is_empty(),
        "the default container: {above_info:#?}"
    );
    // Its runtime limits its devices with a BPF program on cgroup2, and the audit says so.
    assert!(
        has(&audits[0], "devices", "which devices it may open"),
        "{:#}",
        audits[0]
    );
    for (i, (name, _, said)) in started.iter().enumerate().skip(1) {
        for (check, words) in said.iter() {
            assert!(
                has(&audits[i], check, words),
                "{name}: {words} in {:#}",
                audits[i]
            );
            assert!(
                !has(&audits[0], check, words),
                "the default has {words}: {:#}",
                audits[0]
            );
        }
    }
    // `nstop serve` labels each container's series with its name and runtime, and counts
    // its findings: the privileged one's way out among them.
    let (_serve, addr) = common::serve("1s");
    let (_, text) = common::metrics(&addr, "application/openmetrics-text");
    for (name, ..) in &started {
        let labels = format!(r#"container="{name}",runtime="podman""#);
        assert!(
            text.lines().any(|l| l.starts_with("nstop_cgroup_memory_current_bytes{") && l.contains(&labels)),
            "{labels} in\n{text}"
        );
    }
    let privileged = format!(r#"container="{base}-privileged""#);
    assert!(
        text.lines()
            .any(|l| l.starts_with("nstop_container_isolation_findings{")
                && l.contains(&privileged)
                && l.contains(r#"check="privileged",severity="alert""#)),
        "{text}"
    );
    // The text of all of them, kept for the README's example.
    let (_, text, _) = nstop(&["audit"]);
    if let Some(dir) = std::env::var_os("NSTOP_RESULTS") {
        std::fs::write(Path::new(&dir).join("audit-podman.txt"), &text).unwrap();
    }
    // Every container by its name, from `audit` without a target.
    let (_, all, _) = nstop(&["audit", "--json"]);
    let doc: Value = serde_json::from_str(&all).unwrap();
    for (name, ..) in &started {
        assert!(
            doc["subjects"].as_array().unwrap().iter().any(|s| s["name"]
                .as_str()
                .unwrap_or_default()
                .contains(name.as_str())),
            "{name} in {doc:#}"
        );
    }
}

#[test]
#[ignore = "needs systemd as init: runs in scripts/realhost.sh"]
fn a_systemd_unit_is_named_and_a_limit_on_it_says_how_systemd_would_keep_it() {
    if !require_root() {
        return;
    }
    let unit = format!("{}.service", unique_name());
    let out = run(
        "systemd-run",
        &["--unit", &unit, "-p", "MemoryMax=80M", "sleep", "600"],
    );
    assert!(out.status.success(), "{GUEST_ONLY}: systemd-run: {out:?}");
    struct Stop<'a>(&'a str);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            let _ = run("systemctl", &["stop", self.0]);
        }
    }
    let _stop = Stop(&unit);
    let path = format!("/system.slice/{unit}");
    let dir = PathBuf::from(format!("/sys/fs/cgroup{path}"));
    wait_for("the unit's cgroup", || dir.exists().then_some(()));
    let doc = json(&["cg", "--json", &path]);
    let row = &doc["cgroups"][0];
    assert_eq!(row["path"], path.as_str());
    assert_eq!(row["unit"], unit.as_str());
    assert_eq!(row["memory"]["max"], 80 << 20);
    assert_eq!(read_u64(&dir, "memory.max"), Some(80 << 20));

    // systemd would put its own value back: the change is made, with the lasting way said.
    let (code, out, err) = nstop(&["cg", "set", "--dry-run", &path, "memory.max=96M"]);
    assert_eq!(code, 0, "{err}");
    let said = format!("{out}{err}");
    assert!(
        said.contains(&format!(
            "systemctl set-property --runtime {unit} MemoryMax="
        )),
        "{said}"
    );
    assert_eq!(read_u64(&dir, "memory.max"), Some(80 << 20), "a dry run");
}
