//! cgroup hierarchies: every `cgroup`/`cgroup2` mount from mountinfo, each cgroup directory
//! walked and its files read as raw text. Which files depend on the hierarchy's version and
//! controllers; turning them into values is the model's job.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use rustix::fs::{FileType, Mode, OFlags, RawDir, fstat};

use crate::model::kernel_text::{pids, proc_cgroup};
use crate::model::sample::{CgroupSample, CgroupsSample, HierarchySample, ProcSample};
use crate::sys::detail::cgroup_ns_root;
use crate::sys::longpath::open_beneath;
use crate::sys::mounts::unescape_mount_path;
use crate::sys::proc::{DIR_LIST, DIR_PATH, is_gone, read_at, read_record};
use crate::sys::roots::Roots;

/// v1 controllers the kernel knows; any other super option of a `cgroup` mount is a mount flag.
const V1_CONTROLLERS: [&str; 14] = [
    "cpuset",
    "cpu",
    "cpuacct",
    "blkio",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// One `cgroup` or `cgroup2` line of mountinfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupMount {
    /// `major:minor` of the superblock: two mounts of one hierarchy share it.
    pub dev: String,
    pub root: String,
    pub mount: String,
    pub version: u8,
    /// v1 controllers and `name=` from the super options; empty for cgroup2.
    pub controllers: Vec<String>,
}

/// The cgroup mounts of a mountinfo text, one per hierarchy: of several mounts of one
/// superblock the one showing the most (shortest root), then the shortest mount point.
pub fn parse_cgroup_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    let mut mounts: Vec<CgroupMount> = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut right = right.split(' ');
        let version = match right.next() {
            Some("cgroup") => 1,
            Some("cgroup2") => 2,
            _ => continue,
        };
        let super_options = right.nth(1).unwrap_or("");
        let mut left = left.split(' ');
        let (Some(dev), Some(root), Some(mount)) = (left.nth(2), left.next(), left.next()) else {
            continue;
        };
        let controllers = if version == 1 {
            super_options
                .split(',')
                .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
                .map(str::to_owned)
                .collect()
        } else {
            Vec::new()
        };
        let candidate = CgroupMount {
            dev: dev.to_owned(),
            root: unescape_mount_path(root),
            mount: unescape_mount_path(mount),
            version,
            controllers,
        };
        let rank = |m: &CgroupMount| (m.root.len(), m.mount.len());
        match mounts.iter_mut().find(|m| m.dev == candidate.dev) {
            Some(seen) if rank(&candidate) < rank(seen) => *seen = candidate,
            Some(_) => {}
            None => mounts.push(candidate),
        }
    }
    mounts
}

/// Hierarchy IDs by controller list (`cpu,cpuacct`, `name=systemd`, `` for cgroup2) from a
/// `/proc/PID/cgroup` text.
pub fn hierarchy_ids(text: &str) -> HashMap<String, u32> {
    proc_cgroup(text)
        .into_iter()
        .map(|line| (line.controllers.to_owned(), line.hierarchy))
        .collect()
}

/// Whitespace-separated controller names (cgroup.controllers).
fn controller_list(text: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The files that list a cgroup's members. The kernel builds and sorts the whole list for each
/// read (on v1 a pidlist per open), which on the roots of a busy host costs more than reading
/// every process's own /proc/PID/cgroup: with the process scan at hand they are left unread.
const MEMBERSHIP: [&str; 3] = ["cgroup.procs", "cgroup.threads", "tasks"];

/// The files read in a cgroup of a hierarchy, by version and controller.
fn files_for(version: u8, controllers: &[String]) -> Vec<&'static str> {
    let has = |c: &str| controllers.iter().any(|have| have == c);
    let mut files = Vec::new();
    if version == 2 {
        files.extend([
            "cgroup.procs",
            "cgroup.threads",
            "cgroup.events",
            "cgroup.stat",
            "cpu.stat",
            "cpu.pressure",
            "memory.pressure",
            "io.pressure",
            "irq.pressure",
        ]);
        if has("memory") {
            files.extend([
                "memory.current",
                "memory.max",
                "memory.high",
                "memory.low",
                "memory.min",
                "memory.peak",
                "memory.swap.current",
                "memory.swap.max",
                "memory.stat",
                "memory.events",
                "memory.events.local",
                "memory.oom.group",
            ]);
        }
        if has("cpu") {
            files.extend(["cpu.max", "cpu.weight"]);
        }
        if has("io") {
            files.push("io.stat");
        }
        if has("pids") {
            files.extend(["pids.current", "pids.max", "pids.events"]);
        }
        return files;
    }
    files.extend(["cgroup.procs", "tasks"]);
    if has("memory") {
        files.extend([
            "memory.usage_in_bytes",
            "memory.limit_in_bytes",
            "memory.max_usage_in_bytes",
            "memory.memsw.usage_in_bytes",
            "memory.memsw.limit_in_bytes",
            "memory.failcnt",
            "memory.stat",
            "memory.oom_control",
        ]);
    }
    if has("cpu") {
        files.extend([
            "cpu.cfs_quota_us",
            "cpu.cfs_period_us",
            "cpu.shares",
            "cpu.stat",
        ]);
    }
    if has("cpuacct") {
        files.extend(["cpuacct.usage", "cpuacct.stat"]);
    }
    if has("pids") {
        files.extend(["pids.current", "pids.max", "pids.events"]);
    }
    if has("blkio") {
        // The _recursive files count descendants too, as io.stat does; older kernels lack them.
        files.extend([
            "blkio.throttle.io_service_bytes_recursive",
            "blkio.throttle.io_serviced_recursive",
            "blkio.throttle.io_service_bytes",
            "blkio.throttle.io_serviced",
        ]);
    }
    if has("freezer") {
        files.push("freezer.state");
    }
    files
}

/// A cgroup directory still to read: its hierarchy, its path below the mount point (empty for
/// the mount's root) and how deep that is.
struct Pending<'h> {
    hierarchy: &'h Hierarchy,
    relative: String,
    depth: u32,
    /// Read cgroup.procs and the thread lists.
    membership: bool,
}

/// A hierarchy with its mount point opened.
struct Hierarchy {
    sample: HierarchySample,
    dir: OwnedFd,
}

impl Hierarchy {
    fn path_of(&self, relative: &str) -> String {
        let root = self.sample.root.trim_end_matches('/');
        if relative.is_empty() {
            if root.is_empty() { "/" } else { root }.to_owned()
        } else {
            format!("{root}/{relative}")
        }
    }
}

/// /proc/PID/cgroup cuts a path at PATH_MAX - 1 bytes: one that long may be the start of a
/// longer one.
pub const PROC_CGROUP_PATH_CUT: usize = 4095;

/// Subdirectory names of one directory, sorted.
pub(crate) fn subdirectories(dir: BorrowedFd, relative: &str) -> Vec<String> {
    let Ok(fd) = open_beneath(dir, relative, DIR_LIST) else {
        return Vec::new();
    };
    let mut space = vec![MaybeUninit::<u8>::uninit(); 8192];
    let mut entries = RawDir::new(fd, &mut space);
    let mut names = Vec::new();
    while let Some(Ok(entry)) = entries.next() {
        let name = entry.file_name().to_bytes();
        if entry.file_type() != FileType::Directory || name == b"." || name == b".." {
            continue;
        }
        if let Ok(name) = std::str::from_utf8(name) {
            names.push(name.to_owned());
        }
    }
    names.sort_unstable();
    names
}

/// Every directory of a hierarchy in pre-order with its depth. Iterative: a user with a
/// delegated subtree can nest cgroups thousands deep, which would overflow a recursive walk.
fn walk(dir: BorrowedFd) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), 0)];
    while let Some((relative, depth)) = stack.pop() {
        let children = subdirectories(dir, &relative);
        stack.extend(children.into_iter().rev().map(|name| {
            let child = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            (child, depth + 1)
        }));
        out.push((relative, depth));
    }
    out
}

/// Reads one cgroup directory; `None` when it vanished meanwhile.
fn read_cgroup(pending: &Pending, buf: &mut Vec<u8>) -> Option<CgroupSample> {
    let hierarchy = pending.hierarchy;
    let dir = open_beneath(hierarchy.dir.as_fd(), &pending.relative, DIR_PATH).ok()?;
    let inode = fstat(&dir).ok()?.st_ino;
    let version = hierarchy.sample.version;
    // A cgroup2 child has only the files of the controllers its parent enabled for it.
    let controllers = if version == 2 && !pending.relative.is_empty() {
        match read_at(dir.as_fd(), "cgroup.controllers", buf) {
            Ok(()) => controller_list(buf),
            Err(e) if is_gone(e) => return None,
            Err(_) => Vec::new(),
        }
    } else {
        hierarchy.sample.controllers.clone()
    };
    let mut files = Vec::new();
    let names = files_for(version, &controllers)
        .into_iter()
        .filter(|n| pending.membership || !MEMBERSHIP.contains(n));
    let mut gone = false;
    for name in names {
        let read = if MEMBERSHIP.contains(&name) {
            read_at(dir.as_fd(), name, buf)
        } else {
            read_record(dir.as_fd(), name, buf)
        };
        match read {
            Ok(()) => files.push((name, String::from_utf8_lossy(buf).into_owned())),
            Err(e) => gone |= is_gone(e),
        }
    }
    // Nothing readable and files vanishing: the cgroup was removed while we read it (an absent
    // controller file, or one we may not read, is just an absent value; a root has few files
    // and cannot be removed).
    if files.is_empty() && gone && !pending.relative.is_empty() {
        return None;
    }
    Some(CgroupSample {
        hierarchy: hierarchy.sample.id,
        path: hierarchy.path_of(&pending.relative),
        inode,
        depth: pending.depth,
        files,
    })
}

/// Opens every hierarchy mounted in our mount namespace and learns its ID.
fn hierarchies(roots: &Roots) -> Vec<Hierarchy> {
    let read = |name: &str| std::fs::read_to_string(roots.proc.join(name)).unwrap_or_default();
    let mounts = parse_cgroup_mounts(&read("self/mountinfo"));
    let ids = hierarchy_ids(&read("self/cgroup"));
    // /proc/cgroups: `subsys hierarchy num_cgroups enabled`, for hierarchies we are not in.
    let by_controller: HashMap<String, u32> = read("cgroups")
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.to_owned(), f.next()?.parse().ok()?))
        })
        .collect();
    // A hierarchy whose ID neither file gives (we are in none of its cgroups and it is named)
    // still needs one: numbers above the kernel's range of at most 16 subsystems.
    let mut next_unknown = 1000;
    let mut out = Vec::new();
    for mount in mounts {
        let Ok(dir) = rustix::fs::open(roots.resolve(&mount.mount), DIR_PATH, Mode::empty()) else {
            continue;
        };
        let id = if mount.version == 2 {
            0
        } else {
            let known = ids.get(&mount.controllers.join(",")).copied().or_else(|| {
                let first = mount.controllers.first()?;
                by_controller.get(first).copied().filter(|&id| id != 0)
            });
            known.unwrap_or_else(|| {
                next_unknown += 1;
                next_unknown
            })
        };
        let controllers = if mount.version == 2 {
            let mut buf = Vec::new();
            read_at(dir.as_fd(), "cgroup.controllers", &mut buf)
                .map(|()| controller_list(&buf))
                .unwrap_or_default()
        } else {
            mount.controllers
        };
        out.push(Hierarchy {
            sample: HierarchySample {
                id,
                version: mount.version,
                mount: mount.mount,
                root: mount.root,
                controllers,
            },
            dir,
        });
    }
    // cgroup2 first, then v1 by ID, as /proc/PID/cgroup lists them in reverse.
    out.sort_by_key(|h| (h.sample.version != 2, h.sample.id));
    out
}

/// The path of `target` seen from `base` as the kernel writes it: both relative to one mount
/// point, the result `/`-rooted at `base`, climbing out with `/..`.
fn path_from(base: &str, target: &str) -> String {
    let parts = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (base, target) = (parts(base), parts(target));
    let common = base.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let ups = std::iter::repeat_n("..".to_owned(), base.len() - common);
    let path: Vec<String> = ups.chain(target[common..].iter().cloned()).collect();
    format!("/{}", path.join("/"))
}

/// Inside a cgroup namespace the mount's root reads `/..`: which directory is the namespace's
/// `/` shows only through our own process, whose cgroup.procs entry and /proc/self/cgroup path
/// name the same directory. Paths then read as /proc/PID/cgroup writes them in this namespace.
fn rebase_in_namespace(hierarchy: &HierarchySample, cgroups: &mut [CgroupSample], roots: &Roots) {
    let own = std::fs::read_to_string(roots.proc.join("self/cgroup")).unwrap_or_default();
    let Some(own_path) = proc_cgroup(&own)
        .into_iter()
        .find(|line| line.hierarchy == hierarchy.id)
        .map(|line| line.path.to_owned())
    else {
        return;
    };
    let pid = std::process::id().to_string();
    let root = hierarchy.root.trim_end_matches('/');
    let relative = |path: &str| path.strip_prefix(root).unwrap_or(path).to_owned();
    let Some(own_dir) = cgroups
        .iter()
        .filter(|c| c.hierarchy == hierarchy.id)
        .find(|c| {
            c.file("cgroup.procs")
                .is_some_and(|t| t.lines().any(|l| l == pid))
        })
        .map(|c| relative(&c.path))
    else {
        return;
    };
    // Our directory is the namespace root plus our in-namespace path.
    let Some(ns_root) = cgroup_ns_root(&own_dir, &own_path) else {
        return;
    };
    for c in cgroups.iter_mut().filter(|c| c.hierarchy == hierarchy.id) {
        c.path = path_from(&ns_root, &relative(&c.path));
    }
}

/// Completes the paths that /proc/PID/cgroup cut at `PROC_CGROUP_PATH_CUT` bytes: the cgroup
/// is the one of that hierarchy whose path starts with the cut one and whose member list (read
/// for every cgroup with a path that long) has the process. A process that moved meanwhile
/// keeps the cut path, which names no cgroup. The member lists read only for this (not
/// `membership` asked of `sample`) are then dropped, so that every cgroup's members come from
/// the processes' own files.
pub fn complete_cut_paths(
    procs: &mut [Arc<ProcSample>],
    cgroups: &mut CgroupsSample,
    membership: bool,
) {
    complete_from(procs, cgroups);
    let read_for_completion = |c: &CgroupSample| {
        c.path.len() >= PROC_CGROUP_PATH_CUT
            && (cgroups.hierarchies.iter())
                .find(|h| h.id == c.hierarchy)
                .is_some_and(|h| !lists_members(h, membership))
    };
    let drop: Vec<bool> = cgroups.cgroups.iter().map(read_for_completion).collect();
    for (c, drop) in cgroups.cgroups.iter_mut().zip(drop) {
        if drop {
            c.files.retain(|(name, _)| !MEMBERSHIP.contains(name));
        }
    }
}

/// Whether a sample reads every cgroup's member lists in `hierarchy`: when asked, and where the
/// mount shows only part of it (inside a cgroup namespace our own entry in cgroup.procs is what
/// places the paths).
fn lists_members(hierarchy: &HierarchySample, asked: bool) -> bool {
    asked || hierarchy.root != "/"
}

fn complete_from(procs: &mut [Arc<ProcSample>], cgroups: &CgroupsSample) {
    let long: Vec<(&CgroupSample, Vec<i32>)> = cgroups
        .cgroups
        .iter()
        .filter(|c| c.path.len() >= PROC_CGROUP_PATH_CUT)
        .filter_map(|c| Some((c, pids(c.file("cgroup.procs")?))))
        .collect();
    if long.is_empty() {
        return;
    }
    for proc in procs.iter_mut() {
        if proc.cgroup.len() < PROC_CGROUP_PATH_CUT {
            continue;
        }
        let mut completed = String::with_capacity(proc.cgroup.len());
        for line in proc.cgroup.lines() {
            let whole = proc_cgroup(line).first().and_then(|cut| {
                let path = cut.path;
                let (c, _) = long.iter().find(|(c, members)| {
                    c.hierarchy == cut.hierarchy
                        && path.len() == PROC_CGROUP_PATH_CUT
                        && c.path.starts_with(path)
                        && members.contains(&proc.pid)
                })?;
                Some(format!("{}:{}:{}", cut.hierarchy, cut.controllers, c.path))
            });
            completed.push_str(whole.as_deref().unwrap_or(line));
            completed.push('\n');
        }
        if *completed != *proc.cgroup {
            Arc::make_mut(proc).cgroup = completed.into();
        }
    }
}

/// The hierarchies mounted in our mount namespace, cgroup2 first.
pub fn mounted_hierarchies(roots: &Roots) -> Vec<HierarchySample> {
    hierarchies(roots).into_iter().map(|h| h.sample).collect()
}

/// Every cgroup of every hierarchy, read on all cores, and the system-wide pressure. With
/// `membership` false the member lists are left to the process scan, except as
/// `lists_members` says and where a path is too long for /proc/PID/cgroup to show whole
/// (`complete_cut_paths` uses those, then drops them).
pub fn sample(roots: &Roots, membership: bool) -> CgroupsSample {
    let taken_at = super::boot_time();
    let hierarchies = hierarchies(roots);
    let mut pending = Vec::new();
    for hierarchy in &hierarchies {
        let whole = lists_members(&hierarchy.sample, membership);
        pending.extend(
            walk(hierarchy.dir.as_fd())
                .into_iter()
                .map(|(relative, depth)| Pending {
                    hierarchy,
                    // Its members' /proc/PID/cgroup may show only the start of its path.
                    membership: whole || hierarchy.path_of(&relative).len() >= PROC_CGROUP_PATH_CUT,
                    relative,
                    depth,
                }),
        );
    }
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = pending.len().div_ceil(workers).max(1);
    let mut cgroups = Vec::with_capacity(pending.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = pending
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut buf = Vec::with_capacity(4096);
                    part.iter()
                        .filter_map(|p| read_cgroup(p, &mut buf))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            cgroups.extend(handle.join().expect("cgroup reader panicked"));
        }
    });
    if roots.is_live() {
        let climbs_out = |h: &&Hierarchy| h.sample.root.split('/').any(|c| c == "..");
        for hierarchy in hierarchies.iter().filter(climbs_out) {
            rebase_in_namespace(&hierarchy.sample, &mut cgroups, roots);
        }
    }
    let system_pressure = ["cpu", "memory", "io", "irq"]
        .into_iter()
        .filter_map(|resource| {
            let text = std::fs::read_to_string(roots.proc.join("pressure").join(resource)).ok()?;
            Some((resource, text))
        })
        .collect();
    CgroupsSample {
        taken_at,
        page_size: rustix::param::page_size() as u64,
        clock_ticks: rustix::param::clock_ticks_per_second(),
        hierarchies: hierarchies.into_iter().map(|h| h.sample).collect(),
        cgroups,
        system_pressure,
    }
}

/// The directory of cgroup `path` of hierarchy `h`; `None` where the path is outside the
/// mount's view.
fn cgroup_dir(roots: &Roots, h: &HierarchySample, path: &str) -> Option<std::path::PathBuf> {
    let inside = match h.root.as_str() {
        "/" => path,
        root => path.strip_prefix(root.trim_end_matches('/'))?,
    };
    Some(roots.resolve(&h.mount).join(inside.trim_start_matches('/')))
}

/// The allow list (devices.list) of cgroup `path` of a v1 devices hierarchy; `None` where it
/// cannot be read.
pub fn devices_list(roots: &Roots, h: &HierarchySample, path: &str) -> Option<String> {
    let dir = cgroup_dir(roots, h, path)?;
    crate::sys::longpath::read_to_string(&dir.join("devices.list")).ok()
}

/// How many device programs (BPF_CGROUP_DEVICE) decide which devices a cgroup2 cgroup's
/// processes may open, its ancestors' included; `None` where the kernel does not say (no
/// BPF, not privileged). No crate wraps BPF_PROG_QUERY alone, so the syscall is made here.
pub fn device_programs(roots: &Roots, h: &HierarchySample, path: &str) -> Option<u32> {
    use std::os::fd::AsRawFd;
    // The `query` member of union bpf_attr.
    #[repr(C)]
    #[derive(Default)]
    struct Query {
        target_fd: u32,
        attach_type: u32,
        query_flags: u32,
        attach_flags: u32,
        prog_ids: u64,
        prog_cnt: u32,
        padding: u32,
    }
    const BPF_PROG_QUERY: nix::libc::c_long = 16;
    const BPF_CGROUP_DEVICE: u32 = 6;
    const BPF_F_QUERY_EFFECTIVE: u32 = 1;
    let dir = cgroup_dir(roots, h, path)?;
    let fd = crate::sys::longpath::open(&dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC)
        .ok()?;
    let mut query = Query {
        target_fd: u32::try_from(fd.as_raw_fd()).ok()?,
        attach_type: BPF_CGROUP_DEVICE,
        query_flags: BPF_F_QUERY_EFFECTIVE,
        ..Query::default()
    };
    // SAFETY: `query` is a bpf_attr prefix of the size passed, live for the call; with
    // prog_ids null the kernel only writes prog_cnt and attach_flags into it.
    let rc = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_bpf,
            BPF_PROG_QUERY,
            &mut query as *mut Query,
            std::mem::size_of::<Query>() as u32,
        )
    };
    (rc == 0).then_some(query.prog_cnt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn mountinfo_and_proc_cgroup_parsers_never_panic(text in "\\PC*") {
            let _ = parse_cgroup_mounts(&text);
            let _ = hierarchy_ids(&text);
        }

        #[test]
        fn mountinfo_shaped_lines(
            root in "/[a-z0-9./-]{0,20}",
            point in "/[a-z0-9/]{1,20}",
            options in "rw(,[a-z=]{1,10}){0,4}",
            fstype in "cgroup2?|tmpfs",
        ) {
            let line = format!("41 31 0:38 {root} {point} rw,relatime shared:9 - {fstype} cgroup {options}\n");
            let mounts = parse_cgroup_mounts(&line);
            prop_assert_eq!(mounts.len(), usize::from(fstype != "tmpfs"));
            if let Some(m) = mounts.first() {
                prop_assert_eq!(&m.root, &root);
                prop_assert_eq!(&m.mount, &point);
            }
        }
    }

    /// This machine's mountinfo (hybrid), with a second bind mount of the memory hierarchy
    /// showing a subtree, as a container runtime makes.
    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
90 23 0:32 /docker/abc /mnt/my\\040mem rw,relatime shared:5 - cgroup cgroup rw,memory
";

    #[test]
    fn mounts_of_a_hybrid_host_folded_by_superblock() {
        let mounts = parse_cgroup_mounts(HYBRID);
        let summary: Vec<_> = mounts
            .iter()
            .map(|m| {
                (
                    m.mount.as_str(),
                    m.root.as_str(),
                    m.version,
                    m.controllers.join(","),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("/sys/fs/cgroup/cpu", "/", 1, "cpu".to_owned()),
                ("/sys/fs/cgroup/memory", "/", 1, "memory".to_owned()),
                ("/sys/fs/cgroup/systemd", "/", 1, "name=systemd".to_owned()),
                ("/sys/fs/cgroup/unified", "/", 2, String::new()),
            ]
        );
    }

    #[test]
    fn a_container_sees_its_own_subtree_mounted() {
        let mounts = parse_cgroup_mounts(
            "1 0 0:40 /kubepods/pod1/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw\n",
        );
        assert_eq!(mounts[0].root, "/kubepods/pod1/abc");
        assert_eq!(mounts[0].mount, "/sys/fs/cgroup");
    }

    #[test]
    fn hierarchy_ids_from_proc_cgroup() {
        let ids = hierarchy_ids("12:cpu,cpuacct:/\n1:name=systemd:/init.scope\n0::/init.scope\n");
        assert_eq!(ids["cpu,cpuacct"], 12);
        assert_eq!(ids["name=systemd"], 1);
        assert_eq!(ids[""], 0);
    }

    /// A hierarchy over a temporary directory laid out like a cgroup2 mount.
    fn temp_hierarchy(dir: &std::path::Path) -> Hierarchy {
        Hierarchy {
            sample: HierarchySample {
                version: 2,
                root: "/".into(),
                ..HierarchySample::default()
            },
            dir: rustix::fs::open(dir, DIR_PATH, Mode::empty()).unwrap(),
        }
    }

    #[test]
    fn a_cgroup_removed_before_its_read_is_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("a/b")).unwrap();
        std::fs::write(tmp.path().join("a/cgroup.procs"), "7\n").unwrap();
        std::fs::write(tmp.path().join("a/cgroup.controllers"), "").unwrap();
        let hierarchy = temp_hierarchy(tmp.path());
        let found = walk(hierarchy.dir.as_fd());
        assert_eq!(
            found,
            [(String::new(), 0), ("a".into(), 1), ("a/b".into(), 2)]
        );
        let pending = |relative: &str| Pending {
            hierarchy: &hierarchy,
            relative: relative.to_owned(),
            depth: 1,
            membership: true,
        };
        let mut buf = Vec::new();
        let a = read_cgroup(&pending("a"), &mut buf).expect("present");
        assert_eq!(
            (a.path.as_str(), a.file("cgroup.procs")),
            ("/a", Some("7\n"))
        );
        // b has no cgroup files (as a cgroup removed mid-read reads), c is gone altogether.
        assert!(read_cgroup(&pending("a/b"), &mut buf).is_none());
        assert!(read_cgroup(&pending("c"), &mut buf).is_none());
    }

    #[test]
    fn a_deep_tree_walks_without_recursion() {
        let tmp = tempfile::tempdir().unwrap();
        let deep: std::path::PathBuf = (0..300).map(|_| "d").collect();
        std::fs::create_dir_all(tmp.path().join(&deep)).unwrap();
        let hierarchy = temp_hierarchy(tmp.path());
        let found = walk(hierarchy.dir.as_fd());
        assert_eq!(found.len(), 301);
        assert_eq!(found.last().unwrap().1, 300);
    }

    #[test]
    fn paths_relative_to_a_namespace_root() {
        assert_eq!(path_from("/a/b", "/a/b"), "/");
        assert_eq!(path_from("/a/b", "/a/b/c"), "/c");
        assert_eq!(path_from("/a/b", ""), "/../..");
        assert_eq!(path_from("/a/b", "/a/x/y"), "/../x/y");
        assert_eq!(path_from("", "/a"), "/a");
    }

    #[test]
    fn paths_cut_at_4095_bytes_are_completed_from_the_member_lists() {
        let level = "n".repeat(252);
        let long = |leaf: &str| format!("/{}/{leaf}", vec![level.as_str(); 17].join("/"));
        let (one, two) = (long("one"), long("two"));
        let exact = format!("/{}", "e".repeat(PROC_CGROUP_PATH_CUT - 1));
        let cut = &one[..PROC_CGROUP_PATH_CUT];
        assert_eq!(
            cut,
            &two[..PROC_CGROUP_PATH_CUT],
            "both cut to the same text"
        );
        let cgroup = |hierarchy: u32, path: &str, procs: &str| CgroupSample {
            hierarchy,
            path: path.to_owned(),
            files: vec![("cgroup.procs", procs.to_owned())],
            ..CgroupSample::default()
        };
        let hierarchy = |id: u32, version: u8| HierarchySample {
            id,
            version,
            root: "/".into(),
            ..HierarchySample::default()
        };
        let mut cgroups = CgroupsSample {
            hierarchies: vec![hierarchy(0, 2), hierarchy(4, 1)],
            cgroups: vec![
                cgroup(0, &one, "7\n"),
                cgroup(0, &two, "9\n"),
                cgroup(0, &exact, "5\n"),
                cgroup(4, "/m", "7\n9\n"),
            ],
            ..CgroupsSample::default()
        };
        let proc = |pid: i32, text: String| {
            Arc::new(ProcSample {
                pid,
                cgroup: text.into(),
                ..ProcSample::default()
            })
        };
        let mut procs = vec![
            proc(7, format!("4:memory:/m\n0::{cut}\n")),
            proc(9, format!("4:memory:/m\n0::{cut}\n")),
            // Moved since the member lists were read: in none of them.
            proc(8, format!("0::{cut}\n")),
            // Exactly 4095 bytes: whole already.
            proc(5, format!("0::{exact}\n")),
        ];
        complete_cut_paths(&mut procs, &mut cgroups, false);
        let text = |i: usize| procs[i].cgroup.to_string();
        assert_eq!(text(0), format!("4:memory:/m\n0::{one}\n"));
        assert_eq!(text(1), format!("4:memory:/m\n0::{two}\n"));
        assert_eq!(text(2), format!("0::{cut}\n"));
        assert_eq!(text(3), format!("0::{exact}\n"));
        // The lists read only for this are gone; a short path's (asked for) stays.
        let listed: Vec<bool> = (cgroups.cgroups.iter())
            .map(|c| c.file("cgroup.procs").is_some())
            .collect();
        assert_eq!(listed, [false, false, false, true]);
    }

    #[test]
    fn v1_files_follow_controllers() {
        let files = files_for(1, &["cpu".to_owned(), "cpuacct".to_owned()]);
        assert!(files.contains(&"cpu.cfs_quota_us") && files.contains(&"cpuacct.usage"));
        assert!(!files.contains(&"memory.stat"));
        assert!(!files_for(2, &[]).contains(&"memory.current"));
    }
}
