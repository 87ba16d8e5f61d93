//! NETNSID: the id our network namespace assigned to another one (RTM_GETNSID over rtnetlink
//! with NETNSA_FD), what `ip netns list-id` and lsns's NETNSID column show.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::libc;

const RTM_GETNSID: u16 = 90;
const RTM_NEWNSID: u16 = 88;
const NETNSA_NSID: u16 = 1;
const NETNSA_FD: u16 = 3;
const HEADER: usize = 16; // struct nlmsghdr
const RTGENMSG: usize = 4; // struct rtgenmsg, padded to NLMSG_ALIGNTO

pub struct NetlinkRoute {
    sock: OwnedFd,
    seq: u32,
}

impl NetlinkRoute {
    pub fn open() -> Option<NetlinkRoute> {
        // SAFETY: plain socket(2); a non-negative result is a new fd we own.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        (raw >= 0).then(|| NetlinkRoute {
            sock: unsafe { OwnedFd::from_raw_fd(raw) },
            seq: 0,
        })
    }

    /// The id of the network namespace `ns_fd` as seen from ours: `Some(-1)` when none is
    /// assigned (lsns prints "unassigned"), `None` when the kernel did not answer.
    pub fn netnsid(&mut self, ns_fd: BorrowedFd) -> Option<i32> {
        self.seq = self.seq.wrapping_add(1);
        let request = encode_request(self.seq, ns_fd.as_raw_fd());
        // SAFETY: send/recv on our socket with buffers we own and their true lengths.
        let sent = unsafe {
            libc::send(
                self.sock.as_raw_fd(),
                request.as_ptr().cast(),
                request.len(),
                0,
            )
        };
        if sent != request.len() as isize {
            return None;
        }
        let mut reply = [0u8; 256];
        let got = unsafe {
            libc::recv(
                self.sock.as_raw_fd(),
                reply.as_mut_ptr().cast(),
                reply.len(),
                0,
            )
        };
        decode_reply(reply.get(..usize::try_from(got).ok()?)?, self.seq)
    }
}

fn encode_request(seq: u32, fd: i32) -> Vec<u8> {
    let attr_len: u16 = 8;
    let total = HEADER + RTGENMSG + usize::from(attr_len);
    let mut msg = Vec::with_capacity(total);
    msg.extend_from_slice(&(total as u32).to_ne_bytes());
    msg.extend_from_slice(&RTM_GETNSID.to_ne_bytes());
    msg.extend_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills ours in
    msg.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
    msg.extend_from_slice(&attr_len.to_ne_bytes());
    msg.extend_from_slice(&NETNSA_FD.to_ne_bytes());
    msg.extend_from_slice(&fd.to_ne_bytes());
    msg
}

fn u16_at(buf: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(buf.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(buf.get(at..at + 4)?.try_into().ok()?))
}

/// Finds NETNSA_NSID in an RTM_NEWNSID reply to our sequence number.
fn decode_reply(buf: &[u8], seq: u32) -> Option<i32> {
    let len = usize::try_from(u32_at(buf, 0)?).ok()?;
    if u16_at(buf, 4)? != RTM_NEWNSID || u32_at(buf, 8)? != seq || len > buf.len() {
        return None;
    }
    let mut at = HEADER + RTGENMSG;
    while at + 4 <= len {
        let attr_len = usize::from(u16_at(buf, at)?);
        if attr_len < 4 {
            return None;
        }
        if u16_at(buf, at + 2)? == NETNSA_NSID {
            return Some(u32_at(buf, at + 4)? as i32);
        }
        at += attr_len.next_multiple_of(4);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(seq: u32, nsid: i32) -> Vec<u8> {
        let mut msg = Vec::new();
        msg.extend_from_slice(&28u32.to_ne_bytes());
        msg.extend_from_slice(&RTM_NEWNSID.to_ne_bytes());
        msg.extend_from_slice(&0u16.to_ne_bytes());
        msg.extend_from_slice(&seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(&[0, 0, 0, 0]);
        msg.extend_from_slice(&8u16.to_ne_bytes());
        msg.extend_from_slice(&NETNSA_NSID.to_ne_bytes());
        msg.extend_from_slice(&nsid.to_ne_bytes());
        msg
    }

    #[test]
    fn decodes_assigned_and_unassigned() {
        assert_eq!(decode_reply(&reply(7, 5), 7), Some(5));
        assert_eq!(decode_reply(&reply(7, -1), 7), Some(-1));
    }

    #[test]
    fn ignores_other_sequence_and_truncation() {
        assert_eq!(decode_reply(&reply(7, 5), 8), None);
        assert_eq!(decode_reply(&reply(7, 5)[..20], 7), None);
        assert_eq!(decode_reply(&[], 7), None);
    }

    #[test]
    fn request_layout_matches_struct_sizes() {
        let msg = encode_request(3, 9);
        assert_eq!(msg.len(), 28);
        assert_eq!(u32_at(&msg, 0), Some(28));
        assert_eq!(u16_at(&msg, 4), Some(RTM_GETNSID));
        assert_eq!(u16_at(&msg, 22), Some(NETNSA_FD));
        assert_eq!(u32_at(&msg, 24), Some(9));
    }
}
