//! Network namespaces kept alive by a socket: a process can create a socket in a namespace and
//! leave it (or receive one over a unix socket). The socket's namespace comes from SIOCGSKNS on
//! a copy of the fd taken with pidfd_getfd (needs ptrace rights over the process: root).

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use rustix::fs::fstat;
use rustix::process::{Pid, PidfdFlags, PidfdGetfdFlags, pidfd_getfd, pidfd_open};

use crate::model::sample::{HeldNs, HolderSample, NsRef, NsType, ProcSample};
use crate::sys::proc::SocketFd;
use crate::sys::roots::Roots;

/// SIOCGSKNS from linux/sockios.h: returns an fd of the socket's network namespace.
const SIOCGSKNS: nix::libc::c_ulong = 0x894C;

/// The network namespace of one socket, if the fd still names the socket the scan saw.
fn socket_netns(pidfd: &OwnedFd, socket: SocketFd) -> Option<(u64, OwnedFd)> {
    let copy = pidfd_getfd(pidfd, socket.fd, PidfdGetfdFlags::empty()).ok()?;
    // The fd number may have been closed and reused since the scan.
    if fstat(&copy).ok()?.st_ino != socket.ino {
        return None;
    }
    // SAFETY: SIOCGSKNS takes no argument; a non-negative result is a new fd we own.
    let raw = unsafe { nix::libc::ioctl(copy.as_raw_fd(), SIOCGSKNS) };
    if raw < 0 {
        return None;
    }
    let netns = unsafe { OwnedFd::from_raw_fd(raw) };
    Some((fstat(&netns).ok()?.st_ino, netns))
}

/// Sockets in a network namespace other than their process's, each socket asked about once
/// (forked processes share them). Returns the holders and an open fd per namespace found, so
/// the ioctls can reach namespaces nothing else holds.
pub fn socket_holders(
    roots: &Roots,
    procs: &[std::sync::Arc<ProcSample>],
    sockets: &[SocketFd],
) -> (Vec<HeldNs>, Vec<(NsRef, OwnedFd)>) {
    // pidfds name live processes: a fixture tree's PIDs are not theirs.
    if !roots.is_live() {
        return (Vec::new(), Vec::new());
    }
    let own_net: HashMap<i32, u64> = procs
        .iter()
        .filter_map(|p| Some((p.pid, p.ns[NsType::Net.index()]?)))
        .collect();
    let member_nets: HashSet<u64> = own_net.values().copied().collect();
    let mut answered = HashSet::new();
    let mut unreachable_pids = HashSet::new();
    let mut opened: HashMap<u64, OwnedFd> = HashMap::new();
    let mut held = Vec::new();
    let mut pidfd: Option<(i32, OwnedFd)> = None;
    for &socket in sockets {
        // A process whose own netns is unknown cannot tell a foreign socket from a local one.
        let Some(&own) = own_net.get(&socket.pid) else {
            continue;
        };
        if answered.contains(&socket.ino) || unreachable_pids.contains(&socket.pid) {
            continue;
        }
        if pidfd.as_ref().is_none_or(|(pid, _)| *pid != socket.pid) {
            // Sockets arrive grouped by process: one pidfd per process.
            let fd =
                Pid::from_raw(socket.pid).and_then(|p| pidfd_open(p, PidfdFlags::empty()).ok());
            let Some(fd) = fd else {
                unreachable_pids.insert(socket.pid);
                continue;
            };
            pidfd = Some((socket.pid, fd));
        }
        let Some((_, fd)) = &pidfd else { continue };
        // A socket shared by several processes is asked about once, through the first that
        // answers.
        let Some((ino, netns)) = socket_netns(fd, socket) else {
            continue;
        };
        answered.insert(socket.ino);
        if ino == own {
            continue;
        }
        let ns = NsRef {
            kind: NsType::Net,
            ino,
        };
        let holder = HolderSample::Socket {
            pid: socket.pid,
            fd: socket.fd,
        };
        held.push(HeldNs { ns, holder });
        // Keep an fd only where no member process leads to the namespace.
        if !member_nets.contains(&ino) {
            opened.entry(ino).or_insert(netns);
        }
    }
    let opened = opened
        .into_iter()
        .map(|(ino, fd)| {
            (
                NsRef {
                    kind: NsType::Net,
                    ino,
                },
                fd,
            )
        })
        .collect();
    (held, opened)
}
