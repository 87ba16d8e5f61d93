//! A minimal rtnetlink client: NETNSID (RTM_GETNSID with NETNSA_FD, what `ip netns list-id`
//! and lsns's NETNSID column show) and, on a socket made inside another network namespace, its
//! interfaces and addresses (RTM_GETLINK / RTM_GETADDR dumps).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::libc;

use crate::model::sample::Interface;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const RTM_NEWNSID: u16 = 88;
const RTM_GETNSID: u16 = 90;
const NETNSA_NSID: u16 = 1;
const NETNSA_FD: u16 = 3;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_OPERSTATE: u16 = 16;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const HEADER: usize = 16; // struct nlmsghdr
const RTGENMSG: usize = 4; // struct rtgenmsg, padded to NLMSG_ALIGNTO
const IFINFOMSG: usize = 16;
const IFADDRMSG: usize = 8;

fn u16_at(buf: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(buf.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(buf.get(at..at + 4)?.try_into().ok()?))
}

/// A request: header, the family-specific struct (zeroed but for its first byte), attributes.
fn encode(
    kind: u16,
    flags: u16,
    seq: u32,
    family_struct: usize,
    attrs: &[(u16, &[u8])],
) -> Vec<u8> {
    let mut msg = vec![0u8; HEADER + family_struct];
    for (kind, value) in attrs {
        let len = 4 + value.len();
        msg.extend_from_slice(&(len as u16).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(value);
        msg.resize(msg.len().next_multiple_of(4), 0);
    }
    let total = msg.len() as u32;
    msg[0..4].copy_from_slice(&total.to_ne_bytes());
    msg[4..6].copy_from_slice(&kind.to_ne_bytes());
    msg[6..8].copy_from_slice(&flags.to_ne_bytes());
    msg[8..12].copy_from_slice(&seq.to_ne_bytes());
    msg
}

/// The messages in one datagram: (type, sequence, payload after the header).
fn messages(buf: &[u8]) -> Vec<(u16, u32, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while let (Some(len), Some(kind), Some(seq)) =
        (u32_at(buf, at), u16_at(buf, at + 4), u32_at(buf, at + 8))
    {
        let len = len as usize;
        if len < HEADER || at + len > buf.len() {
            break;
        }
        out.push((kind, seq, &buf[at + HEADER..at + len]));
        at += len.next_multiple_of(4);
    }
    out
}

/// Attributes after a family struct of `skip` bytes: (type without flag bits, value).
fn attributes(payload: &[u8], skip: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = skip;
    while let (Some(len), Some(kind)) = (u16_at(payload, at), u16_at(payload, at + 2)) {
        let len = usize::from(len);
        if len < 4 || at + len > payload.len() {
            break;
        }
        out.push((kind & 0x3fff, &payload[at + 4..at + len]));
        at += len.next_multiple_of(4);
    }
    out
}

/// Finds NETNSA_NSID in an RTM_NEWNSID reply to our sequence number.
fn decode_nsid(buf: &[u8], seq: u32) -> Option<i32> {
    let (kind, reply_seq, payload) = *messages(buf).first()?;
    if kind != RTM_NEWNSID || reply_seq != seq {
        return None;
    }
    let (_, value) = attributes(payload, RTGENMSG)
        .into_iter()
        .find(|(kind, _)| *kind == NETNSA_NSID)?;
    Some(u32_at(value, 0)? as i32)
}

fn operstate_name(state: u8) -> &'static str {
    match state {
        1 => "notpresent",
        2 => "down",
        3 => "lowerlayerdown",
        4 => "testing",
        5 => "dormant",
        6 => "up",
        _ => "unknown",
    }
}

fn ip_address(family: u8, bytes: &[u8]) -> Option<IpAddr> {
    match family as i32 {
        libc::AF_INET => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?))),
        libc::AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(bytes).ok()?,
        ))),
        _ => None,
    }
}

/// Folds RTM_NEWLINK and RTM_NEWADDR payloads into interfaces, by index.
fn fold_interfaces(links: &[Vec<u8>], addrs: &[Vec<u8>]) -> Vec<Interface> {
    let mut by_index: BTreeMap<u32, Interface> = BTreeMap::new();
    for link in links {
        let (Some(index), Some(flags)) = (u32_at(link, 4), u32_at(link, 8)) else {
            continue;
        };
        let mut iface = Interface {
            index,
            up: flags & libc::IFF_UP as u32 != 0,
            ..Interface::default()
        };
        for (kind, value) in attributes(link, IFINFOMSG) {
            match kind {
                IFLA_IFNAME => {
                    iface.name = String::from_utf8_lossy(value.strip_suffix(b"\0").unwrap_or(value))
                        .into_owned()
                }
                IFLA_MTU => iface.mtu = u32_at(value, 0),
                IFLA_OPERSTATE => {
                    iface.state = operstate_name(*value.first().unwrap_or(&0)).to_string()
                }
                IFLA_ADDRESS if !value.is_empty() => {
                    iface.mac = Some(
                        value
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<Vec<_>>()
                            .join(":"),
                    );
                }
                _ => {}
            }
        }
        by_index.insert(index, iface);
    }
    for addr in addrs {
        let (Some(&family), Some(&prefix), Some(index)) =
            (addr.first(), addr.get(1), u32_at(addr, 4))
        else {
            continue;
        };
        let attrs = attributes(addr, IFADDRMSG);
        // IPv4 point-to-point links put the peer in IFA_ADDRESS; IFA_LOCAL is ours.
        let value = attrs
            .iter()
            .find(|(kind, _)| *kind == IFA_LOCAL)
            .or_else(|| attrs.iter().find(|(kind, _)| *kind == IFA_ADDRESS));
        if let (Some(iface), Some(ip)) = (
            by_index.get_mut(&index),
            value.and_then(|(_, v)| ip_address(family, v)),
        ) {
            iface.addresses.push(format!("{ip}/{prefix}"));
        }
    }
    by_index.into_values().collect()
}

/// socket(2) for NETLINK_ROUTE as a raw fd: also used by a forked child, which must not
/// allocate.
pub fn raw_socket() -> libc::c_int {
    // SAFETY: plain socket(2).
    unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    }
}

pub struct NetlinkRoute {
    sock: OwnedFd,
    seq: u32,
}

impl NetlinkRoute {
    /// A socket in our own network namespace.
    pub fn open() -> Option<NetlinkRoute> {
        let raw = raw_socket();
        // SAFETY: a non-negative result is a new fd we own.
        (raw >= 0).then(|| NetlinkRoute::from_socket(unsafe { OwnedFd::from_raw_fd(raw) }))
    }

    /// A NETLINK_ROUTE socket made elsewhere (inside another network namespace).
    pub fn from_socket(sock: OwnedFd) -> NetlinkRoute {
        NetlinkRoute { sock, seq: 0 }
    }

    fn send(
        &mut self,
        kind: u16,
        flags: u16,
        family_struct: &[u8],
        attrs: &[(u16, &[u8])],
    ) -> Option<u32> {
        self.seq = self.seq.wrapping_add(1);
        let mut request = encode(
            kind,
            libc::NLM_F_REQUEST as u16 | flags,
            self.seq,
            family_struct.len(),
            attrs,
        );
        request[HEADER..HEADER + family_struct.len()].copy_from_slice(family_struct);
        // SAFETY: sending a buffer we own, with its true length.
        let sent = unsafe {
            libc::send(
                self.sock.as_raw_fd(),
                request.as_ptr().cast(),
                request.len(),
                0,
            )
        };
        (sent == request.len() as isize).then_some(self.seq)
    }

    fn receive(&self, buf: &mut [u8]) -> Option<usize> {
        // SAFETY: receiving into a buffer we own, with its true length.
        let got =
            unsafe { libc::recv(self.sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        usize::try_from(got).ok()
    }

    /// The id of the network namespace `ns_fd` as seen from this socket's: `Some(-1)` when none
    /// is assigned (lsns prints "unassigned"), `None` when the kernel did not answer.
    pub fn netnsid(&mut self, ns_fd: BorrowedFd) -> Option<i32> {
        let fd = ns_fd.as_raw_fd().to_ne_bytes();
        let seq = self.send(
            RTM_GETNSID,
            0,
            &[libc::AF_UNSPEC as u8, 0, 0, 0],
            &[(NETNSA_FD, &fd)],
        )?;
        let mut reply = [0u8; 256];
        let got = self.receive(&mut reply)?;
        decode_nsid(&reply[..got], seq)
    }

    /// Every payload of a dump of `kind` until NLMSG_DONE.
    fn dump(&mut self, kind: u16, family_struct: &[u8], reply_kind: u16) -> Option<Vec<Vec<u8>>> {
        let seq = self.send(kind, libc::NLM_F_DUMP as u16, family_struct, &[])?;
        let mut buf = vec![0u8; 32 * 1024];
        let mut out = Vec::new();
        loop {
            let got = self.receive(&mut buf)?;
            for (msg_kind, msg_seq, payload) in messages(&buf[..got]) {
                if msg_seq != seq {
                    continue;
                }
                match msg_kind {
                    NLMSG_DONE => return Some(out),
                    NLMSG_ERROR => return None,
                    k if k == reply_kind => out.push(payload.to_vec()),
                    _ => {}
                }
            }
        }
    }

    /// Interfaces with their state and addresses, in index order.
    pub fn interfaces(&mut self) -> Option<Vec<Interface>> {
        let links = self.dump(RTM_GETLINK, &[0u8; IFINFOMSG], RTM_NEWLINK)?;
        let addrs = self.dump(RTM_GETADDR, &[0u8; IFADDRMSG], RTM_NEWADDR)?;
        Some(fold_interfaces(&links, &addrs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nsid_reply(seq: u32, nsid: i32) -> Vec<u8> {
        let mut msg = encode(
            RTM_NEWNSID,
            0,
            seq,
            RTGENMSG,
            &[(NETNSA_NSID, &nsid.to_ne_bytes())],
        );
        msg.truncate(28);
        msg
    }

    #[test]
    fn decodes_assigned_and_unassigned_nsid() {
        assert_eq!(decode_nsid(&nsid_reply(7, 5), 7), Some(5));
        assert_eq!(decode_nsid(&nsid_reply(7, -1), 7), Some(-1));
    }

    #[test]
    fn ignores_other_sequence_and_truncation() {
        assert_eq!(decode_nsid(&nsid_reply(7, 5), 8), None);
        assert_eq!(decode_nsid(&nsid_reply(7, 5)[..20], 7), None);
        assert_eq!(decode_nsid(&[], 7), None);
    }

    #[test]
    fn request_layout_matches_struct_sizes() {
        let msg = encode(
            RTM_GETNSID,
            1,
            3,
            RTGENMSG,
            &[(NETNSA_FD, &9i32.to_ne_bytes())],
        );
        assert_eq!(msg.len(), 28);
        assert_eq!(u32_at(&msg, 0), Some(28));
        assert_eq!(u16_at(&msg, 4), Some(RTM_GETNSID));
        assert_eq!(u16_at(&msg, 22), Some(NETNSA_FD));
        assert_eq!(u32_at(&msg, 24), Some(9));
    }

    #[test]
    fn attributes_stop_at_garbage() {
        assert!(attributes(&[8, 0, 1, 0, 1, 2], 0).is_empty());
        assert!(attributes(&[2, 0, 1, 0], 0).is_empty());
    }
}
