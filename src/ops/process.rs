//! Processes acted on by PID, pinned so a reused PID is never hit: a pidfd is opened, then the
//! start time read and the pidfd checked to be still alive (so the start time was that
//! process's), and compared with the one the user saw. Signals go through the pidfd. PID 1,
//! kernel threads and nstop itself are refused.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::libc;
use nix::sys::signal::Signal;

use crate::ops::Refused;
use crate::sys::proc::PF_KTHREAD;

/// (start time, flags, ppid) of /proc/PID/stat.
fn stat(pid: i32) -> Option<(u64, u64, i32)> {
    stat_at(&format!("/proc/{pid}/stat"))
}

fn stat_at(path: &str) -> Option<(u64, u64, i32)> {
    let text = std::fs::read_to_string(path).ok()?;
    // The name may hold spaces and parentheses: the fields start after the last ')'.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 4 (ppid), 9 (flags) and 22 (starttime), counted from 1 with state as 3.
    Some((
        fields.get(19)?.parse().ok()?,
        fields.get(6)?.parse().ok()?,
        fields.get(1)?.parse().ok()?,
    ))
}

/// The process (thread group) a PID or TID belongs to.
fn thread_group(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))?
        .trim()
        .parse()
        .ok()
}

/// `/proc/PID/cgroup`, for the audit log's before and after of a move.
pub fn cgroup_text(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .ok()
        .map(|t| t.trim_end().replace('\n', "; "))
}

/// `KILL`, `SIGKILL`, `kill` or `9`.
pub fn parse_signal(text: &str) -> Result<i32, String> {
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n).map(|s| s as i32).map_err(|_| {
            format!(
                "signal {n} does not exist (accepted: 1 to 31, or a name such as TERM, KILL, HUP)"
            )
        });
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>()
        .map(|s| s as i32)
        .map_err(|_| format!("unknown signal '{text}' (accepted: a name such as TERM, KILL, HUP, INT, STOP, CONT, USR1, or a number)"))
}

pub fn signal_name(signal: i32) -> String {
    Signal::try_from(signal).map_or_else(|_| signal.to_string(), |s| s.as_str().to_owned())
}

/// What `signal` does to `pid` when it is the init (PID 1) of a pid namespace below ours:
/// SIGKILL and SIGSTOP always arrive; any other it ignores unless it has a handler (SigCgt).
pub fn init_note(pid: i32, signal: i32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let nspid = crate::sys::proc::parse_nspid(status.as_bytes())?;
    if nspid.len() < 2 || nspid.last() != Some(&1) {
        return None;
    }
    let name = signal_name(signal);
    let init = format!("PID {pid} is the init (PID 1) of its pid namespace");
    // From an ancestor namespace the kernel delivers SIGKILL and SIGSTOP to an init whatever
    // it handles; SIGCONT resumes a stopped process whether or not it is handled.
    match signal {
        libc::SIGKILL => {
            return Some(format!(
                "{init}: {name} reaches it; when it ends, every process in that namespace is killed"
            ));
        }
        libc::SIGSTOP => {
            return Some(format!(
                "{init}: {name} reaches it and stops it; its namespace's processes run on"
            ));
        }
        libc::SIGCONT => {
            return Some(format!("{init}: {name} resumes it if it is stopped"));
        }
        _ => {}
    }
    let caught = status.lines().find_map(|l| l.strip_prefix("SigCgt:"))?;
    let caught = u64::from_str_radix(caught.trim(), 16).ok()?;
    Some(match caught & (1 << (signal - 1)) != 0 {
        true => format!(
            "{init}: it handles {name}; if it exits, every process in that namespace is killed"
        ),
        false => format!(
            "{init}: it has no handler for {name}, so it ignores it (only SIGKILL ends it from here)"
        ),
    })
}

/// A process held by a pidfd whose start time is known to be its own.
pub struct Pinned {
    pub pid: i32,
    pub start_time: u64,
    pub kernel_thread: bool,
    pidfd: OwnedFd,
}

impl Pinned {
    /// Holds what runs as `pid` now, with its start time and flags. Any process may be
    /// looked at or entered; `pin` refuses those that may not be moved or signalled.
    pub fn open(pid: i32) -> Result<Pinned, Refused> {
        let gone = || Refused(format!("PID {pid} does not exist"));
        if pid <= 0 {
            return Err(gone());
        }
        // A thread other than the main one has no pidfd of its own: its process's stands for
        // it, and the thread's start time is read under the process's task directory.
        let tgid = thread_group(pid).ok_or_else(gone)?;
        let pidfd = rustix::process::pidfd_open(
            rustix::process::Pid::from_raw(tgid).ok_or_else(gone)?,
            rustix::process::PidfdFlags::empty(),
        )
        .map_err(|e| match e {
            rustix::io::Errno::SRCH => gone(),
            e => Refused(format!("pidfd_open({pid}): {e}")),
        })?;
        let (start_time, flags, _) =
            stat_at(&format!("/proc/{tgid}/task/{pid}/stat")).ok_or_else(gone)?;
        let pinned = Pinned {
            pid,
            start_time,
            kernel_thread: flags & u64::from(PF_KTHREAD) != 0,
            pidfd,
        };
        // Still alive after the read: the start time was this process's.
        pinned.alive()?;
        Ok(pinned)
    }

    /// Pins what runs as `pid` now, refusing PID 1, kernel threads and nstop itself.
    pub fn pin(pid: i32) -> Result<Pinned, Refused> {
        if pid == 1 {
            return Err(Refused(
                "PID 1 is the init of this PID namespace: nstop does not move or signal it".into(),
            ));
        }
        if pid == std::process::id() as i32 {
            return Err(Refused(format!("PID {pid} is this nstop itself")));
        }
        let pinned = Pinned::open(pid)?;
        if pinned.kernel_thread {
            return Err(Refused(format!(
                "PID {pid} is a kernel thread: it cannot be signalled or moved"
            )));
        }
        Ok(pinned)
    }

    /// Refuses a process that is not the one that started at `start_time`.
    pub fn started_at(self, start_time: u64) -> Result<Pinned, Refused> {
        if self.start_time != start_time {
            return Err(Refused(format!(
                "PID {} is now another process (the one shown has exited and its PID was reused): nothing done",
                self.pid
            )));
        }
        Ok(self)
    }

    /// Pins `pid` if it is still the process that started at `start_time`.
    pub fn check(pid: i32, start_time: u64) -> Result<Pinned, Refused> {
        Pinned::pin(pid)?.started_at(start_time)
    }

    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.pidfd)
    }

    /// Refuses once the process has exited (its pidfd reads as ready).
    pub fn alive(&self) -> Result<(), Refused> {
        let mut poll = libc::pollfd {
            fd: self.pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        let ready = unsafe { libc::poll(&mut poll, 1, 0) };
        if ready == 0 {
            Ok(())
        } else {
            Err(Refused(format!("PID {} has exited", self.pid)))
        }
    }

    pub fn signal(&self, signal: i32) -> Result<(), Refused> {
        // SAFETY: pidfd_send_signal with a valid pidfd, no siginfo, no flags.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        Err(Refused(match e.raw_os_error() {
            Some(libc::ESRCH) => format!("PID {} has exited", self.pid),
            Some(libc::EPERM) => format!(
                "signalling PID {} needs CAP_KILL or the same user as the process (run as root)",
                self.pid
            ),
            _ => format!("pidfd_send_signal({}): {e}", self.pid),
        }))
    }
}

/// `pid` and every process descending from it, parents first (for `--tree` moves).
pub fn with_descendants(pid: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(child) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if let Some((_, _, ppid)) = stat(child) {
                children.entry(ppid).or_default().push(child);
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while let Some(&p) = out.get(i) {
        let mut kids = children.remove(&p).unwrap_or_default();
        kids.sort_unstable();
        out.extend(kids);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(parse_signal("KILL"), Ok(9));
        assert_eq!(parse_signal("sigterm"), Ok(15));
        assert_eq!(parse_signal("hup"), Ok(1));
        assert_eq!(parse_signal("19"), Ok(19));
        assert!(parse_signal("99").unwrap_err().contains("does not exist"));
        assert!(parse_signal("FOO").unwrap_err().contains("accepted"));
        assert_eq!(signal_name(9), "SIGKILL");
    }

    #[test]
    fn refuses_init_itself_and_kernel_threads() {
        assert!(Pinned::pin(1).err().unwrap().0.contains("PID 1"));
        let me = std::process::id() as i32;
        assert!(Pinned::pin(me).err().unwrap().0.contains("nstop itself"));
        // kthreadd is PID 2 on every Linux host.
        assert!(Pinned::pin(2).err().unwrap().0.contains("kernel thread"));
        assert!(Pinned::pin(0).err().unwrap().0.contains("does not exist"));
    }

    #[test]
    fn a_pinned_child_and_a_reused_pid() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let pinned = Pinned::pin(pid).unwrap();
        assert!(pinned.alive().is_ok());
        assert_eq!(with_descendants(pid), vec![pid]);
        assert!(with_descendants(std::process::id() as i32).contains(&pid));
        // The PID as the user saw it, with another start time: refused.
        let err = Pinned::check(pid, pinned.start_time + 1).err().unwrap();
        assert!(err.0.contains("another process"), "{err}");
        pinned.signal(libc::SIGKILL).unwrap();
        child.wait().unwrap();
        assert!(pinned.alive().is_err());
        assert!(pinned.signal(libc::SIGTERM).is_err());
    }
}
