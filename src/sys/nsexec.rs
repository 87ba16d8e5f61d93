//! Reading from inside a namespace. Some facts only exist from within (the hostname of a uts
//! namespace, the root of a cgroup namespace, a netlink socket of a network namespace), and
//! `setns()` must not run in a multi-threaded process (ARCHITECTURE.md): a forked child joins the
//! namespace, does one allocation-free step with raw syscalls, and sends back bytes or an fd
//! over a socketpair.

use std::io;
use std::mem::{size_of, size_of_val, zeroed};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::libc;

const SETNS_FAILED: i32 = 3;
const STEP_FAILED: i32 = 4;

/// What the child does after joining the namespace; `out` is its end of the socketpair.
/// Runs after fork: raw syscalls and stack buffers only.
pub type ChildStep = fn(out: RawFd, arg: &[u8]) -> bool;

#[derive(Debug, thiserror::Error)]
pub enum NsExecError {
    #[error("could not join the namespace (setns refused: needs CAP_SYS_ADMIN)")]
    Setns,
    #[error("reading from inside the namespace failed")]
    Step,
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The bytes the child wrote and the fds it passed.
pub struct ChildOutput {
    pub bytes: Vec<u8>,
    pub fds: Vec<OwnedFd>,
}

/// Forks, joins `ns_fd` (of type `nstype`, a CLONE_NEW* flag) in the child, runs `step` there
/// and collects its output. `arg` is passed through (prepared before the fork).
pub fn run_in_namespace(
    ns_fd: BorrowedFd,
    nstype: libc::c_int,
    step: ChildStep,
    arg: &[u8],
) -> Result<ChildOutput, NsExecError> {
    let mut pair = [0 as RawFd; 2];
    // SAFETY: socketpair fills two fds, which we own from here on.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            pair.as_mut_ptr(),
        )
    } != 0
    {
        return Err(io::Error::last_os_error().into());
    }
    let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(pair[0]), OwnedFd::from_raw_fd(pair[1])) };
    // SAFETY: the child only makes raw syscalls on stack data, then _exit()s.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error().into()),
        0 => {
            let code = if unsafe { libc::setns(ns_fd.as_raw_fd(), nstype) } != 0 {
                SETNS_FAILED
            } else if !step(theirs.as_raw_fd(), arg) {
                STEP_FAILED
            } else {
                0
            };
            unsafe { libc::_exit(code) }
        }
        child => {
            drop(theirs);
            let output = receive_all(&ours);
            let mut status = 0;
            // SAFETY: reaping our own child, retried when a signal interrupts the wait.
            while unsafe { libc::waitpid(child, &mut status, 0) } < 0 {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err.into());
                }
            }
            let output = output?;
            match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
                (true, 0) => Ok(output),
                (true, SETNS_FAILED) => Err(NsExecError::Setns),
                _ => Err(NsExecError::Step),
            }
        }
    }
}

/// Reads until EOF, keeping any fds passed with SCM_RIGHTS.
fn receive_all(sock: &OwnedFd) -> io::Result<ChildOutput> {
    let mut out = ChildOutput {
        bytes: Vec::new(),
        fds: Vec::new(),
    };
    let mut buf = [0u8; 4096];
    loop {
        // u64s: aligned for the cmsghdrs the kernel writes here.
        let mut control = [0u64; 8];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr points at our stack buffers, with their true lengths.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of_val(&control);
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        // SAFETY: walking the control messages the kernel wrote into `control`.
        let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        while !cmsg.is_null() {
            let header = unsafe { &*cmsg };
            if header.cmsg_level == libc::SOL_SOCKET && header.cmsg_type == libc::SCM_RIGHTS {
                let data = unsafe { libc::CMSG_DATA(cmsg) }.cast::<RawFd>();
                let count =
                    (header.cmsg_len - unsafe { libc::CMSG_LEN(0) } as usize) / size_of::<RawFd>();
                for i in 0..count {
                    out.fds
                        .push(unsafe { OwnedFd::from_raw_fd(data.add(i).read_unaligned()) });
                }
            }
            cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
        }
        if msg.msg_flags & libc::MSG_CTRUNC != 0 {
            return Err(io::Error::other(
                "file descriptors from the namespace were cut off",
            ));
        }
        if n == 0 {
            return Ok(out);
        }
        out.bytes.extend_from_slice(&buf[..n as usize]);
    }
}

/// Child side: writes all of `bytes`.
pub fn write_all(out: RawFd, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: writing from a live slice.
        let n = unsafe { libc::write(out, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return false;
        }
        bytes = &bytes[n as usize..];
    }
    true
}

/// Child side: passes one fd to the parent.
pub fn send_fd(out: RawFd, fd: RawFd) -> bool {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // Aligned stack space for one cmsghdr carrying one int.
    let mut control = [0u64; 4];
    // SAFETY: msghdr and cmsghdr live in our stack buffers, sized by CMSG_SPACE.
    unsafe {
        let mut msg: libc::msghdr = zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(size_of::<RawFd>() as u32) as usize;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as usize;
        libc::CMSG_DATA(cmsg).cast::<RawFd>().write_unaligned(fd);
        libc::sendmsg(out, &msg, 0) == 1
    }
}
