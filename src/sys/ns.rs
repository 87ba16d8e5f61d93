//! Namespace link text and the nsfs ioctls.

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::{Mode, fstat};

use crate::model::sample::{HeldNs, HolderSample, NsFacts, NsRef, NsType, ProcSample};
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

// ioctl numbers from linux/nsfs.h: _IO(0xb7, n) and _IOR(0xb7, 13, __u64).
nix::ioctl_none!(ns_get_userns, 0xb7, 1);
nix::ioctl_none!(ns_get_parent, 0xb7, 2);
nix::ioctl_read_bad!(ns_get_owner_uid, 0xb704, nix::libc::uid_t);
nix::ioctl_read!(ns_get_id, 0xb7, 13, u64);

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
    // SAFETY: NS_GET_ID writes one u64; kernels before 6.12 answer ENOTTY.
    let id = unsafe { ns_get_id(raw, &mut id) }.ok().map(|_| id);

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

/// Opens `path` and checks it is still the namespace we expect (PIDs and fds are reused).
pub fn open_ns(path: &Path, ns: NsRef) -> nix::Result<OwnedFd> {
    let fd = open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())?;
    if fstat(&fd)?.st_ino != ns.ino {
        return Err(Errno::ESTALE);
    }
    Ok(fd)
}

/// What the ioctls found: facts per namespace, and the namespaces that only exist as the parent
/// or owner of another ("ghosts"), with what holds them.
pub struct FactsScan {
    pub facts: HashMap<NsRef, NsFacts>,
    pub ghosts: Vec<HeldNs>,
}

/// One round of ioctls per distinct namespace (not per process), through the first path that
/// still opens: a member process, then any other holder. Parents and owners that nothing else
/// holds are followed up their chains.
/// `opened` are namespaces already open (a socket's), which no path may reach.
pub fn collect_facts(
    roots: &Roots,
    procs: &[ProcSample],
    held: &[HeldNs],
    opened: Vec<(NsRef, OwnedFd)>,
) -> FactsScan {
    let mut paths: HashMap<NsRef, Vec<PathBuf>> = HashMap::new();
    for proc in procs {
        for kind in NsType::ALL {
            if let Some(ino) = proc.ns[kind.index()] {
                let candidates = paths.entry(NsRef { kind, ino }).or_default();
                // Two candidates are plenty: a member that exits between scan and ioctl is rare.
                if candidates.len() < 2 {
                    candidates.push(roots.proc.join(format!("{}/ns/{kind}", proc.pid)));
                }
            }
        }
    }
    for h in held {
        paths
            .entry(h.ns)
            .or_default()
            .extend(h.holder.open_path(&roots.proc, h.ns.kind));
    }

    let mut netlink = None;
    let mut facts = HashMap::with_capacity(paths.len());
    let mut pending: Vec<(OwnedFd, NsRef)> = Vec::new();
    for (ns, candidates) in &paths {
        if let Some(fd) = candidates.iter().find_map(|p| open_ns(p, *ns).ok()) {
            pending.push((fd, *ns));
        }
    }
    // Every namespace ever queued, so each gets one round of ioctls.
    let mut queued: HashSet<NsRef> = pending.iter().map(|(_, ns)| *ns).collect();
    for (ns, fd) in opened {
        if queued.insert(ns) {
            paths.entry(ns).or_default();
            pending.push((fd, ns));
        }
    }
    let mut ghosts = Vec::new();
    while let Some((fd, ns)) = pending.pop() {
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
            if paths.contains_key(&other) {
                continue;
            }
            // First sight of a ghost: follow it too. Every child it has is recorded.
            if queued.insert(other) {
                pending.push((fd, other));
            }
            ghosts.push(HeldNs { ns: other, holder });
        }
    }
    FactsScan { facts, ghosts }
}

#[cfg(test)]
mod tests {
    use super::*;

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
