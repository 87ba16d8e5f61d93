//! Raw values of one collection tick, as `sys/` read them: nothing joined or derived here.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The eight namespace kinds, in the order of `/proc/PID/ns` link names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NsType {
    Cgroup,
    Ipc,
    Mnt,
    Net,
    Pid,
    Time,
    User,
    Uts,
}

impl NsType {
    pub const ALL: [NsType; 8] = [
        NsType::Cgroup,
        NsType::Ipc,
        NsType::Mnt,
        NsType::Net,
        NsType::Pid,
        NsType::Time,
        NsType::User,
        NsType::Uts,
    ];

    /// The name used in `/proc/PID/ns/<name>`, in link text and by lsns.
    pub fn name(self) -> &'static str {
        match self {
            NsType::Cgroup => "cgroup",
            NsType::Ipc => "ipc",
            NsType::Mnt => "mnt",
            NsType::Net => "net",
            NsType::Pid => "pid",
            NsType::Time => "time",
            NsType::User => "user",
            NsType::Uts => "uts",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for NsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NsType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NsType::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = NsType::ALL.iter().map(|t| t.name()).collect();
                format!(
                    "unknown namespace type '{s}' (accepted: {})",
                    names.join(", ")
                )
            })
    }
}

/// One namespace: its kind and nsfs inode number (what link text `net:[4026531833]` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NsRef {
    pub kind: NsType,
    pub ino: u64,
}

/// The namespaces one process or thread is in, indexed by `NsType::index`; `None` where the link
/// could not be read.
pub type NsLinks = [Option<u64>; 8];

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcSample {
    pub pid: i32,
    pub ppid: i32,
    /// Owner of /proc/PID (what lsns calls the process's UID).
    pub uid: u32,
    pub comm: String,
    /// Arguments joined by spaces (empty for kernel threads and a process without argv);
    /// `None` where not read.
    pub cmdline: Option<String>,
    /// A kernel thread (PF_KTHREAD): it has no command line by nature.
    pub kernel_thread: bool,
    /// Clock ticks after boot: with the PID it identifies a process across ticks.
    pub start_time: u64,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// Resident set, in pages.
    pub rss_pages: u64,
    pub threads: u32,
    pub ns: NsLinks,
    /// `pid_for_children` / `time_for_children` where they differ from the process's own.
    pub pid_for_children: Option<u64>,
    pub time_for_children: Option<u64>,
    /// The PID at every level, outermost (the /proc mount's namespace) first.
    pub nspid: Vec<i32>,
    /// `/proc/PID/cgroup` as read (paths relative to our cgroup namespace; a path the kernel
    /// cut at 4095 bytes completed from the member lists); empty when cgroups were not
    /// collected. Shared by the processes with the same text.
    pub cgroup: std::sync::Arc<str>,
    /// What it may do besides where it lives; `None` where not read (only `Everything` reads
    /// it) or unreadable.
    pub security: Option<SecuritySample>,
}

/// The walls of a process other than its namespaces and cgroups: credentials, capabilities,
/// no_new_privs and seccomp from /proc/PID/status, the LSM label, the root directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecuritySample {
    /// Real, effective, saved and filesystem ids, as the reader's user namespace sees them.
    pub uids: [u32; 4],
    pub gids: [u32; 4],
    pub caps: CapSets,
    pub no_new_privs: bool,
    /// 0 disabled, 1 strict, 2 filter; `None` where the kernel has no seccomp.
    pub seccomp: Option<u8>,
    /// Filters attached (5.9+).
    pub seccomp_filters: Option<u32>,
    /// /proc/PID/attr/current: the AppArmor profile and mode, or the SELinux context; `None`
    /// where no LSM answers.
    pub lsm: Option<String>,
    /// Device and inode of /proc/PID/root; `None` where it cannot be followed.
    pub root: Option<(u64, u64)>,
    /// /proc/PID/uid_map and gid_map as the reader sees them, read only where the process's
    /// user namespace is not the reader's.
    pub uid_map: Option<String>,
    pub gid_map: Option<String>,
}

/// The five capability sets of /proc/PID/status, as bitmasks by capability number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapSets {
    pub inheritable: u64,
    pub permitted: u64,
    pub effective: u64,
    pub bounding: u64,
    pub ambient: u64,
}

/// Something other than a member process that keeps a namespace alive.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HolderSample {
    /// A thread whose namespace differs from its process's.
    Thread { pid: i32, tid: i32 },
    /// An open file descriptor on nsfs.
    Fd { pid: i32, fd: i32 },
    /// A socket created in the (network) namespace, open in process `pid`.
    Socket { pid: i32, fd: i32 },
    /// `pid_for_children` or `time_for_children` of a process.
    ForChildren { pid: i32 },
    /// An nsfs bind mount, seen in the mount namespace `mnt_ns` through process `via_pid`.
    BindMount {
        path: String,
        mnt_ns: u64,
        via_pid: i32,
    },
    /// The parent (NS_GET_PARENT) of namespace `ns`, which keeps it alive.
    ParentOf { ns: NsRef },
    /// The owner user namespace (NS_GET_USERNS) of namespace `ns`.
    OwnerOf { ns: NsRef },
}

impl HolderSample {
    /// The short form tables show: `fd:PID/FD`, `mount:PATH`, `parent-of:pid:[INODE]`. A bind
    /// mount in another mount namespace than `reader`'s names the one it is in
    /// (`mount:PATH@mnt:[INODE]`): the same path here may open another namespace, or none.
    pub fn label(&self, reader: Option<u64>) -> String {
        match self {
            HolderSample::Thread { pid, tid } => format!("thread:{pid}/{tid}"),
            HolderSample::Fd { pid, fd } => format!("fd:{pid}/{fd}"),
            HolderSample::Socket { pid, fd } => format!("socket:{pid}/{fd}"),
            HolderSample::ForChildren { pid } => format!("children-of:{pid}"),
            HolderSample::BindMount { path, .. } if self.mounted_at_reader(reader) => {
                format!("mount:{path}")
            }
            HolderSample::BindMount { path, mnt_ns, .. } => format!("mount:{path}@mnt:[{mnt_ns}]"),
            HolderSample::ParentOf { ns } => format!("parent-of:{}:[{}]", ns.kind, ns.ino),
            HolderSample::OwnerOf { ns } => format!("owner-of:{}:[{}]", ns.kind, ns.ino),
        }
    }

    /// The process this holder lives in (none for a bind mount).
    pub fn pid(&self) -> Option<i32> {
        match *self {
            HolderSample::Thread { pid, .. }
            | HolderSample::Fd { pid, .. }
            | HolderSample::Socket { pid, .. }
            | HolderSample::ForChildren { pid } => Some(pid),
            HolderSample::BindMount { .. }
            | HolderSample::ParentOf { .. }
            | HolderSample::OwnerOf { .. } => None,
        }
    }

    /// A bind mount in the mount namespace `reader` reads from (any, when that is unknown):
    /// its path opens the namespace from there.
    pub fn mounted_at_reader(&self, reader: Option<u64>) -> bool {
        matches!(self, HolderSample::BindMount { mnt_ns, .. } if reader.is_none_or(|r| r == *mnt_ns))
    }

    /// A path under the proc root `proc` that opens the held namespace of type `kind`.
    pub fn open_path(&self, proc: &Path, kind: NsType) -> Option<PathBuf> {
        Some(match self {
            HolderSample::Thread { pid, tid } => proc.join(format!("{pid}/task/{tid}/ns/{kind}")),
            HolderSample::Fd { pid, fd } => proc.join(format!("{pid}/fd/{fd}")),
            HolderSample::ForChildren { pid } => proc.join(format!("{pid}/ns/{kind}_for_children")),
            // The mount point is relative to the root of a process in that mount namespace.
            HolderSample::BindMount { path, via_pid, .. } => proc
                .join(format!("{via_pid}/root"))
                .join(path.trim_start_matches('/')),
            // Only ioctls reach these: the socket's fd opens the socket, not the namespace.
            HolderSample::Socket { .. }
            | HolderSample::ParentOf { .. }
            | HolderSample::OwnerOf { .. } => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldNs {
    pub ns: NsRef,
    pub holder: HolderSample,
}

/// The member PIDs of every namespace the processes are in, ascending when `procs` is.
pub fn members_by_namespace(procs: &[std::sync::Arc<ProcSample>]) -> HashMap<NsRef, Vec<i32>> {
    let mut members: HashMap<NsRef, Vec<i32>> = HashMap::new();
    for proc in procs {
        for kind in NsType::ALL {
            if let Some(ino) = proc.ns[kind.index()] {
                members
                    .entry(NsRef { kind, ino })
                    .or_default()
                    .push(proc.pid);
            }
        }
    }
    members
}

/// The holders of every held namespace, sorted, each once.
pub fn holders_by_namespace(held: &[HeldNs]) -> HashMap<NsRef, Vec<HolderSample>> {
    let mut holders: HashMap<NsRef, Vec<HolderSample>> = HashMap::new();
    for h in held {
        holders.entry(h.ns).or_default().push(h.holder.clone());
    }
    for list in holders.values_mut() {
        list.sort();
        list.dedup();
    }
    holders
}

/// What the nsfs ioctls say of one namespace; `None` where the kernel has no answer
/// (no parent at the top, a type without hierarchy) or refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NsFacts {
    pub parent: Option<u64>,
    pub owner: Option<u64>,
    pub owner_uid: Option<u32>,
    /// Network namespaces: the id ours assigned to it, -1 for none (RTM_GETNSID).
    pub netnsid: Option<i32>,
    /// NS_GET_ID: unique for the kernel's uptime, unlike inode numbers (recent kernels: 6.18 has it).
    pub id: Option<u64>,
}

/// Which part of a process permission hid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeniedPart {
    /// The /proc/PID entry itself.
    Process,
    /// The namespace links (PID 1 on many hosts, even for root).
    Namespaces,
    /// The fd directory, so fd holders in it are unknown.
    Fds,
}

/// A process, or part of one, that could not be read for lack of permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Denied {
    pub pid: i32,
    pub part: DeniedPart,
}

#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Shared with the sampler, which keeps each process as last read.
    pub procs: Vec<std::sync::Arc<ProcSample>>,
    pub held: Vec<HeldNs>,
    pub ns_facts: HashMap<NsRef, NsFacts>,
    pub denied: Vec<Denied>,
    pub user_names: HashMap<u32, String>,
    /// Empty when only namespaces were asked for.
    pub cgroups: CgroupsSample,
    /// The names the container runtimes keep on the host, by full container id: read with the
    /// cgroups (empty when they were not sampled), for the containers their paths name.
    pub container_names: HashMap<String, ContainerName>,
    /// Why a runtime's state file gave no names (not trusted, too large, malformed).
    pub name_notes: Vec<String>,
    pub system: SystemSample,
    /// The mount namespace nstop reads from (its own, or a captured tree's `proc/self`; `None`
    /// when unknown): only bind mounts there are paths that open their namespace from here.
    pub reader_mnt_ns: Option<u64>,
    /// Device and inode of the reader's root directory: a process whose root differs is
    /// chrooted or pivoted (a container).
    pub reader_root: Option<(u64, u64)>,
}

/// A container's name as its runtime keeps it on the host, and the file that said it
/// (`docker /var/lib/docker/containers/<id>/config.v2.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerName {
    pub name: String,
    pub source: String,
}

/// Host-wide text of one tick, as read from /proc (empty where a file was unreadable).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SystemSample {
    /// CLOCK_BOOTTIME when read: process CPU rates divide by its difference.
    pub taken_at: Duration,
    pub clock_ticks: u64,
    pub page_size: u64,
    /// /proc/sys/kernel/hostname and osrelease (the reader's UTS namespace).
    pub hostname: String,
    pub kernel: String,
    pub uptime: String,
    pub loadavg: String,
    pub meminfo: String,
    /// /proc/stat.
    pub stat: String,
    /// /proc/sys/kernel/yama/ptrace_scope (empty without yama) and kernel/core_pattern: who
    /// may trace whom, and where a crash's memory goes.
    pub ptrace_scope: String,
    pub core_pattern: String,
}

/// One mounted cgroup hierarchy (a mount of the same hierarchy twice is listed once).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HierarchySample {
    /// The kernel's hierarchy ID, the first field of `/proc/PID/cgroup`: 0 for cgroup2.
    pub id: u32,
    /// 1 (`cgroup`) or 2 (`cgroup2`).
    pub version: u8,
    /// Mount point, as in our mountinfo.
    pub mount: String,
    /// The cgroup shown at the mount point (mountinfo's root field): `/` except inside
    /// containers and cgroup namespaces.
    pub root: String,
    /// v1: the controllers bound to it, `name=systemd` for a named one; cgroup2: the root's
    /// cgroup.controllers.
    pub controllers: Vec<String>,
}

/// A v1 hierarchy by its controllers: `cpu,cpuacct`, `systemd` for `name=systemd`.
fn v1_label<'a>(controllers: impl Iterator<Item = &'a str>) -> String {
    controllers
        .map(|c| c.strip_prefix("name=").unwrap_or(c))
        .collect::<Vec<_>>()
        .join(",")
}

/// v1 controllers whose files nstop reads values from.
const METRIC_CONTROLLERS: [&str; 6] = ["memory", "cpu", "cpuacct", "pids", "blkio", "freezer"];

impl HierarchySample {
    /// `cgroup2`, or the v1 controllers (`cpu,cpuacct`, `systemd`).
    pub fn label(&self) -> String {
        match self.version {
            2 => "cgroup2".to_owned(),
            _ => v1_label(self.controllers.iter().map(String::as_str)),
        }
    }

    /// How `nstop cg` commands name cgroup `path` here: `cgroup2:path`, or by a v1 controller
    /// of this hierarchy (`controller` if it has it, else its first).
    pub fn spec(&self, path: &str, controller: Option<&str>) -> Option<String> {
        if self.version == 2 {
            return Some(format!("cgroup2:{path}"));
        }
        let name = match controller {
            Some(want) => self.controllers.iter().find(|c| *c == want)?,
            None => self.controllers.first()?,
        };
        Some(format!("{}:{path}", name.trim_start_matches("name=")))
    }

    /// cgroup2, or a v1 hierarchy with values to show; the others (cpuset, devices, net_cls,
    /// name=systemd...) only repeat membership.
    pub fn has_metrics(&self) -> bool {
        self.version == 2
            || self
                .controllers
                .iter()
                .any(|c| METRIC_CONTROLLERS.contains(&c.as_str()))
    }
}

/// One cgroup directory: the raw text of each file that could be read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupSample {
    pub hierarchy: u32,
    /// Absolute within the hierarchy, as `/proc/PID/cgroup` writes it.
    pub path: String,
    /// The directory's inode: a cgroup removed and made again under one path gets a new one.
    pub inode: u64,
    /// Levels below the hierarchy's mount point. A hierarchy's cgroups come in pre-order
    /// (parent, then its subtrees): with the depth that is the tree, whatever the paths look
    /// like (inside a cgroup namespace they climb out with `/..`).
    pub depth: u32,
    pub files: Vec<(&'static str, String)>,
}

impl CgroupSample {
    pub fn file(&self, name: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| text.as_str())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupsSample {
    /// CLOCK_BOOTTIME just before the cgroups were read: their rates' interval (the process
    /// scan before them takes longer on a cold first tick).
    pub taken_at: Duration,
    /// Bytes per page: v1 writes "unlimited" as the largest page-aligned signed 64-bit value.
    pub page_size: u64,
    /// Ticks per second of cpuacct.stat (USER_HZ).
    pub clock_ticks: u64,
    pub hierarchies: Vec<HierarchySample>,
    pub cgroups: Vec<CgroupSample>,
    /// `/proc/pressure/<resource>` texts (cpu, memory, io, irq) that exist.
    pub system_pressure: Vec<(&'static str, String)>,
}

/// Where a cgroup namespace's `/` is in one hierarchy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupNsRoot {
    /// As /proc/PID/cgroup numbers it: 0 is cgroup2.
    pub hierarchy: u32,
    /// Its v1 controllers (`cpu,cpuacct`, `name=systemd`); empty for cgroup2.
    pub controllers: String,
    /// The cgroup that is `/` inside, as a path in our view.
    pub root: String,
}

impl CgroupNsRoot {
    /// Its hierarchy as `HierarchySample::label` names it.
    pub fn label(&self) -> String {
        match self.hierarchy {
            0 => "cgroup2".to_owned(),
            _ => v1_label(self.controllers.split(',')),
        }
    }
}

/// One line of a user namespace's uid_map or gid_map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

impl IdMap {
    /// Which side the outside ids of maps are on (see `NsDetail::User::seen_from`).
    pub fn seen_from_note(seen_from: Option<u64>) -> String {
        match seen_from {
            Some(ino) => {
                format!("(outside ids as nstop's own user namespace, user:[{ino}], sees them)")
            }
            None => "(outside ids as the parent user namespace sees them: nstop is in this one)"
                .to_owned(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub index: u32,
    pub name: String,
    /// IFF_UP: administratively up.
    pub up: bool,
    /// RFC 2863 operational state: up, down, unknown, ...
    pub state: String,
    pub mtu: Option<u32>,
    pub mac: Option<String>,
    /// `address/prefix`, IPv4 and IPv6.
    pub addresses: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockOffset {
    pub seconds: i64,
    pub nanoseconds: i64,
}

/// What a namespace looks like from inside, by type; read only for namespaces asked about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum NsDetail {
    Uts {
        hostname: String,
        domainname: String,
    },
    User {
        uid_map: Vec<IdMap>,
        gid_map: Vec<IdMap>,
        /// "allow" or "deny" (/proc/PID/setgroups).
        setgroups: Option<String>,
        /// The user namespace whose ids the outside column is in: the reader's (nstop's own),
        /// or `None` when nstop is in this namespace itself, where the kernel writes its
        /// parent's.
        seen_from: Option<u64>,
    },
    Net {
        interfaces: Vec<Interface>,
    },
    Mnt {
        /// The filesystem mounted at `/`: its source, type and root within it.
        root_source: String,
        root_fstype: String,
        root: String,
        mounts: usize,
    },
    Time {
        monotonic: ClockOffset,
        boottime: ClockOffset,
    },
    Pid {
        /// Host PID of the namespace's init (its PID 1), if it is alive.
        init: Option<i32>,
        /// Processes in this namespace and every namespace below it.
        processes: usize,
    },
    Cgroup {
        /// Per hierarchy (a process may be rooted at `memory:/a/b` and cgroup2 `/`), in
        /// /proc/PID/cgroup's order.
        roots: Vec<CgroupNsRoot>,
    },
    Ipc,
}
