//! How isolated a container or a process is: each wall that is missing or weaker than a
//! default container's is a finding, a sentence with its evidence, worst first. The baseline
//! is docker's default container (podman's default grants less): its own namespaces except
//! user, docker's 14 capabilities, a seccomp filter, its own root.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Model;
use crate::model::cgroup::Cgroup;
use crate::model::process::Process;
use crate::model::sample::NsType;
use crate::model::security::{self, Seccomp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// As a default container has it, or of no consequence alone.
    Info,
    /// Weaker than the default.
    Warn,
    /// A way out: the host's view, or power over it.
    Alert,
}

impl Severity {
    /// How the audit and the explorer mark a finding.
    pub fn mark(self) -> &'static str {
        match self {
            Severity::Alert => "ALERT",
            Severity::Warn => "WARN",
            Severity::Info => "info",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// What was checked, stable for scripts: `host-namespace`, `ptrace`, `capabilities`,
    /// `privileged`, `seccomp`, `no-new-privs`, `lsm`, `root-dir`, `root-user`, `host-mount`,
    /// `core-dump`, `devices`.
    pub check: &'static str,
    pub what: String,
    pub evidence: String,
}

/// Docker's default capabilities (moby's `DefaultCapabilities`); podman's are a subset.
const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Capabilities that reach past a container in the host's user namespace, and how.
const ESCAPES: [(&str, &str); 9] = [
    ("CAP_SYS_ADMIN", "can mount, can escape"),
    ("CAP_SYS_MODULE", "can load kernel modules"),
    (
        "CAP_SYS_PTRACE",
        "can trace and inject into processes it can see",
    ),
    ("CAP_SYS_RAWIO", "can reach devices and memory directly"),
    ("CAP_DAC_READ_SEARCH", "can open host files by handle"),
    ("CAP_BPF", "can load BPF programs"),
    ("CAP_SYS_BOOT", "can reboot the host"),
    ("CAP_MAC_ADMIN", "can change the LSM policy"),
    ("CAP_NET_ADMIN", "can reconfigure the network it sees"),
];

/// A namespace type as a sentence names it.
fn spelled(kind: NsType) -> &'static str {
    match kind {
        NsType::Net => "network",
        NsType::Mnt => "mount",
        NsType::Ipc => "IPC",
        NsType::Uts => "UTS",
        other => other.name(),
    }
}

/// What the host's namespaces mean to a container that shares them.
fn shared_namespace(kind: NsType) -> (Severity, &'static str) {
    match kind {
        NsType::Pid => (Severity::Alert, "sees and can signal every host process"),
        NsType::Net => (Severity::Alert, "uses the host's interfaces and ports"),
        NsType::Mnt => (Severity::Alert, "sees the host's mounts"),
        NsType::Ipc => (
            Severity::Warn,
            "shares the host's shared memory and semaphores",
        ),
        NsType::Uts => (Severity::Warn, "can set the host's hostname"),
        // A default (rootful) container is in the host's user and, on v1, cgroup namespace.
        NsType::User => (Severity::Info, "its root is the host's root"),
        NsType::Cgroup => (Severity::Info, "sees the host's cgroup paths"),
        NsType::Time => (Severity::Info, "shares the host's clocks"),
    }
}

/// The cgroup of the recognised container a process is in.
pub fn container_cgroup<'m>(model: &'m Model, p: &Process) -> Option<&'m Cgroup> {
    p.cgroups.iter().find_map(|pc| {
        let c = model.cgroup(pc.hierarchy, &pc.path)?;
        c.workload.container.is_some().then_some(c)
    })
}

/// Every recognised container with its processes, by hierarchy and path.
pub fn containers(model: &Model) -> Vec<(&Cgroup, Vec<&Process>)> {
    let mut found: BTreeMap<(u32, &str), (&Cgroup, Vec<&Process>)> = BTreeMap::new();
    for p in &model.processes {
        if let Some(c) = container_cgroup(model, p) {
            let entry = found.entry((c.hierarchy, c.path.as_str()));
            entry.or_insert_with(|| (c, Vec::new())).1.push(p);
        }
    }
    found.into_values().collect()
}

/// Held in something: a recognised container, or a namespace of its own of a kind that
/// walls it in (pid, mount, network, IPC, UTS, user).
pub fn contained(model: &Model, p: &Process) -> bool {
    let host = model.host_namespaces();
    let walled = [
        NsType::Pid,
        NsType::Mnt,
        NsType::Net,
        NsType::Ipc,
        NsType::Uts,
        NsType::User,
    ];
    let own = |kind| matches!(p.namespaces.get(&kind), Some(ino) if host.get(&kind) != Some(ino));
    walled.into_iter().any(own) || container_cgroup(model, p).is_some()
}

/// A process in a word, as the Processes screen shows it: `host` where it is not contained,
/// else by its worst weakness: `ok` (as a default container), `weak`, `open` (a way out).
pub fn verdict(model: &Model, p: &Process) -> (&'static str, Option<Severity>) {
    if !contained(model, p) {
        return ("host", None);
    }
    // Only the severities: the sentences are not written for each row and sort.
    let worst = weaknesses(model, &[p])
        .iter()
        .map(|(w, _)| w.severity())
        .max();
    match worst {
        Some(Severity::Alert) => ("open", worst),
        Some(Severity::Warn) => ("weak", worst),
        _ => ("ok", worst),
    }
}

/// What walls a unit off besides its namespaces and credentials, read through one of its
/// processes while it runs (a recording does not hold them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Walls {
    /// `None` when its mountinfo was unreadable.
    pub mounts: Option<MountWalls>,
    /// Its v1 devices cgroup's allow list, where that hierarchy is mounted.
    pub devices_list: Option<String>,
    /// How many device programs its cgroup2 cgroup has, where no v1 devices hierarchy is.
    pub device_programs: Option<u32>,
}

/// What a mount namespace shows of the host's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MountWalls {
    pub host: Vec<HostMount>,
    /// A sysctl directory it can write through (a proc mount no read-only bind covers).
    pub writable_sysctls: Option<String>,
}

/// The findings of processes that form one unit (a container, or a process judged as one),
/// worst first: their namespaces and credentials, and the walls around them once read.
pub fn unit_findings(model: &Model, processes: &[&Process], walls: Option<&Walls>) -> Vec<Finding> {
    let mut findings: Vec<Finding> = weaknesses(model, processes)
        .iter()
        .map(|(w, p)| w.finding(p))
        .collect();
    let system = model.host.system.as_ref();
    let core_pattern = system.and_then(|s| s.core_pattern.as_deref());
    if let Some(walls) = walls {
        if let Some(mounts) = &walls.mounts {
            findings.extend(mount_findings(&mounts.host));
            if let Some(dir) = &mounts.writable_sysctls {
                findings.extend(sysctl_writers(model, processes, dir, core_pattern));
            }
        }
        if let Some(list) = &walls.devices_list {
            findings.extend(devices_findings(list));
        }
        if let Some(programs) = walls.device_programs {
            findings.extend(device_program_findings(programs));
        }
    }
    let piped = core_pattern.filter(|p| p.starts_with('|'));
    if let Some(pattern) = piped.filter(|_| processes.iter().any(|p| contained(model, p))) {
        findings.push(Finding {
            severity: Severity::Info,
            check: "core-dump",
            what: "a crash is handed to a program on the host: its memory leaves the container"
                .into(),
            evidence: format!("kernel.core_pattern = {}", crate::text::printable(pattern)),
        });
    }
    sorted(findings)
}

/// Host root writing a writable sysctl directory: kernel.core_pattern set there makes the kernel run
/// a program of its choosing as root on the host at the next crash.
fn sysctl_writers(
    model: &Model,
    processes: &[&Process],
    dir: &str,
    core_pattern: Option<&str>,
) -> Option<Finding> {
    let writer = processes.iter().find(|p| {
        let root = p.security.as_ref().is_some_and(|s| s.uid == 0);
        root && in_host_user_ns(model, p)
    })?;
    Some(Finding {
        severity: Severity::Alert,
        check: "core-dump",
        what: format!(
            "can write sysctls at {} as the host's root: a kernel.core_pattern set there runs its program on the host at the next crash",
            crate::text::printable(dir)
        ),
        evidence: format!(
            "PID {} {}: proc {} (writable); kernel.core_pattern = {}",
            writer.pid,
            crate::text::printable(&writer.comm),
            crate::text::printable(dir),
            crate::text::printable(core_pattern.unwrap_or("unreadable"))
        ),
    })
}

/// Whether its user namespace is the host's. An unreadable link counts as the host's: the
/// audit assumes the worst it cannot rule out.
fn in_host_user_ns(model: &Model, p: &Process) -> bool {
    match p.namespaces.get(&NsType::User) {
        Some(own) => model.host_namespaces().get(&NsType::User) == Some(own),
        None => true,
    }
}

/// What is weaker than a default container, before it is put into words.
enum Weakness<'p> {
    HostNamespace(NsType, u64),
    /// In the host's PID namespace, where yama's scope (`None` without yama) decides whom it
    /// may trace.
    HostPtrace(Option<u8>),
    /// Every capability in the host's user namespace, no seccomp, no LSM confinement.
    Privileged,
    /// Effective capabilities beyond a default container's, in the host's user namespace
    /// or only its own.
    Capabilities {
        extra: u64,
        host_user_ns: bool,
    },
    NoSeccomp,
    Unconfined(&'p str),
    HostRoot,
    NoNewPrivsOff,
    RootNotRemapped,
}

/// Each weakness of processes that form one container, with the process that has it: one
/// that joined the host's namespace (nsenter) or kept more capabilities is the weak point.
fn weaknesses<'p>(model: &Model, processes: &[&'p Process]) -> Vec<(Weakness<'p>, &'p Process)> {
    let host = model.host_namespaces();
    let mut found = Vec::new();
    for kind in NsType::ALL {
        let Some(&ino) = host.get(&kind) else {
            continue;
        };
        if let Some(p) = processes
            .iter()
            .find(|p| p.namespaces.get(&kind) == Some(&ino))
        {
            found.push((Weakness::HostNamespace(kind, ino), *p));
            if kind == NsType::Pid {
                let scope = model.host.system.as_ref().and_then(|s| s.ptrace_scope);
                found.push((Weakness::HostPtrace(scope), *p));
            }
        }
    }
    for &p in processes {
        let Some(s) = &p.security else {
            continue;
        };
        let in_host_user_ns = in_host_user_ns(model, p);
        let unconfined = s.lsm_confined() == Some(false);
        let no_seccomp = s.seccomp == Some(Seccomp::Disabled);
        let full = security::is_full(s.caps.effective);
        let mut add = |w| found.push((w, p));
        if full && in_host_user_ns && no_seccomp && (unconfined || s.lsm.is_none()) {
            add(Weakness::Privileged);
        }
        let extra = s.caps.effective & !default_caps();
        if extra != 0 {
            add(Weakness::Capabilities {
                extra,
                host_user_ns: in_host_user_ns,
            });
        }
        if no_seccomp {
            add(Weakness::NoSeccomp);
        }
        if unconfined {
            add(Weakness::Unconfined(s.lsm.as_deref().unwrap_or_default()));
        }
        if s.host_root == Some(true) {
            add(Weakness::HostRoot);
        }
        if !s.no_new_privs {
            add(Weakness::NoNewPrivsOff);
        }
        if in_host_user_ns && s.uid == 0 {
            add(Weakness::RootNotRemapped);
        }
    }
    found
}

/// The mask of a list of capability names.
fn mask_of(names: &[&str]) -> u64 {
    names
        .iter()
        .filter_map(|n| n.parse::<caps::Capability>().ok())
        .fold(0, |m, c| m | c.bitmask())
}

/// Docker's default capabilities as a mask, made once.
fn default_caps() -> u64 {
    static MASK: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *MASK.get_or_init(|| mask_of(&DEFAULT_CAPS))
}

impl Weakness<'_> {
    /// The escape-capable capabilities among `extra`, with what each allows.
    fn escapes(extra: u64) -> impl Iterator<Item = &'static (&'static str, &'static str)> {
        ESCAPES
            .iter()
            .filter(move |(cap, _)| mask_of(&[cap]) & extra != 0)
    }

    fn severity(&self) -> Severity {
        match self {
            Weakness::HostNamespace(kind, _) => shared_namespace(*kind).0,
            Weakness::HostPtrace(None | Some(0)) => Severity::Warn,
            Weakness::HostPtrace(_) => Severity::Info,
            Weakness::Privileged | Weakness::HostRoot => Severity::Alert,
            Weakness::Capabilities {
                host_user_ns: false,
                ..
            } => Severity::Info,
            Weakness::Capabilities { extra, .. } => match Self::escapes(*extra).next() {
                Some(_) => Severity::Alert,
                None => Severity::Warn,
            },
            Weakness::NoSeccomp | Weakness::Unconfined(_) => Severity::Warn,
            Weakness::NoNewPrivsOff | Weakness::RootNotRemapped => Severity::Info,
        }
    }

    /// The weakness in words, with its evidence.
    fn finding(&self, p: &Process) -> Finding {
        let who = format!("PID {} {}", p.pid, crate::text::printable(&p.comm));
        let (check, what, evidence) = match self {
            Weakness::HostNamespace(kind, ino) => (
                "host-namespace",
                format!(
                    "shares the host's {} namespace: {}",
                    spelled(*kind),
                    shared_namespace(*kind).1
                ),
                format!("{kind}:[{ino}] (PID {})", p.pid),
            ),
            Weakness::HostPtrace(scope) => {
                let rule = crate::model::host::ptrace_rule(*scope);
                let what = format!("traces and is traced among the host's processes by yama's rule: {rule}");
                let scope = scope.map_or("not set (no yama)".into(), |s| s.to_string());
                let uid = p.security.as_ref().map_or(p.uid, |s| s.uid);
                (
                    "ptrace",
                    what,
                    format!("{who} as uid {uid}; kernel.yama.ptrace_scope = {scope}"),
                )
            }
            Weakness::Privileged => (
                "privileged",
                "runs privileged: every capability in the host's user namespace, no seccomp, no LSM confinement".into(),
                who,
            ),
            Weakness::Capabilities {
                extra,
                host_user_ns,
            } => {
                let whose = match host_user_ns {
                    true => "the host's user namespace",
                    false => "its own user namespace only",
                };
                let effective = p.security.as_ref().map_or(0, |s| s.caps.effective);
                let what = match security::is_full(effective) {
                    true => format!("has every capability in {whose}"),
                    false => format!(
                        "has {} beyond a default container's in {whose}",
                        crate::text::count(extra.count_ones(), "capability", "capabilities")
                    ),
                };
                let escapes: Vec<String> = Self::escapes(*extra)
                    .map(|(cap, means)| format!("{cap}: {means}"))
                    .collect();
                let means = match *host_user_ns && !escapes.is_empty() {
                    true => format!(" ({})", escapes.join("; ")),
                    false => String::new(),
                };
                let names = security::names(*extra).join(" ");
                ("capabilities", format!("{what}{means}"), format!("{who}: {names}"))
            }
            Weakness::NoSeccomp => (
                "seccomp",
                "no seccomp filter: every system call is open to it".into(),
                who,
            ),
            Weakness::Unconfined(label) => {
                ("lsm", format!("no LSM confinement: {label}"), who)
            }
            Weakness::HostRoot => ("root-dir", "its root directory is the host's /".into(), who),
            Weakness::NoNewPrivsOff => (
                "no-new-privs",
                "no_new_privs is off: a setuid program can raise its privileges".into(),
                who,
            ),
            Weakness::RootNotRemapped => (
                "root-user",
                "runs as root, and its root is the host's (no user namespace remapping)".into(),
                who,
            ),
        };
        Finding {
            severity: self.severity(),
            check,
            what,
            evidence,
        }
    }
}

/// A mount a container sees that shows part of the host: the host path, whether writable.
#[derive(Clone, Debug, PartialEq)]
pub struct HostMount {
    pub host_path: String,
    pub at: String,
    pub writable: bool,
    pub fstype: String,
}

/// Host paths that are a way out when mounted into a container.
const SENSITIVE: [&str; 11] = [
    "/",
    "/etc",
    "/root",
    "/home",
    "/boot",
    "/usr",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/podman/podman.sock",
    "/var/log",
];

/// Device nodes any container may have.
const HARMLESS_DEVICES: [&str; 7] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
];

/// The findings of a container's mounts; writable cgroup mounts (one per v1 hierarchy) are
/// said once.
fn mount_findings(mounts: &[HostMount]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut cgroups_writable = Vec::new();
    for m in mounts {
        let mode = if m.writable { "writable" } else { "read-only" };
        let (severity, what) = match m.fstype.as_str() {
            "devtmpfs" if m.host_path == "/dev" => (
                Severity::Alert,
                format!("the host's /dev is mounted at {}", m.at),
            ),
            // Runtimes mask /proc/kcore and the like with /dev/null: that is a wall, not a
            // way out. Another device node is one.
            "devtmpfs" if HARMLESS_DEVICES.contains(&m.host_path.as_str()) => continue,
            "devtmpfs" => (
                Severity::Warn,
                format!("the host's device {} is mounted at {}", m.host_path, m.at),
            ),
            "cgroup" | "cgroup2" if m.writable => {
                cgroups_writable.push(m.at.as_str());
                continue;
            }
            "sysfs" if m.writable => (
                Severity::Warn,
                format!("sysfs is mounted writable at {}", m.at),
            ),
            _ if is_sensitive(&m.host_path) => {
                let severity = if m.writable || m.host_path.ends_with(".sock") {
                    Severity::Alert
                } else {
                    Severity::Warn
                };
                let what = format!("the host's {} is mounted {mode} at {}", m.host_path, m.at);
                (severity, what)
            }
            _ => continue,
        };
        findings.push(Finding {
            severity,
            check: "host-mount",
            what,
            evidence: format!("{} {} ({mode})", m.fstype, m.at),
        });
    }
    if !cgroups_writable.is_empty() {
        findings.push(Finding {
            severity: Severity::Warn,
            check: "host-mount",
            what: "the cgroup filesystem is mounted writable: it can change its own limits".into(),
            evidence: cgroups_writable.join(" "),
        });
    }
    findings
}

fn is_sensitive(host_path: &str) -> bool {
    SENSITIVE
        .iter()
        .any(|s| host_path == *s || (*s != "/" && host_path.starts_with(&format!("{s}/"))))
}

/// What a v1 devices cgroup's allow list lets it open: everything, with `a *:* rwm`.
fn devices_findings(devices_list: &str) -> Vec<Finding> {
    let all = devices_list.lines().any(|l| l.trim() == "a *:* rwm");
    all.then(|| Finding {
        severity: Severity::Alert,
        check: "devices",
        what: "every device is allowed: it can open the host's disks and memory".into(),
        evidence: "devices.list: a *:* rwm".into(),
    })
    .into_iter()
    .collect()
}

/// What cgroup2's device programs say of a container: none filter its devices, or how many do.
fn device_program_findings(programs: u32) -> Vec<Finding> {
    let (severity, what) = match programs {
        0 => (
            Severity::Warn,
            "no device program is attached: cgroup2 does not limit which devices it may open"
                .to_owned(),
        ),
        1 => (
            Severity::Info,
            "a device program decides which devices it may open".to_owned(),
        ),
        n => (
            Severity::Info,
            format!("{n} device programs decide which devices it may open"),
        ),
    };
    vec![Finding {
        severity,
        check: "devices",
        what,
        evidence: format!("BPF_CGROUP_DEVICE programs, its ancestors' included: {programs}"),
    }]
}

/// Worst first, each finding once (several processes of a container say the same).
pub fn sorted(mut findings: Vec<Finding>) -> Vec<Finding> {
    let mut seen = BTreeMap::new();
    findings.retain(|f| seen.insert((f.check, f.what.clone()), ()).is_none());
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(host_path: &str, at: &str, writable: bool, fstype: &str) -> HostMount {
        HostMount {
            host_path: host_path.into(),
            at: at.into(),
            writable,
            fstype: fstype.into(),
        }
    }

    /// The mounts podman gave its default and `-v /:/host` containers in the real-host guest.
    #[test]
    fn masks_are_walls_and_the_host_root_is_a_way_out() {
        let default = [
            mount("/dev/null", "/proc/kcore", false, "devtmpfs"),
            mount("/dev/null", "/proc/keys", false, "devtmpfs"),
        ];
        assert_eq!(mount_findings(&default), vec![]);
        let host_root = [
            mount("/", "/host", true, "ext4"),
            mount("/dev", "/host/dev", true, "devtmpfs"),
            mount("/dev/sda", "/disk", true, "devtmpfs"),
        ];
        let found: Vec<(Severity, String)> = mount_findings(&host_root)
            .into_iter()
            .map(|f| (f.severity, f.what))
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    Severity::Alert,
                    "the host's / is mounted writable at /host".to_owned()
                ),
                (
                    Severity::Alert,
                    "the host's /dev is mounted at /host/dev".to_owned()
                ),
                (
                    Severity::Warn,
                    "the host's device /dev/sda is mounted at /disk".to_owned()
                ),
            ]
        );
    }
}
