//! Cgroup changes planned from what the user typed: `[controllers:]path` resolved to the
//! directories of the hierarchies it names, every check done before a plan exists (the path's
//! shape, that it exists or not, limits parsed, processes pinned), and the kernel's refusals
//! put in words.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::libc;

use crate::model::cgroup::within;
use crate::model::human_bytes;
use crate::model::sample::HierarchySample;
use crate::ops::limits::{self, Key, Limit};
use crate::ops::process::{self, Pinned};
use crate::ops::{Change, Plan, Refused};
use crate::sys::Roots;
use crate::sys::cgroupfs::subdirectories;
use crate::sys::longpath;
use crate::sys::proc::DIR_PATH;

/// What the commands work on: the hierarchies mounted here, under which roots.
pub struct Host {
    pub roots: Roots,
    pub hierarchies: Vec<HierarchySample>,
    pub cpus: usize,
}

impl Host {
    pub fn read(roots: Roots) -> Host {
        let hierarchies = crate::sys::cgroupfs::mounted_hierarchies(&roots);
        // Online CPUs, not nstop's own affinity or quota: limits are for others.
        // SAFETY: sysconf has no preconditions.
        let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        let cpus = usize::try_from(online).unwrap_or(1).max(1);
        Host {
            roots,
            hierarchies,
            cpus,
        }
    }
}

/// One cgroup in one hierarchy.
#[derive(Clone, Debug)]
pub struct Target<'h> {
    pub hierarchy: &'h HierarchySample,
    /// As /proc/PID/cgroup writes it.
    pub path: String,
    pub dir: PathBuf,
}

impl Target<'_> {
    fn label(&self) -> String {
        format!("{}:{}", self.hierarchy.label(), self.path)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

const SPEC: &str = "accepted: /path (cgroup2), controllers:/path such as memory:/a or memory,pids:/a (v1), cgroup2:/path, *:/path (every hierarchy)";

/// `[controllers:]path` → the controllers named (`None`: cgroup2, or the keys' own) and the
/// path, refused when it is not absolute or could leave its hierarchy.
pub fn parse_spec(spec: &str) -> Result<(Option<Vec<String>>, String), String> {
    let (controllers, path) = match spec.split_once(':') {
        Some((c, p)) if !spec.starts_with('/') => (Some(c), p),
        _ => (None, spec),
    };
    if !path.starts_with('/') {
        return Err(format!(
            "cgroup '{spec}': the path must be absolute ({SPEC})"
        ));
    }
    if path.contains(['\n', '\0']) {
        return Err(format!("cgroup '{spec}': a newline or NUL in the path"));
    }
    if path.split('/').any(|c| c == ".." || c == ".") {
        return Err(format!(
            "cgroup '{spec}': '.' and '..' are refused (a path may not leave its hierarchy)"
        ));
    }
    let path = match path.trim_end_matches('/') {
        "" => "/".to_owned(),
        p => {
            let mut clean = String::new();
            for part in p.split('/').filter(|c| !c.is_empty()) {
                clean.push('/');
                clean.push_str(part);
            }
            clean
        }
    };
    let controllers = controllers.map(|c| {
        c.split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    });
    Ok((controllers, path))
}

impl Host {
    fn cgroup2(&self) -> Option<&HierarchySample> {
        self.hierarchies.iter().find(|h| h.version == 2)
    }

    fn with_controller(&self, controller: &str) -> Option<&HierarchySample> {
        self.hierarchies.iter().find(|h| {
            h.version == 1
                && h.controllers
                    .iter()
                    .any(|c| c == controller || c.strip_prefix("name=") == Some(controller))
        })
    }

    fn known(&self) -> String {
        let names: Vec<String> = self.hierarchies.iter().map(|h| h.label()).collect();
        format!("this host has: {}", names.join(", "))
    }

    /// The hierarchies a spec names; `default` picks them when it names none.
    fn hierarchies<'h>(
        &'h self,
        spec: &str,
        named: &Option<Vec<String>>,
        default: impl Fn() -> Option<&'h HierarchySample>,
    ) -> Result<Vec<&'h HierarchySample>, String> {
        let mut out: Vec<&HierarchySample> = Vec::new();
        match named.as_deref() {
            None | Some([]) => out.extend(default()),
            Some([all]) if all == "*" => out.extend(self.hierarchies.iter()),
            Some(list) => {
                for name in list {
                    let h = if name == "cgroup2" {
                        self.cgroup2()
                    } else {
                        self.with_controller(name)
                    };
                    let h = h.ok_or_else(|| {
                        format!(
                            "cgroup '{spec}': no hierarchy has '{name}' ({})",
                            self.known()
                        )
                    })?;
                    if !out.iter().any(|o| o.id == h.id) {
                        out.push(h);
                    }
                }
            }
        }
        if out.is_empty() {
            return Err(format!(
                "cgroup '{spec}': no cgroup2 hierarchy is mounted: name the v1 controllers ({SPEC}; {})",
                self.known()
            ));
        }
        Ok(out)
    }

    /// Inside a cgroup namespace whose root lies above the mount (`/..`), paths cannot be
    /// mapped to directories here: refused rather than guessed.
    fn resolvable(spec: &str, hierarchies: &[&HierarchySample]) -> Result<(), String> {
        for h in hierarchies {
            if h.root.starts_with("/..") {
                return Err(format!(
                    "cgroup '{spec}': {} is mounted from outside this cgroup namespace ({}): run nstop outside it",
                    h.label(),
                    h.root
                ));
            }
        }
        Ok(())
    }

    fn target<'h>(&self, h: &'h HierarchySample, path: &str) -> Target<'h> {
        // A mount that shows only a subtree (a container's /sys/fs/cgroup) holds the paths
        // below its root; whole components only, so /docker/abc is not /docker/abcdef.
        let root = h.root.trim_end_matches('/');
        let inside = if !root.is_empty() && within(path, root) {
            &path[root.len()..]
        } else {
            path
        };
        Target {
            hierarchy: h,
            path: path.to_owned(),
            dir: self
                .roots
                .resolve(&h.mount)
                .join(inside.trim_start_matches('/')),
        }
    }

    /// Existing cgroups the spec names (cgroup2 by default, else `default`'s pick).
    fn existing<'h>(
        &'h self,
        spec: &str,
        default: impl Fn() -> Option<&'h HierarchySample>,
    ) -> Result<Vec<Target<'h>>, String> {
        let (named, path) = parse_spec(spec)?;
        let hierarchies = self.hierarchies(spec, &named, default)?;
        Host::resolvable(spec, &hierarchies)?;
        let targets: Vec<Target> = hierarchies
            .into_iter()
            .map(|h| self.target(h, &path))
            .collect();
        for t in &targets {
            if !longpath::is_dir(&t.dir) {
                return Err(format!(
                    "cgroup '{spec}': no cgroup {} in {}",
                    t.path,
                    t.hierarchy.label()
                ));
            }
        }
        Ok(targets)
    }
}

fn plan(action: String, changes: Vec<Change>) -> Plan {
    Plan {
        action,
        changes,
        warnings: Vec::new(),
    }
}

/// `cg mk`: mkdir in each hierarchy named; the parent must exist, the cgroup must not.
pub fn mk(host: &Host, spec: &str) -> Result<Plan, String> {
    let (named, path) = parse_spec(spec)?;
    if path == "/" {
        return Err(format!("cgroup '{spec}': the root exists already"));
    }
    let mut changes = Vec::new();
    for h in host.hierarchies(spec, &named, || host.cgroup2())? {
        let t = host.target(h, &path);
        if longpath::exists(&t.dir) {
            return Err(format!("cgroup {} exists already", t.label()));
        }
        if !t.dir.parent().is_some_and(longpath::is_dir) {
            return Err(format!(
                "cgroup {}: its parent does not exist (nstop makes one level at a time)",
                t.label()
            ));
        }
        changes.push(Change::Mkdir { path: t.dir });
    }
    Ok(plan(format!("cg mk {spec}"), changes))
}

/// PIDs in a cgroup and below (cgroup.procs of each directory).
fn members(dir: &Path) -> (Vec<i32>, usize) {
    let mut pids = Vec::new();
    let mut children = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let text = longpath::read_to_string(&d.join("cgroup.procs")).unwrap_or_default();
        pids.extend(text.lines().filter_map(|l| l.parse::<i32>().ok()));
        let Ok(fd) = longpath::open(&d, DIR_PATH) else {
            continue;
        };
        for name in subdirectories(fd.as_fd(), "") {
            if d == dir {
                children += 1;
            }
            stack.push(d.join(name));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    (pids, children)
}

/// `cg rm`: refuses a cgroup with processes (says how many) or child cgroups.
pub fn rm(host: &Host, spec: &str) -> Result<Plan, String> {
    let mut changes = Vec::new();
    for t in host.existing(spec, || host.cgroup2())? {
        if t.path == "/" {
            return Err(format!(
                "cgroup {}: a hierarchy's root cannot be removed",
                t.label()
            ));
        }
        let (pids, children) = members(&t.dir);
        if !pids.is_empty() {
            let shown: Vec<String> = pids.iter().take(10).map(ToString::to_string).collect();
            return Err(format!(
                "cgroup {} is not empty: {} in it or below (PIDs {}{}); move or kill them first",
                t.label(),
                crate::text::count(pids.len(), "process", "processes"),
                shown.join(", "),
                if pids.len() > 10 { ", ..." } else { "" }
            ));
        }
        if children > 0 {
            return Err(format!(
                "cgroup {} has {}: remove them first",
                t.label(),
                crate::text::count(children, "child cgroup", "child cgroups")
            ));
        }
        changes.push(Change::Rmdir { path: t.dir });
    }
    Ok(plan(format!("cg rm {spec}"), changes))
}

/// How a move is written: whole processes, or single threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    Processes,
    Threads,
}

/// `cg move`: each PID (and with `tree` its descendants) pinned, then written to the target's
/// cgroup.procs (threads: cgroup.threads, or v1 tasks) in each hierarchy named.
pub fn move_pids(
    host: &Host,
    pids: &[i32],
    spec: &str,
    granularity: Granularity,
    tree: bool,
) -> Result<Plan, String> {
    let targets = host.existing(spec, || host.cgroup2())?;
    crate::ops::live_processes_only(&host.roots, "cg move")?;
    let mut pinned: Vec<Pinned> = Vec::new();
    for &pid in pids {
        let all = if tree {
            process::with_descendants(pid)
        } else {
            vec![pid]
        };
        let me = std::process::id() as i32;
        for p in all {
            // nstop descends from the shell it was started in: a tree move leaves it out.
            if pinned.iter().any(|q| q.pid == p) || (tree && p == me && p != pid) {
                continue;
            }
            pinned.push(Pinned::pin(p).map_err(|Refused(why)| why)?);
        }
    }
    let mut changes = Vec::new();
    for t in &targets {
        let file = match (granularity, t.hierarchy.version) {
            (Granularity::Processes, _) => "cgroup.procs",
            (Granularity::Threads, 2) => "cgroup.threads",
            (Granularity::Threads, _) => "tasks",
        };
        for p in &pinned {
            changes.push(Change::Move {
                pid: p.pid,
                start_time: p.start_time,
                procs: t.file(file),
            });
        }
    }
    let mut plan = plan(format!("cg move {spec}"), changes);
    plan.warnings.push(
        "memory already used stays charged to the old cgroup; only new allocations are charged to the new one"
            .into(),
    );
    Ok(plan)
}

/// The hierarchy that takes a limit: the one named, else cgroup2 where it has the controller,
/// else the v1 hierarchy of the controller.
fn limit_target<'h>(host: &'h Host, spec: &str, limit: &Limit) -> Result<Target<'h>, String> {
    let controller = limit.key.controller();
    let v1_name = if controller == "io" {
        "blkio"
    } else {
        controller
    };
    let (named, path) = parse_spec(spec)?;
    let h = match named.as_deref() {
        None | Some([]) => host
            .cgroup2()
            .filter(|h| h.controllers.iter().any(|c| c == controller))
            .or_else(|| host.with_controller(v1_name))
            .ok_or_else(|| {
                format!(
                    "{}: no hierarchy has the {controller} controller ({})",
                    limit.key,
                    host.known()
                )
            })?,
        Some(_) => {
            let chosen = host.hierarchies(spec, &named, || None)?;
            *chosen
                .iter()
                .find(|h| {
                    let name = if h.version == 2 { controller } else { v1_name };
                    h.controllers.iter().any(|c| c == name)
                })
                .ok_or_else(|| {
                    format!(
                        "{}: '{spec}' names no hierarchy with the {controller} controller",
                        limit.key
                    )
                })?
        }
    };
    let t = host.target(h, &path);
    if !longpath::is_dir(&t.dir) {
        return Err(format!(
            "cgroup '{spec}': no cgroup {} in {}",
            t.path,
            h.label()
        ));
    }
    Ok(t)
}

/// What the cgroup uses now, when a new memory limit is below it.
fn below_usage(t: &Target, limit: &Limit) -> Option<u64> {
    let limits::Value::Bytes(Some(new)) = limit.value else {
        return None;
    };
    if !matches!(limit.key, Key::MemoryMax | Key::MemoryHigh) {
        return None;
    }
    let usage_file = if t.hierarchy.version == 2 {
        "memory.current"
    } else {
        "memory.usage_in_bytes"
    };
    let usage: u64 = longpath::read_to_string(&t.file(usage_file))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (new < usage).then_some(usage)
}

/// The systemd unit owning a cgroup path (`/system.slice/x.service` → `x.service`), when
/// systemd runs: it rewrites the unit's limits on every reload.
fn systemd_unit(roots: &Roots, path: &str) -> Option<String> {
    if !roots.resolve("/run/systemd/system").is_dir() {
        return None;
    }
    path.rsplit('/')
        .find(|c| {
            [".slice", ".service", ".scope"]
                .iter()
                .any(|s| c.ends_with(s))
        })
        .map(str::to_owned)
}

/// `Property=value` for `systemctl set-property`: its names and units.
fn systemd_setting(limit: &Limit) -> Option<String> {
    let value = match &limit.value {
        limits::Value::Bytes(b) => b.map_or("infinity".to_owned(), |b| b.to_string()),
        limits::Value::Cpu { quota, period } => {
            quota.map_or("".to_owned(), |q| format!("{}%", q * 100 / period))
        }
        limits::Value::Weight(w) => w.to_string(),
        limits::Value::Count(n) => n.map_or("infinity".to_owned(), |n| n.to_string()),
        limits::Value::Io { .. } => return None,
    };
    Some(format!("{}={value}", systemd_property(limit.key)?))
}

fn systemd_property(key: Key) -> Option<&'static str> {
    Some(match key {
        Key::MemoryMax => "MemoryMax",
        Key::MemoryHigh => "MemoryHigh",
        Key::MemoryLow => "MemoryLow",
        Key::MemoryMin => "MemoryMin",
        Key::MemorySwapMax => "MemorySwapMax",
        Key::CpuMax => "CPUQuota",
        Key::CpuWeight => "CPUWeight",
        Key::PidsMax => "TasksMax",
        Key::IoMax => return None,
    })
}

/// `cg set`: every KEY=VALUE parsed and placed before anything is planned.
pub fn set(host: &Host, spec: &str, assignments: &[String]) -> Result<Plan, String> {
    if assignments.is_empty() {
        return Err("cg set: give at least one KEY=VALUE (e.g. memory.max=512M)".into());
    }
    let limits: Vec<Limit> = assignments
        .iter()
        .map(|a| limits::parse(a, host.cpus))
        .collect::<Result<_, _>>()?;
    let mut plan = plan(
        format!("cg set {spec} {}", assignments.join(" ")),
        Vec::new(),
    );
    for (limit, typed) in limits.iter().zip(assignments) {
        let t = limit_target(host, spec, limit)?;
        let writes = if t.hierarchy.version == 2 {
            limit.v2()
        } else {
            limit.v1()?
        };
        for w in writes {
            let path = t.file(w.file);
            if !longpath::is_file(&path) {
                return Err(if t.hierarchy.version == 2 {
                    format!(
                        "{}: {} has no {} file: the {} controller is not enabled in the parent's cgroup.subtree_control",
                        limit.key,
                        t.label(),
                        w.file,
                        limit.key.controller()
                    )
                } else {
                    format!("{}: {} has no {} file", limit.key, t.label(), w.file)
                });
            }
            plan.changes.push(Change::Write {
                path,
                value: w.value,
            });
        }
        if let Some(usage) = below_usage(&t, limit) {
            plan.warnings.push(format!(
                "{typed} is below the {} that {} uses now: the kernel will reclaim, and may OOM-kill its processes",
                human_bytes(usage as f64),
                t.label(),
            ));
        }
        if let (Some(unit), Some(setting)) =
            (systemd_unit(&host.roots, &t.path), systemd_setting(limit))
        {
            plan.warnings.push(format!(
                "{unit} is managed by systemd, which will put its own value back on the next reload: \
                 `systemctl set-property --runtime {unit} {setting}` keeps it until reboot"
            ));
        }
    }
    Ok(plan)
}

/// Freezing or killing a cgroup reaches everything in it and below: refused for a hierarchy's
/// root, nstop's own cgroup (or one above it), and one holding PID 1 or a kernel thread. Else
/// its members, pinned (those that exited since the listing left out).
fn refuse_vital(host: &Host, t: &Target) -> Result<Vec<Pinned>, String> {
    if t.path == "/" {
        return Err(format!("cgroup {}: refusing a hierarchy's root", t.label()));
    }
    let own = std::fs::read_to_string(host.roots.proc.join("self/cgroup")).unwrap_or_default();
    let ours = crate::model::kernel_text::proc_cgroup(&own)
        .into_iter()
        .find(|l| l.hierarchy == t.hierarchy.id)
        .is_some_and(|l| within(l.path, &t.path));
    if ours {
        return Err(format!("cgroup {}: nstop itself runs in it", t.label()));
    }
    let mut pinned = Vec::new();
    for pid in members(&t.dir).0 {
        if pid == 1 {
            return Err(format!("cgroup {}: PID 1 (init) is in it", t.label()));
        }
        let Ok(p) = Pinned::open(pid) else {
            continue;
        };
        if p.kernel_thread {
            return Err(format!(
                "cgroup {}: kernel thread {pid} is in it",
                t.label()
            ));
        }
        pinned.push(p);
    }
    Ok(pinned)
}

/// The v1 freezer's file and the state written to freeze or thaw.
fn v1_freezer_state(frozen: bool) -> (&'static str, &'static str) {
    ("freezer.state", if frozen { "FROZEN" } else { "THAWED" })
}

/// `cg freeze` / `cg thaw`: cgroup2's cgroup.freeze, or (`freezer:/path`) the v1 freezer's
/// freezer.state.
pub fn freeze(host: &Host, spec: &str, frozen: bool) -> Result<Plan, String> {
    let mut changes = Vec::new();
    for t in host.existing(spec, || host.cgroup2())? {
        // Thawing is always safe; freezing init or ourselves is not.
        if frozen {
            refuse_vital(host, &t)?;
        }
        let (file, value) = match t.hierarchy.version {
            2 => ("cgroup.freeze", if frozen { "1" } else { "0" }),
            _ if t.hierarchy.controllers.iter().any(|c| c == "freezer") => v1_freezer_state(frozen),
            _ => {
                return Err(format!(
                    "cgroup {}: freezing needs cgroup2 or the v1 freezer hierarchy",
                    t.label()
                ));
            }
        };
        changes.push(Change::Write {
            path: t.file(file),
            value: value.to_owned(),
        });
    }
    let verb = if frozen { "freeze" } else { "thaw" };
    Ok(plan(format!("cg {verb} {spec}"), changes))
}

/// `cg freeze --create-freezer`: a v1 cgroup of a hierarchy without the freezer (memory:/x)
/// is frozen through a new freezer:/x, made with its missing parents; the cgroup's processes
/// (pinned) move into it, and stay there once thawed.
pub fn freeze_in_new_freezer(host: &Host, spec: &str) -> Result<Plan, String> {
    let sources = host.existing(spec, || host.cgroup2())?;
    crate::ops::live_processes_only(&host.roots, "cg freeze --create-freezer")?;
    let freezer = host.with_controller("freezer").ok_or_else(|| {
        format!(
            "cgroup '{spec}': no v1 freezer hierarchy is mounted ({})",
            host.known()
        )
    })?;
    let [source] = &sources[..] else {
        return Err(format!(
            "cgroup '{spec}': name one cgroup whose processes to freeze"
        ));
    };
    if source.hierarchy.version == 2 || source.hierarchy.id == freezer.id {
        return Err(format!(
            "cgroup {}: it can be frozen itself: run `cg freeze` without --create-freezer",
            source.label()
        ));
    }
    let target = host.target(freezer, &source.path);
    if longpath::exists(&target.dir) {
        return Err(format!(
            "cgroup {} exists already: freeze it with `cg freeze {}`",
            target.label(),
            target.label()
        ));
    }
    let members = refuse_vital(host, source)?;
    if members.is_empty() {
        return Err(format!("cgroup {}: no process to freeze", source.label()));
    }
    // The missing levels, outermost first.
    let mut missing = Vec::new();
    let mut dir = target.dir.as_path();
    while !longpath::exists(dir) {
        missing.push(Change::Mkdir {
            path: dir.to_path_buf(),
        });
        dir = dir.parent().ok_or("a freezer cgroup has no parent")?;
    }
    missing.reverse();
    let missing_parents = missing.len() - 1;
    let mut changes = missing;
    changes.extend(members.iter().map(|p| Change::Move {
        pid: p.pid,
        start_time: p.start_time,
        procs: target.file("cgroup.procs"),
    }));
    let (file, value) = v1_freezer_state(true);
    changes.push(Change::Write {
        path: target.file(file),
        value: value.into(),
    });
    let mut plan = plan(format!("cg freeze --create-freezer {spec}"), changes);
    let (moved, verb) = match members.len() {
        1 => ("its process".to_owned(), "leaves its freezer cgroup"),
        n => (format!("its {n} processes"), "leave their freezer cgroups"),
    };
    let stay = if members.len() == 1 { "stays" } else { "stay" };
    plan.warnings.push(format!(
        "{moved} {verb} for the new {}, and {stay} there when thawed",
        target.label()
    ));
    match missing_parents {
        0 => {}
        1 => plan.warnings.push(
            "the missing freezer cgroup above it is made too, and stays when it is removed".into(),
        ),
        n => plan.warnings.push(format!(
            "the {n} missing freezer cgroups above it are made too, and stay when it is removed"
        )),
    }
    Ok(plan)
}

/// `cg kill`: cgroup2's cgroup.kill for SIGKILL; otherwise the signal to every process in it
/// and below, each pinned.
pub fn kill(host: &Host, spec: &str, signal: i32) -> Result<Plan, String> {
    let targets = host.existing(spec, || host.cgroup2())?;
    crate::ops::live_processes_only(&host.roots, "cg kill")?;
    let mut changes = Vec::new();
    for t in targets {
        let members = refuse_vital(host, &t)?;
        let kill_file = t.file("cgroup.kill");
        if signal == libc::SIGKILL && t.hierarchy.version == 2 && longpath::is_file(&kill_file) {
            changes.push(Change::Write {
                path: kill_file,
                value: "1".into(),
            });
            continue;
        }
        changes.extend(members.into_iter().map(|p| Change::Signal {
            pid: p.pid,
            start_time: p.start_time,
            signal,
        }));
    }
    if changes.is_empty() {
        return Err(format!("cgroup '{spec}': no process to signal"));
    }
    Ok(plan(format!("cg kill {spec}"), changes))
}

/// `kill [-s SIG] PID...`: each pinned now.
pub fn kill_pids(pids: &[i32], signal: i32) -> Result<Plan, String> {
    let mut changes = Vec::new();
    for &pid in pids {
        let p = Pinned::pin(pid).map_err(|Refused(why)| why)?;
        changes.push(Change::Signal {
            pid,
            start_time: p.start_time,
            signal,
        });
    }
    let mut plan = plan(
        format!("kill -s {} {pids:?}", process::signal_name(signal)),
        changes,
    );
    plan.warnings = (pids.iter())
        .filter_map(|&pid| process::init_note(pid, signal))
        .collect();
    Ok(plan)
}

/// `cg exec`: nstop writes 0 (itself) to the cgroup.procs of each cgroup named, then becomes
/// the command.
pub fn exec(host: &Host, spec: &str) -> Result<Plan, String> {
    let targets = host.existing(spec, || host.cgroup2())?;
    crate::ops::live_processes_only(&host.roots, "cg exec")?;
    let changes = targets
        .into_iter()
        .map(|t| Change::Write {
            path: t.file("cgroup.procs"),
            value: "0".into(),
        })
        .collect();
    Ok(plan(format!("cg exec {spec}"), changes))
}

/// `enter --join-cgroup`: nstop writes 0 (itself) to the cgroup.procs of each of `pid`'s
/// cgroups, each hierarchy's own path.
pub fn join(host: &Host, pid: i32) -> Result<Plan, String> {
    let text = std::fs::read_to_string(host.roots.proc.join(format!("{pid}/cgroup")))
        .map_err(|e| format!("PID {pid}'s cgroups: {e}"))?;
    let mut plan = plan(format!("join the cgroups of {pid}"), Vec::new());
    for line in crate::model::kernel_text::proc_cgroup(&text) {
        let Some(h) = host.hierarchies.iter().find(|h| h.id == line.hierarchy) else {
            continue;
        };
        let name = if h.version == 2 {
            "cgroup2"
        } else {
            h.controllers
                .first()
                .map_or("", |c| c.trim_start_matches("name="))
        };
        // The kernel cuts a path at 4095 bytes: the cut one may name another cgroup.
        if line.path.len() >= crate::sys::cgroupfs::PROC_CGROUP_PATH_CUT {
            return Err(format!(
                "PID {pid}'s cgroup in {} is nested deeper than /proc/PID/cgroup shows (4095 \
                 bytes): join it with `nstop cg move` and its whole path",
                h.label()
            ));
        }
        // A path above our cgroup namespace (`/..`) cannot be joined from here.
        if let Ok(p) = exec(host, &format!("{name}:{}", line.path)) {
            plan.changes.extend(p.changes);
        }
    }
    Ok(plan)
}

/// The kernel's refusal of `change`, in words.
pub fn explain(change: &Change, e: &std::io::Error) -> String {
    let errno = e.raw_os_error().unwrap_or(0);
    let (verb, path) = match change {
        Change::Mkdir { path } => ("mkdir", path),
        Change::Rmdir { path } => ("rmdir", path),
        Change::Write { path, .. } | Change::Move { procs: path, .. } => ("write", path),
        Change::Signal { pid, .. } | Change::Setns { pid, .. } => {
            return format!("PID {pid}: {e}");
        }
        Change::Unshare { .. } => return format!("unshare: {e}"),
        Change::SetnsFile { ns, .. } => return format!("{}:[{}]: {e}", ns.kind, ns.ino),
    };
    let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let value = match change {
        Change::Write { value, .. } => value.clone(),
        Change::Move { pid, .. } => pid.to_string(),
        _ => String::new(),
    };
    let at = path.display();
    match (verb, errno) {
        (_, libc::EACCES | libc::EPERM) => format!(
            "{verb} {at}: permission denied: needs root (CAP_SYS_ADMIN), or a cgroup delegated to this user"
        ),
        ("mkdir", libc::EEXIST) => format!("{at} exists already"),
        ("rmdir", libc::EBUSY | libc::ENOTEMPTY) => {
            format!("{at} is not empty: processes or child cgroups were added meanwhile")
        }
        (_, libc::ENOENT)
            if matches!(file, "cgroup.procs" | "cgroup.threads" | "tasks") || verb != "write" =>
        {
            format!("{at} no longer exists")
        }
        ("write", libc::ENOENT) => format!(
            "{at} does not exist: the controller is not enabled in the parent's cgroup.subtree_control"
        ),
        ("write", libc::ELOOP) => format!("{at} is a symlink: refused"),
        ("write", libc::ESRCH) => format!("PID {value} has exited"),
        ("write", libc::EBUSY)
            if file == "memory.limit_in_bytes" || file == "memory.memsw.limit_in_bytes" =>
        {
            format!(
                "{file}: the limit {value} is below current usage, and the kernel could not reclaim enough"
            )
        }
        ("write", libc::EBUSY) if file.starts_with("cgroup.") => format!(
            "{at}: cgroup2 keeps processes only in leaf cgroups (this one has controllers enabled for its children)"
        ),
        ("write", libc::EOPNOTSUPP) => format!("{at}: not possible in a threaded cgroup"),
        ("write", libc::ENODEV) => format!("{file} \"{value}\": no such block device"),
        ("write", libc::EINVAL) => {
            format!("the kernel refused \"{value}\" for {at} (invalid value)")
        }
        _ => format!("{verb} {at}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_checked_before_anything_is_read() {
        assert_eq!(parse_spec("/a/b/").unwrap(), (None, "/a/b".to_owned()));
        assert_eq!(
            parse_spec("memory,pids:/a//b").unwrap(),
            (
                Some(vec!["memory".into(), "pids".into()]),
                "/a/b".to_owned()
            )
        );
        assert_eq!(parse_spec("/").unwrap().1, "/");
        for bad in ["a/b", "memory:a", "/a/../b", "/a/./b", "/a\nb", "/a\0b"] {
            assert!(parse_spec(bad).is_err(), "{bad:?}");
        }
        // A unit name with ':' after an absolute path is a path.
        assert_eq!(parse_spec("/a:b").unwrap().1, "/a:b");
    }
}
