//! The process scan: one pass over /proc reading each process's namespace links, stat, cmdline,
//! NSpid, the links of threads that differ, and nsfs file descriptors. Every file is opened
//! relative to a /proc/PID dirfd, so a PID reused mid-read cannot mix two processes' files.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use procfs_core::FromRead;
use procfs_core::process::Stat;
use rustix::fs::{Mode, OFlags, RawDir, fstat, openat, readlinkat_raw};
use rustix::io::Errno;

use crate::model::sample::{
    Denied, DeniedPart, HeldNs, HolderSample, NsLinks, NsRef, NsType, ProcSample,
};
use crate::sys::Collect;
use crate::sys::ns::{nsfs_device, nsfs_file, parse_ns_link};
use crate::sys::roots::Roots;
use crate::sys::security;

/// An open socket: which network namespace it belongs to takes an ioctl on a copy of the fd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketFd {
    pub pid: i32,
    pub fd: i32,
    pub ino: u64,
}

/// What one scan of /proc found.
#[derive(Default)]
pub struct ProcScan {
    pub procs: Vec<Arc<ProcSample>>,
    pub held: Vec<HeldNs>,
    pub sockets: Vec<SocketFd>,
    pub denied: Vec<Denied>,
    /// The processes read in full by a scan that leaves command lines out, in PID order.
    pub described: Vec<i32>,
}

impl ProcScan {
    fn merge(&mut self, other: ProcScan) {
        self.procs.extend(other.procs);
        self.held.extend(other.held);
        self.sockets.extend(other.sockets);
        self.denied.extend(other.denied);
        self.described.extend(other.described);
    }
}

/// The inode of `socket:[N]` link text.
fn parse_socket_link(text: &[u8]) -> Option<u64> {
    std::str::from_utf8(text.strip_prefix(b"socket:[")?.strip_suffix(b"]")?)
        .ok()?
        .parse()
        .ok()
}

/// A process that exits mid-read shows up as one of these; it is skipped, never reported.
pub(crate) fn is_gone(e: Errno) -> bool {
    matches!(e, Errno::NOENT | Errno::SRCH | Errno::NODEV)
}

fn is_denied(e: Errno) -> bool {
    matches!(e, Errno::ACCESS | Errno::PERM)
}

/// Whether a process that started at `start_ticks` (after boot) may still be in its first exec.
fn just_started(start_ticks: u64) -> bool {
    let hz = rustix::param::clock_ticks_per_second().max(1) as f64;
    super::boot_time().as_secs_f64() - start_ticks as f64 / hz < 5.0
}

/// `read`, again while it is denied to root and the process (started at `start_ticks`)
/// `just_started`: between exec's new memory map and its dumpable mark a process refuses even
/// root for a moment. (A root without CAP_SYS_PTRACE, in a container, is refused by everything:
/// older processes are not retried.)
fn past_exec<T>(start_ticks: u64, read: impl Fn() -> Result<T, Errno>) -> Result<T, Errno> {
    let mut result = read();
    for _ in 0..3 {
        let denied = matches!(result, Err(e) if is_denied(e));
        if !denied || !super::is_root() || !just_started(start_ticks) {
            break;
        }
        std::thread::yield_now();
        result = read();
    }
    result
}

pub(crate) const DIR_PATH: OFlags = OFlags::PATH.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);
pub(crate) const DIR_LIST: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC);

/// Reads a whole file into `buf` with plain read(2)s: no stat or seek to size it first.
pub(crate) fn read_at(dir: BorrowedFd, name: &str, buf: &mut Vec<u8>) -> Result<(), Errno> {
    let fd = openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    buf.clear();
    loop {
        buf.reserve(4096);
        if rustix::io::read(&fd, rustix::buffer::spare_capacity(buf))? == 0 {
            return Ok(());
        }
    }
}

/// Numeric entries of a directory (/proc, /proc/PID/task, /proc/PID/fd), in kernel order.
fn numeric_entries(dir: impl AsFd) -> Result<Vec<i32>, Errno> {
    let mut space = [MaybeUninit::<u8>::uninit(); 8192];
    let mut entries = RawDir::new(dir, &mut space);
    let mut out = Vec::new();
    while let Some(entry) = entries.next() {
        if let Some(n) = entry?
            .file_name()
            .to_str()
            .ok()
            .and_then(|s| s.parse().ok())
        {
            out.push(n);
        }
    }
    Ok(out)
}

/// Link text into a stack buffer: namespace links are short, anything longer is not one.
fn read_link_text<'b>(
    dir: BorrowedFd,
    name: &str,
    buf: &'b mut [u8; 64],
) -> Result<&'b [u8], Errno> {
    let len = readlinkat_raw(dir, name, &mut *buf)?;
    Ok(&buf[..len.min(buf.len())])
}

/// Reads the namespace links in a `ns` directory. `Err` only when the directory itself is
/// unreadable; a single missing link (a kernel without time namespaces) is `None`.
/// `pid_ns`, when known, is taken as the pid link: it never changes for a process's life.
fn read_links(ns_dir: BorrowedFd, pid_ns: Option<u64>) -> Result<NsLinks, Errno> {
    let mut links = [None; 8];
    for kind in NsType::ALL {
        links[kind.index()] = match pid_ns {
            Some(ino) if kind == NsType::Pid => Some(ino),
            _ => read_link(ns_dir, kind.name())?,
        };
    }
    Ok(links)
}

/// The namespaces one thread can be in apart from its process. The others are the same for a
/// whole thread group: a multi-threaded process may not unshare or setns a user namespace, nor
/// setns a time namespace (unshare only sets `time_for_children`), a thread is created in its
/// creator's user, pid and time namespaces, and a task's pid namespace never changes.
const THREAD_OWN: [NsType; 5] = [
    NsType::Cgroup,
    NsType::Ipc,
    NsType::Mnt,
    NsType::Net,
    NsType::Uts,
];

/// The links of `THREAD_OWN` in a thread's `ns` directory; the others are `None`.
fn read_thread_links(ns_dir: BorrowedFd) -> Result<NsLinks, Errno> {
    let mut links = [None; 8];
    for kind in THREAD_OWN {
        links[kind.index()] = read_link(ns_dir, kind.name())?;
    }
    Ok(links)
}

fn read_link(ns_dir: BorrowedFd, name: &str) -> Result<Option<u64>, Errno> {
    let mut buf = [0u8; 64];
    match read_link_text(ns_dir, name, &mut buf) {
        Ok(text) => Ok(parse_ns_link(text).map(|r| r.ino)),
        Err(e) if is_gone(e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// /proc/PID/oom_score of each process that still exists: whom the OOM killer picks first.
pub fn oom_scores(roots: &Roots, pids: &[i32]) -> Vec<(i32, u32)> {
    pids.iter()
        .filter_map(|&pid| {
            let text = std::fs::read_to_string(roots.proc.join(format!("{pid}/oom_score"))).ok()?;
            Some((pid, text.trim().parse().ok()?))
        })
        .collect()
}

/// The `NSpid:` line of /proc/PID/status: the PID at every level, outermost first.
pub fn parse_nspid(status: &[u8]) -> Option<Vec<i32>> {
    let text = std::str::from_utf8(status).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    let pids: Option<Vec<i32>> = line.split_whitespace().map(|p| p.parse().ok()).collect();
    pids.filter(|p| !p.is_empty())
}

/// `/proc/PID/cmdline` as lsns shows it: NUL-separated arguments joined by spaces.
pub fn join_cmdline(raw: &[u8]) -> String {
    let trimmed = raw.strip_suffix(b"\0").unwrap_or(raw);
    String::from_utf8_lossy(trimmed).replace('\0', " ")
}

/// What one process looked like when last read in full, kept between scans by a `ProcReader`.
struct Known {
    /// The run time of all its threads together when read (`group_run_time`).
    ran: Option<u64>,
    /// As last read; shared with the samples while it stays the same (a sleeping process).
    proc: Arc<ProcSample>,
    held: Vec<HeldNs>,
    sockets: Vec<SocketFd>,
    denied: Vec<DeniedPart>,
}

impl Known {
    fn holding_nothing(ran: Option<u64>, proc: Arc<ProcSample>) -> Known {
        Known {
            ran,
            proc,
            held: Vec::new(),
            sockets: Vec::new(),
            denied: Vec::new(),
        }
    }

    /// Whether nothing but what another process can change may differ from the last full read.
    /// Namespace links (the process's and each thread's), `*_for_children`, the fd table, argv
    /// and the set of threads change only when one of the process's own threads runs (setns,
    /// unshare, open, exec, clone...), and the process's CPU clock sums the run time of all its
    /// threads to the nanosecond: for a process none of whose threads ran, re-reading them
    /// would read the same text (10,000 idle threads cost one clock read, not 10,000 reads).
    fn unchanged(&self, stat: &Stat, ran: Option<u64>) -> bool {
        self.proc.start_time == stat.starttime
            && i64::from(self.proc.threads) == stat.num_threads
            && ran.is_some()
            && ran == self.ran
    }
}

/// The second field of `/proc/PID/statm` ("size resident shared text lib data dt", in pages).
fn parse_statm_resident(text: &[u8]) -> Option<u64> {
    std::str::from_utf8(text)
        .ok()?
        .split_ascii_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The run time of all of a process's threads together, in nanoseconds: its CPU clock
/// (`CPUCLOCK_SCHED` of the process, as clock_getcpuclockid makes it), which the kernel lets
/// anyone read. `None` when the process is gone.
fn group_run_time(pid: i32) -> Option<u64> {
    const CPUCLOCK_SCHED: i32 = 2;
    // `~pid << 3`; a PID too large for it would make another clock (0: our own).
    let clock = nix::time::ClockId::from_raw((!pid).checked_mul(8)? | CPUCLOCK_SCHED);
    let time = nix::time::clock_gettime(clock).ok()?;
    let nanos = i128::from(time.tv_sec()) * 1_000_000_000 + i128::from(time.tv_nsec());
    u64::try_from(nanos).ok()
}

/// Reads a file the kernel prints whole on the first read (one `show` of a single_open seq_file,
/// a cgroup control file, cmdline): a read that leaves room in the buffer was the whole file,
/// which saves the read that returns 0. Multi-record seq_files (cgroup.procs, mountinfo) may
/// stop short at a page: they go through `read_at`.
pub(crate) fn read_record(dir: BorrowedFd, name: &str, buf: &mut Vec<u8>) -> Result<(), Errno> {
    let fd = openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    buf.clear();
    loop {
        buf.reserve(4096);
        let room = buf.capacity() - buf.len();
        let read = rustix::io::read(&fd, rustix::buffer::spare_capacity(buf))?;
        if read < room {
            return Ok(());
        }
    }
}

/// `stat`'s flag of a kernel thread (include/linux/sched.h).
pub(crate) const PF_KTHREAD: u32 = 0x0020_0000;

/// What /proc/PID/stat (with its cgroups and resident pages read beside) says of a process; its
/// namespaces are for the caller to read.
fn basic_sample(
    pid_dir: BorrowedFd,
    stat: Stat,
    rss_pages: u64,
    cgroup: Arc<str>,
) -> Result<ProcSample, Errno> {
    Ok(ProcSample {
        pid: stat.pid,
        ppid: stat.ppid,
        uid: fstat(pid_dir)?.st_uid,
        kernel_thread: stat.flags & PF_KTHREAD != 0,
        comm: stat.comm,
        start_time: stat.starttime,
        cpu_ticks: stat.utime.saturating_add(stat.stime),
        rss_pages,
        threads: u32::try_from(stat.num_threads).unwrap_or(0),
        nspid: vec![stat.pid],
        cgroup,
        ..ProcSample::default()
    })
}

/// Reads one chunk of /proc, each process with what was known of it at the last scan.
struct Scanner<'a> {
    proc_dir: BorrowedFd<'a>,
    /// The pid namespace of the /proc mount, when known: its members' NSpid is just their PID,
    /// which saves reading /proc/PID/status for most processes.
    top_pid_ns: Option<u64>,
    /// The device of nsfs: an fd on it is a namespace whatever its link text says.
    nsfs: Option<(u32, u32)>,
    /// The reader's user namespace: a process in another has its id maps read.
    reader_user_ns: Option<u64>,
    /// What to read of each process: see `Collect`.
    collect: Collect,
    /// Whether there will be a next scan to skip reads in: then each process's CPU clock is
    /// read, which names processes by our own PIDs, so only where /proc's PIDs are ours.
    remember: bool,
    /// Whether a process none of whose threads ran is kept as it was, unread (`Pace::Unattended`).
    skip_idle: bool,
    /// How many cores a scan may keep busy.
    workers: usize,
    namespaces_seen: HashSet<NsRef>,
    buf: Vec<u8>,
    cgroup_buf: Vec<u8>,
    cgroup_texts: HashMap<Vec<u8>, Arc<str>>,
    out: ProcScan,
    known: Vec<(i32, Known)>,
}

impl<'a> Scanner<'a> {
    fn new(proc_dir: BorrowedFd<'a>, top_pid_ns: Option<u64>) -> Scanner<'a> {
        Scanner {
            proc_dir,
            top_pid_ns,
            nsfs: nsfs_device(proc_dir),
            reader_user_ns: read_link(proc_dir, "self/ns/user").ok().flatten(),
            collect: Collect::Namespaces,
            remember: false,
            skip_idle: false,
            workers: 1,
            namespaces_seen: HashSet::new(),
            buf: Vec::with_capacity(4096),
            cgroup_buf: Vec::with_capacity(4096),
            cgroup_texts: HashMap::new(),
            out: ProcScan::default(),
            known: Vec::new(),
        }
    }

    fn scan_pid(&mut self, pid: i32, known: Option<Known>) {
        match self.read_process(pid, known) {
            Ok(known) => {
                self.out.procs.push(known.proc.clone());
                self.out.held.extend_from_slice(&known.held);
                self.out.sockets.extend_from_slice(&known.sockets);
                let denied = known.denied.iter().map(|&part| Denied { pid, part });
                self.out.denied.extend(denied);
                if self.remember {
                    self.known.push((pid, known));
                }
            }
            Err(e) if is_gone(e) => {}
            Err(e) if is_denied(e) => self.out.denied.push(Denied {
                pid,
                part: DeniedPart::Process,
            }),
            // Other errors (EIO on a dying process) are as good as gone.
            Err(_) => {}
        }
    }

    /// The resident pages of /proc/PID/statm, as top and htop show them: summed exactly on
    /// recent kernels, where stat's `rss` stays the per-CPU approximation (off by up to ~64
    /// pages per CPU).
    fn resident_pages(&mut self, pid_dir: BorrowedFd) -> Option<u64> {
        read_record(pid_dir, "statm", &mut self.buf).ok()?;
        parse_statm_resident(&self.buf)
    }

    /// The /proc/PID/cgroup text just read, shared with the processes that have the same.
    fn cgroup_text(&mut self) -> Arc<str> {
        if let Some(text) = self.cgroup_texts.get(self.cgroup_buf.as_slice()) {
            return text.clone();
        }
        let text: Arc<str> = String::from_utf8_lossy(&self.cgroup_buf).into();
        self.cgroup_texts
            .insert(self.cgroup_buf.clone(), text.clone());
        text
    }

    fn open(&self, pid: i32) -> Result<OwnedFd, Errno> {
        openat(
            self.proc_dir,
            pid.to_string().as_str(),
            DIR_PATH,
            Mode::empty(),
        )
    }

    fn read_process(&mut self, pid: i32, known: Option<Known>) -> Result<Known, Errno> {
        // A reused PID is another process, which has run: its clock differs.
        let known = match known {
            Some(k) if self.skip_idle && k.ran.is_some() && k.ran == group_run_time(pid) => {
                return Ok(k);
            }
            other => other,
        };
        let pid_dir = self.open(pid)?;
        // Before anything it guards, so a run after this read shows at the next scan. (By PID,
        // after the dirfd: a PID reused in between fails the reads through the dirfd.)
        let ran = self.remember.then(|| group_run_time(pid)).flatten();
        read_record(pid_dir.as_fd(), "stat", &mut self.buf)?;
        let stat = Stat::from_read(self.buf.as_slice()).map_err(|_| Errno::IO)?;
        // A process can be moved to another cgroup without running: read every time.
        // A kernel without cgroups has no such file; an exiting process already failed above.
        self.cgroup_buf.clear();
        let with_cgroups = matches!(self.collect, Collect::Cgroups | Collect::Everything);
        if with_cgroups && read_record(pid_dir.as_fd(), "cgroup", &mut self.cgroup_buf).is_err() {
            self.cgroup_buf.clear();
        }
        let rss_pages = match self.collect {
            Collect::Everything => self.resident_pages(pid_dir.as_fd()).unwrap_or(stat.rss),
            _ => stat.rss,
        };
        if self.collect == Collect::Cgroups {
            // A zombie is no member (cgroup.procs leaves it out; v1 shows it at `/`).
            if matches!(stat.state, 'Z' | 'X') {
                return Err(Errno::SRCH);
            }
            // Where each process is, read once per process: a listing built from it places a
            // process that moves meanwhile in exactly one cgroup per hierarchy.
            let proc = basic_sample(pid_dir.as_fd(), stat, rss_pages, self.cgroup_text())?;
            return Ok(Known::holding_nothing(ran, Arc::new(proc)));
        }
        let known = known.filter(|k| k.proc.start_time == stat.starttime);
        match known {
            Some(mut known) if known.unchanged(&stat, ran) => {
                let cpu_ticks = stat.utime.saturating_add(stat.stime);
                let p = &known.proc;
                // A parent's exit re-parents without the child running; reclaim shrinks RSS.
                let same = p.ppid == stat.ppid
                    && p.comm == stat.comm
                    && p.cpu_ticks == cpu_ticks
                    && p.rss_pages == rss_pages
                    && p.cgroup.as_bytes() == self.cgroup_buf;
                if !same {
                    known.proc = Arc::new(ProcSample {
                        ppid: stat.ppid,
                        comm: stat.comm,
                        cpu_ticks,
                        rss_pages,
                        cgroup: self.cgroup_text(),
                        ..ProcSample::clone(&known.proc)
                    });
                }
                Ok(known)
            }
            known => {
                let cgroup = self.cgroup_text();
                self.read_links_and_fds(&pid_dir, stat, rss_pages, cgroup, ran, known.as_ref())
            }
        }
    }

    /// Everything a process can change only by running, read in full. Its pid namespace and
    /// NSpid never change, so those come from `before` when it is the same process.
    fn read_links_and_fds(
        &mut self,
        pid_dir: &OwnedFd,
        stat: Stat,
        rss_pages: u64,
        cgroup: Arc<str>,
        ran: Option<u64>,
        before: Option<&Known>,
    ) -> Result<Known, Errno> {
        let pid = stat.pid;
        let start_time = stat.starttime;
        let mut proc = basic_sample(pid_dir.as_fd(), stat, rss_pages, cgroup)?;
        let mut known = Known::holding_nothing(ran, Arc::default());
        let pid_ns_before = before.and_then(|k| k.proc.ns[NsType::Pid.index()]);

        let read_ns = || {
            openat(pid_dir, "ns", DIR_PATH, Mode::empty()).and_then(|ns_dir| {
                let links = read_links(ns_dir.as_fd(), pid_ns_before)?;
                let pid_children = read_link(ns_dir.as_fd(), "pid_for_children")?;
                let time_children = read_link(ns_dir.as_fd(), "time_for_children")?;
                Ok((links, pid_children, time_children))
            })
        };
        match past_exec(start_time, read_ns) {
            Ok((links, pid_children, time_children)) => {
                proc.ns = links;
                let own = |kind: NsType| links[kind.index()];
                proc.pid_for_children = pid_children.filter(|&c| Some(c) != own(NsType::Pid));
                proc.time_for_children = time_children.filter(|&c| Some(c) != own(NsType::Time));
            }
            Err(e) if is_denied(e) => known.denied.push(DeniedPart::Namespaces),
            Err(e) => return Err(e),
        }

        if self.collect != Collect::NamespaceList {
            self.describe(pid_dir, &mut proc, before)?;
        } else if self.first_member(&proc.ns) {
            // A namespace shows its lowest-PID member: the first of it in some share.
            self.describe(pid_dir, &mut proc, before)?;
            self.out.described.push(pid);
        }

        if proc.threads > 1 && proc.ns.iter().any(Option::is_some) {
            self.scan_threads(pid_dir, &proc, &mut known.held);
        }
        self.scan_fds(pid_dir, pid, start_time, &mut known);
        record_for_children(&proc, &mut known.held);
        known.proc = Arc::new(proc);
        Ok(known)
    }

    /// Whether the process is the first of this scanner's to be in one of these namespaces.
    fn first_member(&mut self, links: &NsLinks) -> bool {
        let mut first = false;
        for (kind, ino) in NsType::ALL.into_iter().zip(links) {
            if let Some(ino) = *ino {
                first |= self.namespaces_seen.insert(NsRef { kind, ino });
            }
        }
        first
    }

    /// The command line and NSpid (kept from `before` when it is the same process: they
    /// never change).
    fn describe(
        &mut self,
        pid_dir: &OwnedFd,
        proc: &mut ProcSample,
        before: Option<&Known>,
    ) -> Result<(), Errno> {
        match read_record(pid_dir.as_fd(), "cmdline", &mut self.buf) {
            Ok(()) => proc.cmdline = Some(join_cmdline(&self.buf)),
            Err(e) if is_denied(e) => {}
            Err(e) => return Err(e),
        }
        let pid_ns = proc.ns[NsType::Pid.index()];
        let same_pid_ns =
            before.filter(|b| pid_ns.is_some() && pid_ns == b.proc.ns[NsType::Pid.index()]);
        if let Some(before) = same_pid_ns {
            proc.nspid.clone_from(&before.proc.nspid);
        }
        let nspid_needed = same_pid_ns.is_none() && (pid_ns.is_none() || pid_ns != self.top_pid_ns);
        // Everything's processes carry their privileges, which status says too.
        let security_needed = self.collect == Collect::Everything;
        if !(nspid_needed || security_needed) {
            return Ok(());
        }
        match read_record(pid_dir.as_fd(), "status", &mut self.buf) {
            Ok(()) => {
                if nspid_needed {
                    proc.nspid = parse_nspid(&self.buf).unwrap_or(vec![proc.pid]);
                }
                if security_needed {
                    proc.security = security::parse_status(&self.buf);
                }
            }
            Err(e) if is_denied(e) => {}
            Err(e) => return Err(e),
        }
        if let Some(security) = &mut proc.security {
            let user_ns = proc.ns[NsType::User.index()];
            let foreign = user_ns.is_some() && user_ns != self.reader_user_ns;
            security::read_beside_status(pid_dir.as_fd(), security, foreign, &mut self.buf);
        }
        Ok(())
    }

    /// Threads whose namespaces differ from their process's (a thread may unshare alone).
    fn scan_threads(&mut self, pid_dir: &OwnedFd, proc: &ProcSample, held: &mut Vec<HeldNs>) {
        let Ok(mut tids) =
            openat(pid_dir, "task", DIR_LIST, Mode::empty()).and_then(numeric_entries)
        else {
            return;
        };
        tids.retain(|&t| t != proc.pid);
        let differing = |tids: &[i32]| -> Vec<HeldNs> {
            let mut found = Vec::new();
            for &tid in tids {
                let path = format!("task/{tid}/ns");
                let links = openat(pid_dir, path.as_str(), DIR_PATH, Mode::empty())
                    .and_then(|d| read_thread_links(d.as_fd()));
                let Ok(links) = links else { continue };
                for kind in THREAD_OWN {
                    let ino = links[kind.index()];
                    if let Some(ino) = ino.filter(|_| ino != proc.ns[kind.index()]) {
                        found.push(HeldNs {
                            ns: NsRef { kind, ino },
                            holder: HolderSample::Thread { pid: proc.pid, tid },
                        });
                    }
                }
            }
            found
        };
        // One process with thousands of threads would keep one core busy while the others wait.
        if self.workers < 2 || tids.len() < 1000 {
            held.extend(differing(&tids));
            return;
        }
        let chunk = tids.len().div_ceil(self.workers);
        std::thread::scope(|scope| {
            let parts: Vec<_> = tids
                .chunks(chunk)
                .map(|part| scope.spawn(move || differing(part)))
                .collect();
            for part in parts {
                held.extend(part.join().expect("thread scan panicked"));
            }
        });
    }

    /// Open file descriptors on nsfs (`ip netns exec`-style holders, container runtimes), and
    /// sockets, which may belong to another network namespace.
    fn scan_fds(&mut self, pid_dir: &OwnedFd, pid: i32, start_ticks: u64, known: &mut Known) {
        let fd_dir = match past_exec(start_ticks, || {
            openat(pid_dir, "fd", DIR_LIST, Mode::empty())
        }) {
            Ok(d) => d,
            Err(e) if is_denied(e) => {
                known.denied.push(DeniedPart::Fds);
                return;
            }
            Err(_) => return,
        };
        let Ok(listing) = numeric_entries(&fd_dir) else {
            return;
        };
        let mut buf = [0u8; 64];
        for fd in listing {
            let name = fd.to_string();
            let Ok(text) = read_link_text(fd_dir.as_fd(), name.as_str(), &mut buf) else {
                continue;
            };
            // A namespace opened through a path (a bind mount) reads as that path.
            let through_path = || match (text.first(), self.nsfs) {
                (Some(b'/'), Some(nsfs)) => nsfs_file(fd_dir.as_fd(), &name, nsfs),
                _ => None,
            };
            if let Some(ns) = parse_ns_link(text).or_else(through_path) {
                known.held.push(HeldNs {
                    ns,
                    holder: HolderSample::Fd { pid, fd },
                });
            } else if let Some(ino) = parse_socket_link(text) {
                known.sockets.push(SocketFd { pid, fd, ino });
            }
        }
    }
}

fn record_for_children(proc: &ProcSample, held: &mut Vec<HeldNs>) {
    for (kind, ino) in [
        (NsType::Pid, proc.pid_for_children),
        (NsType::Time, proc.time_for_children),
    ] {
        if let Some(ino) = ino {
            held.push(HeldNs {
                ns: NsRef { kind, ino },
                holder: HolderSample::ForChildren { pid: proc.pid },
            });
        }
    }
}

/// The pid namespace of the /proc mount, if our own process is in it (NSpid has one level).
fn top_pid_ns(proc_dir: BorrowedFd) -> Option<u64> {
    let mut buf = Vec::new();
    read_at(proc_dir, "self/status", &mut buf).ok()?;
    if parse_nspid(&buf)?.len() != 1 {
        return None;
    }
    read_link(proc_dir, "self/ns/pid").ok()?
}

/// Scans /proc again and again, re-reading of each process only what may have changed since
/// the last scan (see `Known::unchanged`); the first scan reads everything.
/// How a reader is used, which decides what is worth reading and on how many threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// A single scan, as fast as possible: all cores, nothing kept for a next scan.
    Once,
    /// Scans again later (`snapshot --interval`): all cores, remembering.
    Again,
    /// A sampler in the background, where CPU time counts more than latency: threads reading
    /// /proc at once contend in the kernel (css_set_lock, dcache) and a scan on two cores costs
    /// about a quarter more CPU than on one.
    Background,
    /// As `Background`, for a sampler whose output shows no process's own numbers
    /// (`nstop serve`): a process none of whose threads ran since the last scan is not read at
    /// all. What another process can change for it (its cgroup, parent, resident memory) is
    /// then as it was when it last ran.
    Unattended,
}

pub struct ProcReader {
    known: HashMap<i32, Known>,
    pace: Pace,
}

impl ProcReader {
    pub fn new(pace: Pace) -> ProcReader {
        ProcReader {
            known: HashMap::new(),
            pace,
        }
    }

    /// Scans every process under `roots.proc`, reading what `collect` needs (see `Collect`).
    /// Fails only when /proc itself cannot be listed.
    /// For `Collect::NamespaceList`, command lines and NSpid are read only for the first member
    /// of each namespace in each thread's share (see `describe` for the others).
    pub fn scan(&mut self, roots: &Roots, collect: Collect) -> io::Result<ProcScan> {
        let proc_dir = rustix::fs::open(&roots.proc, DIR_LIST, Mode::empty()).map_err(|e| {
            io::Error::new(
                io::Error::from(e).kind(),
                format!("{}: {e}", roots.proc.display()),
            )
        })?;
        let mut pids = numeric_entries(&proc_dir).map_err(io::Error::from)?;
        pids.sort_unstable();
        let top_pid_ns = top_pid_ns(proc_dir.as_fd());
        // Processes gone since the last scan are forgotten here.
        let mut before = std::mem::take(&mut self.known);
        let mut work: Vec<(i32, Option<Known>)> =
            pids.iter().map(|pid| (*pid, before.remove(pid))).collect();

        let workers = match self.pace {
            Pace::Background | Pace::Unattended => 1,
            _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let scan_part = |part: Vec<(i32, Option<Known>)>| {
            let mut scanner = Scanner {
                collect,
                remember: self.pace != Pace::Once && roots.is_live() && top_pid_ns.is_some(),
                skip_idle: self.pace == Pace::Unattended,
                workers,
                ..Scanner::new(proc_dir.as_fd(), top_pid_ns)
            };
            for (pid, known) in part {
                scanner.scan_pid(pid, known);
            }
            (scanner.out, scanner.known)
        };
        let parts = if workers == 1 {
            vec![scan_part(work)]
        } else {
            let chunk = work.len().div_ceil(workers).max(1);
            std::thread::scope(|scope| {
                let mut handles = Vec::new();
                while !work.is_empty() {
                    let part = work.split_off(work.len().saturating_sub(chunk));
                    handles.push(scope.spawn(move || scan_part(part)));
                }
                // In PID order: the chunks were split off from the end.
                handles
                    .into_iter()
                    .rev()
                    .map(|h| h.join().expect("scan thread panicked"))
                    .collect()
            })
        };
        let mut total = ProcScan::default();
        for (out, known) in parts {
            total.merge(out);
            self.known.extend(known);
        }
        Ok(total)
    }

    /// Reads the command line and NSpid of the processes `pids` into a scan made without
    /// them, each checked to be still the process scanned (its start time): one that exited
    /// meanwhile keeps none.
    pub fn describe(roots: &Roots, procs: &mut [Arc<ProcSample>], pids: &BTreeSet<i32>) {
        let Ok(proc_dir) = rustix::fs::open(&roots.proc, DIR_LIST, Mode::empty()) else {
            return;
        };
        let mut scanner = Scanner::new(proc_dir.as_fd(), top_pid_ns(proc_dir.as_fd()));
        for proc in procs.iter_mut().filter(|p| pids.contains(&p.pid)) {
            let Ok(pid_dir) = scanner.open(proc.pid) else {
                continue;
            };
            let same = read_record(pid_dir.as_fd(), "stat", &mut scanner.buf).is_ok()
                && Stat::from_read(scanner.buf.as_slice())
                    .is_ok_and(|stat| stat.starttime == proc.start_time);
            if same {
                let _ = scanner.describe(&pid_dir, Arc::make_mut(proc), None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nspid_of_a_process_three_levels_deep() {
        // Captured from /proc/PID/status of `sleep` inside two nested `unshare --pid --fork`.
        let status = b"Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t3622\nNgid:\t0\n\
Pid:\t3622\nPPid:\t3621\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t256\n\
Groups:\t \nNStgid:\t3622\t2\t1\nNSpid:\t3622\t2\t1\nNSpgid:\t3617\t0\t0\nNSsid:\t1033\t0\t0\n";
        assert_eq!(parse_nspid(status), Some(vec![3622, 2, 1]));
    }

    #[test]
    fn nspid_missing_or_garbled() {
        assert_eq!(parse_nspid(b"Name:\tx\nPid:\t5\n"), None);
        assert_eq!(parse_nspid(b"NSpid:\t5\tx\n"), None);
        assert_eq!(parse_nspid(b"NSpid:\n"), None);
    }

    #[test]
    fn run_time_of_our_own_process_grows() {
        let pid = std::process::id() as i32;
        let before = group_run_time(pid).expect("our CPU clock");
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(5) {}
        assert!(group_run_time(pid).unwrap() > before);
        // The kernel has no such PID; shifted without a check it would name our own clock.
        assert_eq!(group_run_time(i32::MAX), None);
        assert_eq!(group_run_time(1 << 30), None);
    }

    #[test]
    fn statm_resident() {
        // Captured from /proc/PID/statm of `sleep` (kernel 6.18), whose stat said rss 414.
        assert_eq!(parse_statm_resident(b"730 457 430 5 0 89 0\n"), Some(457));
        assert_eq!(parse_statm_resident(b"730\n"), None);
    }

    #[test]
    fn socket_links() {
        assert_eq!(parse_socket_link(b"socket:[48213]"), Some(48213));
        assert_eq!(parse_socket_link(b"pipe:[48213]"), None);
        assert_eq!(parse_socket_link(b"socket:[]"), None);
    }

    #[test]
    fn cmdline_joined_like_lsns() {
        assert_eq!(join_cmdline(b"sleep\x00100\x00"), "sleep 100");
        assert_eq!(join_cmdline(b""), "");
        // A process that rewrote its argv into one string with spaces.
        assert_eq!(
            join_cmdline(b"nginx: worker process\x00"),
            "nginx: worker process"
        );
    }
}
