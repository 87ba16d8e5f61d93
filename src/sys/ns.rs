//! Namespace link text and the nsfs ioctls.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::{Mode, fstat};

use crate::model::sample::{HeldNs, NsFacts, NsRef, NsType, ProcSample};
use crate::sys::netnsid::NetlinkRoute;
use crate::sys::roots::Roots;

/// Parses link text such as `net:[4026531833]` (from /proc/PID/ns/*, /proc/PID/fd/* or a
/// mountinfo root field). Anything else, e.g. `socket:[123]` or a path, is `None`.
pub fn parse_ns_link(text: &[u8]) -> Option<NsRef> {
    let text = std::str::from_utf8(text).ok()?;
    let (name, rest) = text.split_once(":[")?;
    let ino = rest.strip_suffix(']')?.parse().ok()?;
    let kind = name.parse().ok()?;
    Some(NsRef { kind, ino })
}

// ioctl numbers from linux/nsfs.h: _IO(0xb7, n).
nix::ioctl_none!(ns_get_userns, 0xb7, 1);
nix::ioctl_none!(ns_get_parent, 0xb7, 2);
nix::ioctl_read_bad!(ns_get_owner_uid, 0xb704, nix::libc::uid_t);

/// Calls an ioctl that returns a new nsfs fd and gives that namespace's inode.
fn related_ns_ino(
    fd: BorrowedFd,
    call: unsafe fn(nix::libc::c_int) -> nix::Result<nix::libc::c_int>,
) -> Option<u64> {
    // SAFETY: the ioctl takes no argument; a non-negative result is a new fd we now own.
    let raw = unsafe { call(fd.as_raw_fd()) }.ok()?;
    let owned = unsafe { OwnedFd::from_raw_fd(raw) };
    fstat(&owned).ok().map(|st| st.st_ino)
}

/// Parent (pid and user namespaces), owner user namespace and, for user namespaces, owner UID.
/// The kernel answers EPERM at the top of a hierarchy and when the parent is outside the
/// caller's view; both leave the value `None`.
pub fn ns_facts(fd: BorrowedFd, kind: NsType) -> NsFacts {
    let hierarchical = matches!(kind, NsType::Pid | NsType::User);
    let owner_uid = (kind == NsType::User)
        .then(|| {
            let mut uid: nix::libc::uid_t = 0;
            // SAFETY: NS_GET_OWNER_UID writes one uid_t through the pointer.
            unsafe { ns_get_owner_uid(fd.as_raw_fd(), &mut uid) }
                .ok()
                .map(|_| uid)
        })
        .flatten();
    NsFacts {
        parent: hierarchical
            .then(|| related_ns_ino(fd, ns_get_parent))
            .flatten(),
        owner: related_ns_ino(fd, ns_get_userns),
        owner_uid,
        netnsid: None,
    }
}

/// Opens `path` and checks it is still the namespace we expect (PIDs and fds are reused).
fn open_ns(path: &Path, ns: NsRef) -> nix::Result<OwnedFd> {
    let fd = open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())?;
    if fstat(&fd)?.st_ino != ns.ino {
        return Err(Errno::ESTALE);
    }
    Ok(fd)
}

/// One round of ioctls per distinct namespace (not per process), through the first path that
/// still opens: a member process, then any other holder.
pub fn collect_facts(
    roots: &Roots,
    procs: &[ProcSample],
    held: &[HeldNs],
) -> HashMap<NsRef, NsFacts> {
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
            .push(h.holder.open_path(&roots.proc, h.ns.kind));
    }
    let mut netlink = None;
    paths
        .into_iter()
        .filter_map(|(ns, candidates)| {
            let fd = candidates.iter().find_map(|p| open_ns(p, ns).ok())?;
            let mut facts = ns_facts(fd.as_fd(), ns.kind);
            if ns.kind == NsType::Net {
                let socket = netlink.get_or_insert_with(NetlinkRoute::open);
                facts.netnsid = socket.as_mut().and_then(|s| s.netnsid(fd.as_fd()));
            }
            Some((ns, facts))
        })
        .collect()
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
