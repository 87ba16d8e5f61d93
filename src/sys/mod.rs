//! Readers: the only code besides `ops/` that touches the kernel. Each takes a `Roots`.

pub mod cgroupfs;
pub mod detail;
pub mod kmsg;
pub mod longpath;
pub mod mounts;
pub mod ns;
pub mod nsexec;
pub mod proc;
pub mod roots;
pub mod rtnetlink;
pub mod runtimes;
pub mod security;
pub mod sockets;
pub mod users;

use crate::model::sample::{CgroupsSample, Sample, SystemSample, members_by_namespace};
pub use proc::Pace;
pub use roots::Roots;

/// What a tick reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collect {
    /// Processes and namespaces.
    Namespaces,
    /// Namespaces, with only the processes they show (each one's lowest-PID member, or the
    /// process holding it) read in full: the others lack their command line and NSpid.
    NamespaceList,
    /// Every cgroup hierarchy and system pressure; of processes only their cgroups (each
    /// process's own /proc/PID/cgroup is what places it).
    Cgroups,
    /// Both, and each process's cgroups.
    Everything,
}

/// One collection tick, the only one.
pub fn sample(roots: &Roots, collect: Collect) -> std::io::Result<Sample> {
    Sampler::new(Pace::Once).sample(roots, collect)
}

/// Collects tick after tick, re-reading of each process only what may have changed.
pub struct Sampler {
    procs: proc::ProcReader,
    names: runtimes::NameReader,
}

impl Sampler {
    pub fn new(pace: Pace) -> Sampler {
        Sampler {
            procs: proc::ProcReader::new(pace),
            names: runtimes::NameReader::default(),
        }
    }

    /// The names the runtimes keep for the containers the cgroups are.
    fn container_names(
        &mut self,
        roots: &Roots,
        cgroups: &CgroupsSample,
    ) -> runtimes::RuntimeNames {
        let wanted = runtimes::wanted(cgroups.cgroups.iter().map(|c| c.path.as_str()));
        self.names.read(roots, &wanted)
    }

    /// One collection tick: processes, the other holders of namespaces, one round of nsfs
    /// ioctls per distinct namespace, and the cgroups when asked.
    pub fn sample(&mut self, roots: &Roots, collect: Collect) -> std::io::Result<Sample> {
        let listing_only = collect == Collect::NamespaceList;
        let mut scan = self.procs.scan(roots, collect)?;
        if collect == Collect::Cgroups {
            // A captured tree cannot change under its reader: there the member lists are whole.
            let membership = !roots.is_live();
            let mut cgroups = cgroupfs::sample(roots, membership);
            cgroupfs::complete_cut_paths(&mut scan.procs, &mut cgroups, membership);
            let names = self.container_names(roots, &cgroups);
            return Ok(Sample {
                procs: scan.procs,
                denied: scan.denied,
                cgroups,
                container_names: names.names,
                name_notes: names.notes,
                ..Sample::default()
            });
        }
        let members = members_by_namespace(&scan.procs);
        let mut held = scan.held;
        held.extend(mounts::nsfs_holders(roots, &members));
        let (socket_held, socket_ns) = sockets::socket_holders(roots, &scan.procs, &scan.sockets);
        held.extend(socket_held);
        let facts = ns::collect_facts(roots, &members, &held, socket_ns);
        held.extend(facts.ghosts);
        if listing_only {
            let shown = members
                .values()
                .filter_map(|pids| pids.first().copied())
                .chain(held.iter().filter_map(|h| h.holder.pid()))
                .filter(|pid| scan.described.binary_search(pid).is_err())
                .collect();
            proc::ProcReader::describe(roots, &mut scan.procs, &shown);
        }
        let system = system_sample(roots);
        let (cgroups, names) = if collect == Collect::Everything {
            // Every process's cgroups were read with it: the member lists come from there.
            let mut cgroups = cgroupfs::sample(roots, false);
            cgroupfs::complete_cut_paths(&mut scan.procs, &mut cgroups, false);
            let names = self.container_names(roots, &cgroups);
            (cgroups, names)
        } else {
            Default::default()
        };
        Ok(Sample {
            // The link text: a captured tree keeps it as a symlink to nowhere.
            reader_mnt_ns: std::fs::read_link(roots.proc.join("self/ns/mnt"))
                .ok()
                .and_then(|link| ns::parse_ns_link(link.as_os_str().as_encoded_bytes()))
                .map(|r| r.ino),
            reader_root: rustix::fs::open(
                &roots.proc,
                rustix::fs::OFlags::PATH,
                rustix::fs::Mode::empty(),
            )
            .ok()
            .and_then(|dir| security::reader_root(std::os::fd::AsFd::as_fd(&dir))),
            procs: scan.procs,
            held,
            ns_facts: facts.facts,
            denied: scan.denied,
            user_names: users::read_user_names(roots),
            cgroups,
            container_names: names.names,
            name_notes: names.notes,
            system,
        })
    }
}

/// The host-wide files; each unreadable one stays empty (the header then shows less).
fn system_sample(roots: &Roots) -> SystemSample {
    let read = |name: &str| std::fs::read_to_string(roots.proc.join(name)).unwrap_or_default();
    SystemSample {
        taken_at: boot_time(),
        clock_ticks: rustix::param::clock_ticks_per_second(),
        page_size: rustix::param::page_size() as u64,
        hostname: read("sys/kernel/hostname").trim().to_owned(),
        kernel: kernel_release(roots).unwrap_or_default(),
        uptime: read("uptime"),
        loadavg: read("loadavg"),
        meminfo: read("meminfo"),
        stat: read("stat"),
        ptrace_scope: read("sys/kernel/yama/ptrace_scope"),
        core_pattern: read("sys/kernel/core_pattern"),
    }
}

/// The wall clock: time since the epoch (zero for a clock set before it).
pub fn since_epoch() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// CLOCK_BOOTTIME: monotonic, and counts suspended time as the kernel's counters do.
pub(crate) fn boot_time() -> std::time::Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    std::time::Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Debug builds only (the tests' binary): `NSTOP_HIDE=ns-get-id,pidfd-setns` makes nstop act as
/// on a kernel without those features, so their fallbacks are tested on this one.
pub fn kernel_lacks(feature: &str) -> bool {
    cfg!(debug_assertions)
        && std::env::var("NSTOP_HIDE").is_ok_and(|hidden| hidden.split(',').any(|f| f == feature))
}

/// The running kernel's release (`6.1.0-50-amd64`), from /proc.
pub fn kernel_release(roots: &Roots) -> Option<String> {
    let text = std::fs::read_to_string(roots.proc.join("sys/kernel/osrelease")).ok()?;
    Some(text.trim().to_owned())
}

/// Whether setns takes a pidfd: kernels from 5.8 on. Told by the release, not tried: setns
/// happens only in a forked child, and a probe would join a namespace here.
pub fn kernel_has_pidfd_setns(roots: &Roots) -> bool {
    let release = kernel_release(roots).unwrap_or_default();
    let mut numbers = release
        .split(['.', '-'])
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let version = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    version >= (5, 8) && !kernel_lacks("pidfd-setns")
}

/// Where nstop keeps what it writes (the audit log, recordings): `$XDG_STATE_HOME/nstop`, else
/// `~/.local/state/nstop`.
pub fn state_dir() -> Option<std::path::PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let state = var("XDG_STATE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| var("HOME").map(|home| std::path::PathBuf::from(home).join(".local/state")))?;
    Some(state.join("nstop"))
}

/// Whether we run as root: what the unreadable-process notices suggest depends on it.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

nix::ioctl_read_bad!(tiocgwinsz, nix::libc::TIOCGWINSZ, nix::libc::winsize);

/// Columns of the terminal on stdout, if it is one.
pub fn terminal_width() -> Option<usize> {
    let mut size = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills one winsize struct.
    unsafe { tiocgwinsz(nix::libc::STDOUT_FILENO, &mut size) }.ok()?;
    (size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// Refuses a directory nstop would write into (the audit log's, a recording's) when another
/// user could swap what is in it, as ssh refuses `~/.ssh`: it must be a real directory (not a
/// symlink) owned by the effective user and writable by no one else, and every directory above
/// it owned by root or that user and not writable by others (unless sticky, as /tmp).
pub fn check_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // The caller names the directory: these say only what is wrong with it.
    let refuse = |why: String| std::io::Error::new(std::io::ErrorKind::PermissionDenied, why);
    let me = nix::unistd::geteuid().as_raw();
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() {
        return Err(refuse("is a symlink; name the directory itself".into()));
    }
    if !meta.is_dir() {
        return Err(refuse("not a directory".into()));
    }
    if meta.uid() != me {
        return Err(refuse(format!(
            "owned by UID {}, not by UID {me} who runs nstop",
            meta.uid()
        )));
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(refuse(format!(
            "writable by group or others (mode {:o}); chmod go-w it",
            meta.permissions().mode() & 0o7777
        )));
    }
    let real = std::fs::canonicalize(dir)?;
    for above in real.ancestors().skip(1) {
        let meta = std::fs::metadata(above)?;
        let mode = meta.permissions().mode();
        let shared = mode & 0o002 != 0 && mode & 0o1000 == 0;
        if (meta.uid() != 0 && meta.uid() != me) || shared {
            return Err(refuse(format!(
                "{} above it is owned by UID {} or writable by others; another user could \
                 replace it",
                above.display(),
                meta.uid()
            )));
        }
    }
    Ok(())
}
