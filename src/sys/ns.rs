//! Namespace link text and the nsfs ioctls.

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use nix::sys::stat::fstat;
use rustix::fs::{
    AtFlags, Mode as RMode, OFlags, ResolveFlags, StatxFlags, openat, openat2, statx,
};

use crate::model::sample::{HeldNs, HolderSample, NsFacts, NsRef, NsType, holders_by_namespace};
use crate::sys::roots::Roots;
use crate::sys::rtnetlink::NetlinkRoute;

/// Parses link text such as `net:[4026531833]` (from /proc/PID/ns/*, /proc/PID/fd/* or a
/// mountinfo root field). Anything else, e.g. `socket:[123]` or a path, is `None`.
pub fn parse_ns_link(text: &[u8]) -> Option<NsRef> {
    let text = std::str::from_utf8(text).ok()?;
    let (name, rest) = text.split_once(":[")?;
    let ino = rest.strip_suffix(']')?.parse().ok()?;
    let kind = name.parse().ok()?;
    Some(NsRef { kind, ino })
}

/// The `CLONE_NEW*` flag of a type: what unshare and setns take, and what NS_GET_NSTYPE answers.
pub fn clone_flag(kind: NsType) -> CloneFlags {
    match kind {
        NsType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        NsType::Ipc => CloneFlags::CLONE_NEWIPC,
        NsType::Mnt => CloneFlags::CLONE_NEWNS,
        NsType::Net => CloneFlags::CLONE_NEWNET,
        NsType::Pid => CloneFlags::CLONE_NEWPID,
        // nix names no CLONE_NEWTIME; the kernel's value.
        NsType::Time => CloneFlags::from_bits_retain(0x80),
        NsType::User => CloneFlags::CLONE_NEWUSER,
        NsType::Uts => CloneFlags::CLONE_NEWUTS,
    }
}

// ioctl numbers from linux/nsfs.h: _IO(0xb7, n) and _IOR(0xb7, 13, __u64).
nix::ioctl_none!(ns_get_userns, 0xb7, 1);
nix::ioctl_none!(ns_get_parent, 0xb7, 2);
nix::ioctl_none!(ns_get_nstype, 0xb7, 3);
nix::ioctl_read_bad!(ns_get_owner_uid, 0xb704, nix::libc::uid_t);
nix::ioctl_read!(ns_get_id, 0xb7, 13, u64);

/// Whether the kernel answers NS_GET_ID, asked of our own network namespace.
pub fn kernel_has_ns_get_id(roots: &Roots) -> bool {
    let Ok(own) = std::fs::File::open(roots.proc.join("self/ns/net")) else {
        return false;
    };
    let mut id = 0u64;
    // SAFETY: NS_GET_ID writes one u64; older kernels answer ENOTTY.
    !super::kernel_lacks("ns-get-id") && unsafe { ns_get_id(own.as_raw_fd(), &mut id) }.is_ok()
}

/// The device of nsfs, where every namespace file lives (one superblock for the whole kernel),
/// from a namespace link under `proc_dir`.
pub fn nsfs_device(proc_dir: BorrowedFd) -> Option<(u32, u32)> {
    let st = statx(proc_dir, "self/ns/net", AtFlags::empty(), StatxFlags::INO).ok()?;
    Some((st.stx_dev_major, st.stx_dev_minor))
}

/// The namespace an open file is, when it is one: an fd opened through a bind mount
/// (`ip netns`, CNI, runtimes) reads as a path such as `/run/netns/x (deleted)` or `/`, so
/// the fd's device and inode tell, and NS_GET_NSTYPE its type. `dir` holds the file under
/// `name` (a /proc/PID/fd directory); paths on other filesystems are only stat'ed, without
/// syncing remote ones.
pub fn nsfs_file(dir: BorrowedFd, name: &str, nsfs: (u32, u32)) -> Option<NsRef> {
    let st = statx(dir, name, AtFlags::STATX_DONT_SYNC, StatxFlags::INO).ok()?;
    if (st.stx_dev_major, st.stx_dev_minor) != nsfs {
        return None;
    }
    // The fd number may be reused between the stat and the open: opened as a path first,
    // and only the same namespace file is opened for its type.
    let found = openat(dir, name, OFlags::PATH | OFlags::CLOEXEC, RMode::empty()).ok()?;
    let fd = reopen_nsfs(found, nsfs, Some(st.stx_ino)).ok()?;
    // SAFETY: NS_GET_NSTYPE takes no argument and returns the CLONE_NEW* flag of the type.
    let flag = unsafe { ns_get_nstype(fd.as_raw_fd()) }.ok()?;
    let kind = NsType::ALL
        .into_iter()
        .find(|&k| clone_flag(k).bits() == flag)?;
    Some(NsRef {
        kind,
        ino: st.stx_ino,
    })
}

/// Calls an ioctl that returns a new nsfs fd (the parent or owner namespace).
fn related_ns(
    fd: BorrowedFd,
    call: unsafe fn(nix::libc::c_int) -> nix::Result<nix::libc::c_int>,
) -> Option<OwnedFd> {
    // SAFETY: the ioctl takes no argument; a non-negative result is a new fd we now own.
    let raw = unsafe { call(fd.as_raw_fd()) }.ok()?;
    Some(unsafe { OwnedFd::from_raw_fd(raw) })
}

fn inode(fd: &OwnedFd) -> Option<u64> {
    fstat(fd).ok().map(|st| st.st_ino)
}

/// A namespace the ioctls led to: the parent or owner of the one asked about.
struct Related {
    fd: OwnedFd,
    ns: NsRef,
    holder: HolderSample,
}

/// Parent (pid and user namespaces), owner user namespace, owner UID (user namespaces) and the
/// 64-bit id. The kernel answers EPERM at the top of a hierarchy and when the parent is outside
/// the caller's view; both leave the value `None`. Also returns the parent and owner fds, so
/// namespaces that only exist as someone's parent or owner can be followed.
fn ns_facts(fd: BorrowedFd, ns: NsRef) -> (NsFacts, Vec<Related>) {
    let raw = fd.as_raw_fd();
    let mut uid: nix::libc::uid_t = 0;
    // SAFETY: NS_GET_OWNER_UID writes one uid_t through the pointer.
    let owner_uid = (ns.kind == NsType::User && unsafe { ns_get_owner_uid(raw, &mut uid) }.is_ok())
        .then_some(uid);
    let mut id = 0u64;
    // SAFETY: NS_GET_ID writes one u64; older kernels answer ENOTTY (namespaces are then
    // told apart by inode alone, as lsns does).
    let id = (!super::kernel_lacks("ns-get-id"))
        .then(|| unsafe { ns_get_id(raw, &mut id) }.ok().map(|_| id))
        .flatten();

    let mut related = Vec::with_capacity(2);
    let mut facts = NsFacts {
        owner_uid,
        id,
        ..NsFacts::default()
    };
    let parent = matches!(ns.kind, NsType::Pid | NsType::User)
        .then(|| related_ns(fd, ns_get_parent))
        .flatten();
    let owner = related_ns(fd, ns_get_userns);
    facts.parent = parent.as_ref().and_then(inode);
    facts.owner = owner.as_ref().and_then(inode);
    if let (Some(fd), Some(ino)) = (parent, facts.parent) {
        let parent = NsRef { kind: ns.kind, ino };
        let holder = HolderSample::ParentOf { ns };
        related.push(Related {
            fd,
            ns: parent,
            holder,
        });
    }
    // A user namespace's owner is its parent: already followed above.
    if let (Some(fd), Some(ino), false) = (owner, facts.owner, ns.kind == NsType::User) {
        let owner = NsRef {
            kind: NsType::User,
            ino,
        };
        let holder = HolderSample::OwnerOf { ns };
        related.push(Related {
            fd,
            ns: owner,
            holder,
        });
    }
    (facts, related)
}

/// Opens `path` when it is still the namespace we expect (PIDs, fds and mount points are
/// reused or replaced) and nothing else: see `reopen_nsfs`. A path inside a process's root
/// (`/proc/PID/root/PATH`, a bind mount in its mount namespace) resolves with that root as `/`,
/// so symlinks its owner planted there cannot lead into ours.
pub fn open_ns(path: &Path, ns: NsRef) -> Result<OwnedFd, rustix::io::Errno> {
    let found = match in_root(path) {
        Some((root, inside)) => {
            let root = rustix::fs::open(
                root,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                RMode::empty(),
            )?;
            let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
            match openat2(&root, &inside, flags, RMode::empty(), resolve) {
                // Before 5.6: symlinks on the way are followed, the last one not.
                Err(rustix::io::Errno::NOSYS) => openat(
                    &root,
                    inside.strip_prefix("/").unwrap_or(&inside),
                    flags,
                    RMode::empty(),
                ),
                found => found,
            }?
        }
        // /proc/PID/ns/X, /proc/PID/fd/N: magic links, to the file itself.
        None => rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, RMode::empty())?,
    };
    reopen_nsfs(found, live_nsfs_device()?, Some(ns.ino))
}

/// The running kernel's nsfs device, learnt once: there is one nsfs superblock per kernel.
fn live_nsfs_device() -> Result<(u32, u32), rustix::io::Errno> {
    static DEVICE: std::sync::OnceLock<Option<(u32, u32)>> = std::sync::OnceLock::new();
    let device = DEVICE.get_or_init(|| {
        let proc = rustix::fs::open(
            "/proc",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            RMode::empty(),
        );
        nsfs_device(proc.ok()?.as_fd())
    });
    device.ok_or(rustix::io::Errno::NODEV)
}

/// `(/proc/PID/root, /PATH)` of a path under a process's root directory.
fn in_root(path: &Path) -> Option<(PathBuf, PathBuf)> {
    let parts: Vec<_> = path.components().collect();
    let at = parts.windows(2).position(|w| {
        w[1].as_os_str() == "root"
            && w[0]
                .as_os_str()
                .to_str()
                .is_some_and(|p| p.parse::<i32>().is_ok())
    })? + 1;
    let root: PathBuf = parts[..=at].iter().collect();
    let inside = Path::new("/").join(parts[at + 1..].iter().collect::<PathBuf>());
    Some((root, inside))
}

/// Reopens for reading an O_PATH descriptor `found` when it is on nsfs (and is inode `ino`,
/// when given), through /proc/self/fd: whatever its path led to, nothing is opened that is
/// not a namespace (an O_PATH open runs no driver's open and blocks on no FIFO).
fn reopen_nsfs(
    found: OwnedFd,
    nsfs: (u32, u32),
    ino: Option<u64>,
) -> Result<OwnedFd, rustix::io::Errno> {
    let st = statx(&found, "", AtFlags::EMPTY_PATH, StatxFlags::INO)?;
    if (st.stx_dev_major, st.stx_dev_minor) != nsfs || ino.is_some_and(|i| i != st.stx_ino) {
        return Err(rustix::io::Errno::STALE);
    }
    let again = format!("/proc/self/fd/{}", found.as_raw_fd());
    rustix::fs::open(
        again.as_str(),
        OFlags::RDONLY | OFlags::CLOEXEC,
        RMode::empty(),
    )
}

/// Paths that may open `ns`: a few member processes' links, then its other holders'.
pub fn open_paths(
    roots: &Roots,
    ns: NsRef,
    members: &[i32],
    holders: &[HolderSample],
) -> Vec<PathBuf> {
    // A few members are plenty: one that exits between scan and ioctl is rare.
    members
        .iter()
        .take(3)
        .map(|pid| roots.proc.join(format!("{pid}/ns/{}", ns.kind)))
        .chain(
            holders
                .iter()
                .filter_map(|h| h.open_path(&roots.proc, ns.kind)),
        )
        .collect()
}

/// What the ioctls found: facts per namespace, and the namespaces that only exist as the parent
/// or owner of another ("ghosts"), with what holds them.
pub struct FactsScan {
    pub facts: HashMap<NsRef, NsFacts>,
    pub ghosts: Vec<HeldNs>,
}

/// One round of ioctls per distinct namespace (not per process), through the first path that
/// still opens. Parents and owners that nothing else holds are followed up their chains.
/// `opened` are namespaces already open (a socket's), which no path may reach. Each namespace
/// is opened just before its ioctls and closed after, so a host with thousands of namespaces
/// does not run out of file descriptors.
pub fn collect_facts(
    roots: &Roots,
    members: &HashMap<NsRef, Vec<i32>>,
    held: &[HeldNs],
    opened: Vec<(NsRef, OwnedFd)>,
) -> FactsScan {
    let holders = holders_by_namespace(held);
    let mut opened: HashMap<NsRef, OwnedFd> = opened.into_iter().collect();
    let known: HashSet<NsRef> = members
        .keys()
        .chain(holders.keys())
        .chain(opened.keys())
        .copied()
        .collect();

    let mut netlink = None;
    let mut facts = HashMap::with_capacity(known.len());
    let mut ghosts = Vec::new();
    // Namespaces reached by an ioctl, with the fd it returned.
    let mut reached: Vec<(OwnedFd, NsRef)> = Vec::new();
    let mut done: HashSet<NsRef> = HashSet::with_capacity(known.len());
    for &ns in &known {
        if done.contains(&ns) {
            continue;
        }
        let fd = opened.remove(&ns).or_else(|| {
            let members = members.get(&ns).map_or(&[][..], Vec::as_slice);
            let holders = holders.get(&ns).map_or(&[][..], Vec::as_slice);
            let paths = open_paths(roots, ns, members, holders);
            paths.iter().find_map(|p| open_ns(p, ns).ok())
        });
        let mut next = fd.map(|fd| (fd, ns));
        // Follow what the ioctls lead to, depth first, so few fds are open at once.
        while let Some((fd, ns)) = next.take().or_else(|| reached.pop()) {
            if !done.insert(ns) {
                continue;
            }
            let (mut ns_facts, related) = ns_facts(fd.as_fd(), ns);
            if ns.kind == NsType::Net {
                let socket = netlink.get_or_insert_with(NetlinkRoute::open);
                ns_facts.netnsid = socket.as_mut().and_then(|s| s.netnsid(fd.as_fd()));
            }
            facts.insert(ns, ns_facts);
            for Related {
                fd,
                ns: other,
                holder,
            } in related
            {
                if !known.contains(&other) {
                    ghosts.push(HeldNs { ns: other, holder });
                }
                // Known namespaces whose own paths failed get their facts this way too.
                if !done.contains(&other) {
                    reached.push((fd, other));
                }
            }
        }
    }
    FactsScan { facts, ghosts }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_under_a_process_root_splits_there() {
        let (root, inside) = in_root(Path::new("/proc/42/root/run/netns/x")).unwrap();
        assert_eq!(
            (root.as_path(), inside.as_path()),
            (Path::new("/proc/42/root"), Path::new("/run/netns/x"))
        );
        assert_eq!(in_root(Path::new("/proc/42/ns/net")), None);
        assert_eq!(in_root(Path::new("/proc/42/fd/3")), None);
    }

    /// Whatever a path leads to now (a fd number reused, a mount point swapped for a symlink),
    /// nothing but a namespace is opened: here a FIFO whose writer waits for a reader would be
    /// released by any open for reading, even a non-blocking one.
    #[test]
    fn a_path_that_is_no_longer_the_namespace_opens_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let link = tmp.path().join("was-a-mount-point");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        let (opened, waiting) = std::sync::mpsc::channel();
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let file = std::fs::OpenOptions::new().write(true).open(&fifo);
                let _ = opened.send(());
                file
            })
        };
        let ns = NsRef {
            kind: NsType::Net,
            ino: 4026531840,
        };
        let through_root = Path::new("/proc/self/root").join(link.strip_prefix("/").unwrap());
        for path in [&link, &fifo, &through_root] {
            assert!(open_ns(path, ns).is_err(), "{}", path.display());
        }
        let still_waiting = waiting
            .recv_timeout(std::time::Duration::from_millis(200))
            .is_err();
        // Let the writer go whatever happened.
        drop(std::fs::File::open(&fifo));
        writer.join().unwrap().unwrap();
        assert!(still_waiting, "the FIFO was opened for reading");
    }

    #[test]
    fn parses_link_text_of_every_type() {
        for kind in NsType::ALL {
            let text = format!("{kind}:[4026531835]");
            assert_eq!(
                parse_ns_link(text.as_bytes()),
                Some(NsRef {
                    kind,
                    ino: 4026531835
                })
            );
        }
    }

    #[test]
    fn rejects_other_link_text() {
        for text in [
            "socket:[12345]",
            "pipe:[9]",
            "/dev/null",
            "net:[]",
            "net:[12",
            "net:[-1]",
            "anon_inode:[eventfd]",
            "pid_for_children:[4026531836]",
        ] {
            assert_eq!(parse_ns_link(text.as_bytes()), None, "{text}");
        }
    }
}
