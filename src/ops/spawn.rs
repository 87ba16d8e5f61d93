//! Commands run in other namespaces or cgroups: `unshare`, `enter` and `cg exec`. They run in
//! a single-threaded nstop (the CLI, or a child forked from the TUI before it execs): the
//! kernel refuses mnt, user and time setns to a multi-threaded process. The namespace changes
//! are planned like every other change (dry-run, audit log), then nstop forks where a pid or
//! time namespace needs it and the child becomes the command.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::libc;
use nix::mount::{MsFlags, mount};
use nix::sched::CloneFlags;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, execvp, fork};

use crate::model::sample::{NsRef, NsType};
use crate::ops::process::Pinned;
use crate::ops::{Change, Plan, Refused};
use crate::sys::ns::{clone_flag, open_ns};

pub fn clone_name(kind: NsType) -> &'static str {
    match kind {
        NsType::Cgroup => "CLONE_NEWCGROUP",
        NsType::Ipc => "CLONE_NEWIPC",
        NsType::Mnt => "CLONE_NEWNS",
        NsType::Net => "CLONE_NEWNET",
        NsType::Pid => "CLONE_NEWPID",
        NsType::Time => "CLONE_NEWTIME",
        NsType::User => "CLONE_NEWUSER",
        NsType::Uts => "CLONE_NEWUTS",
    }
}

fn flags(kinds: &[NsType]) -> CloneFlags {
    kinds
        .iter()
        .fold(CloneFlags::empty(), |f, &k| f | clone_flag(k))
}

/// The command to run: what was given, else the user's shell.
pub fn command_or_shell(command: &[String]) -> Vec<String> {
    if command.is_empty() {
        vec![
            std::env::var("SHELL")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "/bin/sh".into()),
        ]
    } else {
        command.to_vec()
    }
}

/// The long option that names a type, as unshare(1) and nsenter(1) spell it.
pub fn flag(kind: NsType) -> String {
    match kind {
        NsType::Mnt => "--mount".into(),
        other => format!("--{other}"),
    }
}

fn flags_text(kinds: &[NsType]) -> String {
    kinds.iter().map(|&k| flag(k)).collect::<Vec<_>>().join(" ")
}

/// Exit status when the command could not be run: 127 not found, 126 otherwise (the shell's).
pub fn exec_status(why: &Refused) -> u8 {
    if why.0.ends_with("command not found") {
        127
    } else {
        126
    }
}

/// Replaces this process with `command` (searched in PATH); returns only on failure.
pub fn exec(command: &[String]) -> Refused {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // Rust ignores SIGPIPE and exec keeps ignored signals: `yes | head` must end as usual.
    // SAFETY: restoring a default disposition.
    unsafe {
        let _ = signal(Signal::SIGPIPE, SigHandler::SigDfl);
    }
    let args: Result<Vec<CString>, _> =
        command.iter().map(|a| CString::new(a.as_bytes())).collect();
    let Ok(args) = args else {
        return Refused("the command contains a NUL byte".into());
    };
    match execvp(&args[0], &args) {
        Err(nix::errno::Errno::ENOENT) => Refused(format!("{}: command not found", command[0])),
        Err(e) => Refused(format!("cannot run {}: {e}", command[0])),
        Ok(never) => match never {},
    }
}

/// Forks; the child runs `child` (which execs, or returns why it could not), the parent waits
/// and returns the exit status to pass on (128 + signal when the child was killed).
pub fn fork_and_wait(child: impl FnOnce() -> Refused) -> Result<u8, Refused> {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // Ctrl-C and Ctrl-\ are for the command: the waiting parent outlives them (as unshare and
    // nsenter do), the child gets the defaults back.
    let set = |handler| {
        for sig in [Signal::SIGINT, Signal::SIGQUIT] {
            // SAFETY: switching between ignore and default dispositions.
            let _ = unsafe { signal(sig, handler) };
        }
    };
    set(SigHandler::SigIgn);
    // SAFETY: nstop is single-threaded here (the CLI), so the child may do anything.
    let forked = unsafe { fork() }.map_err(|e| Refused(format!("fork: {e}")));
    let status = match forked {
        Ok(ForkResult::Child) => {
            set(SigHandler::SigDfl);
            let why = child();
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("nstop: {}\n", why.0).as_bytes(),
            );
            // SAFETY: leaves the child without running the parent's destructors twice.
            unsafe { libc::_exit(i32::from(exec_status(&why))) }
        }
        Ok(ForkResult::Parent { child }) => loop {
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, code)) => break Ok(code as u8),
                Ok(WaitStatus::Signaled(_, signal, _)) => break Ok(128 + signal as u8),
                Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => break Err(Refused(format!("waitpid: {e}"))),
            }
        },
        Err(e) => Err(e),
    };
    set(SigHandler::SigDfl);
    status
}

/// What `unshare` does, checked.
pub struct Unshare {
    pub namespaces: Vec<NsType>,
    pub fork: bool,
    pub map_root_user: bool,
    pub mount_proc: bool,
    pub command: Vec<String>,
}

impl Unshare {
    /// The plan: the unshare itself (after moving into a cgroup, for `--cgroup=PATH`).
    pub fn plan(&mut self, into_cgroup: Option<Plan>) -> Result<Plan, String> {
        if self.mount_proc && !self.namespaces.contains(&NsType::Mnt) {
            self.namespaces.push(NsType::Mnt);
        }
        if self.mount_proc && !self.namespaces.contains(&NsType::Pid) {
            return Err("--mount-proc mounts the /proc of a new pid namespace: add --pid".into());
        }
        if self.map_root_user && !self.namespaces.contains(&NsType::User) {
            self.namespaces.push(NsType::User);
        }
        // A new pid or time namespace takes effect for children only: the command is one.
        if self
            .namespaces
            .iter()
            .any(|k| matches!(k, NsType::Pid | NsType::Time))
        {
            self.fork = true;
        }
        if self.namespaces.is_empty() {
            return Err(
                "unshare: name the namespaces to create (--mount --uts --ipc --net --pid --user --cgroup --time, or --all)"
                    .into(),
            );
        }
        self.namespaces.sort();
        self.namespaces.dedup();
        let mut plan = into_cgroup.unwrap_or_default();
        plan.action = format!(
            "unshare {} -- {}",
            flags_text(&self.namespaces),
            command_or_shell(&self.command).join(" ")
        );
        plan.changes.push(Change::Unshare {
            namespaces: self.namespaces.clone(),
            map_root_user: self.map_root_user,
        });
        if self.namespaces.contains(&NsType::Mnt) {
            plan.warnings.push(
                "mounts are made private first (MS_REC|MS_PRIVATE on /), so nothing mounted inside propagates to the host"
                    .into(),
            );
        }
        Ok(plan)
    }

    /// After the plan was executed (we are in the new namespaces): run the command, in a child
    /// when forking, and return its status.
    pub fn run(&self) -> Result<u8, Refused> {
        let command = command_or_shell(&self.command);
        let mount_proc = self.mount_proc;
        let child = move || {
            if mount_proc && let Err(e) = private_proc() {
                return e;
            }
            exec(&command)
        };
        if self.fork {
            fork_and_wait(child)
        } else {
            Err(child())
        }
    }
}

/// In the new pid namespace (its mounts already private): a /proc of its own.
fn private_proc() -> Result<(), Refused> {
    mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| Refused(format!("mounting /proc: {e}")))
}

/// Applies a planned unshare to this process.
pub fn unshare(namespaces: &[NsType], map_root_user: bool) -> Result<(), Refused> {
    let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
    nix::sched::unshare(flags(namespaces)).map_err(|e| {
        Refused(match e {
            nix::errno::Errno::EPERM => "unshare: creating these namespaces needs root (CAP_SYS_ADMIN), or add --user".into(),
            nix::errno::Errno::EINVAL => "unshare: the kernel refused these namespaces together (a multi-threaded caller, or a type it lacks)".into(),
            e => format!("unshare: {e}"),
        })
    })?;
    // As unshare(1): a new mount namespace's mounts private, or systemd's shared / would
    // carry whatever is mounted inside back to the host.
    if namespaces.contains(&NsType::Mnt) {
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|e| Refused(format!("making mounts private: {e}")))?;
    }
    if map_root_user {
        let write = |file: &str, text: String| {
            std::fs::write(format!("/proc/self/{file}"), text)
                .map_err(|e| Refused(format!("writing /proc/self/{file}: {e}")))
        };
        write("setgroups", "deny".into())?;
        write("uid_map", format!("0 {uid} 1"))?;
        write("gid_map", format!("0 {gid} 1"))?;
    }
    Ok(())
}

/// What `enter` does, checked: the target pinned, its root and working directory held open.
pub struct Enter {
    pub target: Pinned,
    pub namespaces: Vec<NsType>,
    pub root: Option<OwnedFd>,
    pub wd: Option<OwnedFd>,
    pub env: Option<Vec<String>>,
    pub command: Vec<String>,
    /// The namespaces entered as their links read (`net:[4026532…] uts:[…]`), for
    /// `NSTOP_NS`.
    marker: String,
}

/// What the command takes from the target besides its namespaces.
pub struct Take {
    pub root: bool,
    pub wd: bool,
    pub env: bool,
}

impl Enter {
    /// Opens what the command takes from the target, before any setns changes what /proc
    /// shows: its root and working directory as descriptors, its environment.
    /// `namespaces`: the target's, as `different_namespaces` read them.
    pub fn prepare(
        target: Pinned,
        namespaces: Vec<NsRef>,
        take: Take,
        command: Vec<String>,
    ) -> Result<Enter, Refused> {
        let pid = target.pid;
        let open = |what: &str| {
            std::fs::File::open(format!("/proc/{pid}/{what}"))
                .map(OwnedFd::from)
                .map_err(|e| Refused(format!("PID {pid}'s {what}: {e}")))
        };
        let env = take
            .env
            .then(|| {
                let raw = std::fs::read(format!("/proc/{pid}/environ"))
                    .map_err(|e| Refused(format!("PID {pid}'s environment: {e}")))?;
                Ok(raw
                    .split(|&b| b == 0)
                    .filter(|v| !v.is_empty())
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .collect())
            })
            .transpose()?;
        let marker: Vec<String> = (namespaces.iter())
            .map(|ns| format!("{}:[{}]", ns.kind, ns.ino))
            .collect();
        Ok(Enter {
            marker: marker.join(" "),
            root: take.root.then(|| open("root")).transpose()?,
            wd: take.wd.then(|| open("cwd")).transpose()?,
            env,
            target,
            namespaces: namespaces.iter().map(|ns| ns.kind).collect(),
            command,
        })
    }
}

/// The namespace of type `kind` that process `pid` (`self`: nstop) is in, by its link.
fn namespace_of(pid: &str, kind: NsType) -> Option<NsRef> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).ok()?;
    crate::sys::ns::parse_ns_link(link.as_os_str().as_encoded_bytes())
}

/// The target's namespaces that differ from ours (entering one we are in already is refused
/// for user namespaces and pointless for the others).
pub fn different_namespaces(pid: i32, wanted: &[NsType]) -> Result<Vec<NsRef>, Refused> {
    let mut different = Vec::new();
    for &kind in wanted {
        // A type this kernel lacks has no link for anyone.
        let Some(ours) = namespace_of("self", kind) else {
            continue;
        };
        let theirs = namespace_of(&pid.to_string(), kind).ok_or_else(|| {
            Refused(format!(
                "cannot read PID {pid}'s {kind} namespace: another user's /proc/PID/ns needs \
                 root or CAP_SYS_PTRACE"
            ))
        })?;
        if theirs != ours {
            different.push(theirs);
        }
    }
    different.sort();
    Ok(different)
}

/// Whether nstop is in `ns` itself.
pub fn is_own_namespace(ns: NsRef) -> bool {
    namespace_of("self", ns.kind) == Some(ns)
}

/// What the command keeps from nstop rather than the target: said before it starts.
pub const KEPT: &str = "the command keeps nstop's credentials, capabilities, security profile (AppArmor/SELinux label) and seccomp filter, not the target's";

impl Enter {
    pub fn plan(&self, join_cgroup: Option<Plan>) -> Plan {
        let mut plan = join_cgroup.unwrap_or_default();
        plan.action = format!(
            "enter -t {} {} -- {}",
            self.target.pid,
            flags_text(&self.namespaces),
            command_or_shell(&self.command).join(" ")
        );
        plan.changes.push(Change::Setns {
            pid: self.target.pid,
            start_time: self.target.start_time,
            namespaces: self.namespaces.clone(),
        });
        plan.warnings.push(KEPT.into());
        plan
    }

    /// After the setns: fork (a pid namespace applies to children), then the child takes the
    /// target's root and working directory and becomes the command.
    pub fn run(self) -> Result<u8, Refused> {
        let command = command_or_shell(&self.command);
        fork_and_wait(move || {
            if let Some(root) = &self.root {
                if let Err(e) =
                    nix::unistd::fchdir(root.as_fd()).and_then(|()| nix::unistd::chroot("."))
                {
                    return Refused(format!("entering the target's root: {e}"));
                }
                if self.wd.is_none() && nix::unistd::chdir("/").is_err() {
                    return Refused("chdir / in the target's root".into());
                }
            }
            if let Some(wd) = &self.wd
                && let Err(e) = nix::unistd::fchdir(wd.as_fd())
            {
                return Refused(format!("entering the target's working directory: {e}"));
            }
            // SAFETY (both): the forked child is single-threaded.
            if let Some(env) = &self.env {
                unsafe {
                    for (key, _) in std::env::vars_os() {
                        std::env::remove_var(key);
                    }
                    // set_var panics on an empty name: such entries are skipped.
                    for pair in env {
                        if let Some((k, v)) = pair.split_once('=')
                            && !k.is_empty()
                        {
                            std::env::set_var(k, v);
                        }
                    }
                }
            }
            // After the target's environment, if taken: it says where the command runs.
            mark_where(&self.marker, &self.command, &command);
            exec(&command)
        })
    }
}

/// Applies a planned setns: all the namespaces at once through a pidfd (5.8+), else one by
/// one through /proc/PID/ns links, the user namespace first (it grants the rights for the
/// others).
pub fn setns(pid: i32, start_time: u64, namespaces: &[NsType]) -> Result<(), Refused> {
    let target = Pinned::open(pid)?.started_at(start_time)?;
    let all = flags(namespaces);
    let refused = |e: nix::errno::Errno| {
        Refused(match e {
            nix::errno::Errno::EPERM => format!(
                "setns into PID {pid}'s namespaces needs root (CAP_SYS_ADMIN in their owner user namespace)"
            ),
            e => format!("setns into PID {pid}'s namespaces: {e}"),
        })
    };
    // Before 5.8 setns takes only nsfs fds: a pidfd is EINVAL.
    let via_pidfd = if crate::sys::kernel_lacks("pidfd-setns") {
        Err(nix::errno::Errno::EINVAL)
    } else {
        nix::sched::setns(target.fd(), all)
    };
    match via_pidfd {
        Ok(()) => return become_root_inside(namespaces),
        Err(nix::errno::Errno::EINVAL) => {}
        Err(e) => return Err(refused(e)),
    }
    let mut ordered = namespaces.to_vec();
    ordered.sort_by_key(|&k| k != NsType::User);
    let fds: Vec<(NsType, std::fs::File)> = ordered
        .iter()
        .map(|&k| {
            std::fs::File::open(format!("/proc/{pid}/ns/{k}"))
                .map(|f| (k, f))
                .map_err(|e| Refused(format!("opening /proc/{pid}/ns/{k}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    target.alive()?;
    for (kind, fd) in &fds {
        nix::sched::setns(fd, clone_flag(*kind)).map_err(refused)?;
    }
    become_root_inside(namespaces)
}

/// Applies a planned setns through a file: opened without blocking or a controlling tty (a
/// path inside another mount namespace is that namespace's to change) and checked to be the
/// namespace planned by its inode; setns checks the type.
pub fn setns_file(ns: NsRef, path: &Path) -> Result<(), Refused> {
    let fd = open_ns(path, ns).map_err(|e| {
        Refused(format!(
            "{}:[{}] through {}: {e}",
            ns.kind,
            ns.ino,
            path.display()
        ))
    })?;
    nix::sched::setns(&fd, clone_flag(ns.kind)).map_err(|e| {
        Refused(match e {
            nix::errno::Errno::EPERM => format!(
                "setns into {}:[{}] needs root (CAP_SYS_ADMIN in its owner user namespace)",
                ns.kind, ns.ino
            ),
            e => format!("setns into {}:[{}]: {e}", ns.kind, ns.ino),
        })
    })?;
    become_root_inside(&[ns.kind])
}

/// `enter --ns`: exactly one namespace, through a file that opens it. The command learns where
/// it is from `NSTOP_NS` (`net:[4026532…]`), for a prompt to show.
pub struct EnterNamespace {
    pub ns: NsRef,
    pub path: PathBuf,
    pub command: Vec<String>,
}

impl EnterNamespace {
    pub fn plan(&self) -> Plan {
        Plan {
            action: format!(
                "enter --ns {} -- {}",
                self.ns.ino,
                command_or_shell(&self.command).join(" ")
            ),
            changes: vec![Change::SetnsFile {
                ns: self.ns,
                path: self.path.clone(),
            }],
            warnings: vec![KEPT.into()],
        }
    }

    /// After the setns: fork (a pid namespace applies to children), then the command.
    pub fn run(self) -> Result<u8, Refused> {
        let command = command_or_shell(&self.command);
        let marker = format!("{}:[{}]", self.ns.kind, self.ns.ino);
        fork_and_wait(move || {
            mark_where(&marker, &self.command, &command);
            exec(&command)
        })
    }
}

/// Tells the command where it runs: `NSTOP_NS=net:[…]`, and when it is the user's shell (no
/// command given) and that is bash or sh, a prompt that starts `(nstop net:[…]) `.
/// Called in the forked child, which is single-threaded.
fn mark_where(marker: &str, given: &[String], command: &[String]) {
    let shell = if given.is_empty() {
        command.first()
    } else {
        None
    };
    let vars = prompt_vars(
        marker,
        shell.map_or("", String::as_str),
        nix::unistd::geteuid().is_root(),
        std::env::var("PROMPT_COMMAND").ok().as_deref(),
    );
    for (key, value) in vars {
        // SAFETY: the forked child is single-threaded.
        unsafe { std::env::set_var(key, value) };
    }
}

/// The variables `mark_where` sets. Bash reads its rc files (which set PS1) after the
/// environment, so it gets a PROMPT_COMMAND that puts the mark in front of whatever PS1 is
/// before each prompt (once), then runs any PROMPT_COMMAND it had. sh (dash, busybox) reads
/// no rc file unless ENV names one: it takes PS1 from the environment.
fn prompt_vars(
    marker: &str,
    shell: &str,
    root: bool,
    prompt_command: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut vars = vec![("NSTOP_NS", marker.to_owned())];
    // The mark is read from NSTOP_NS at each prompt: `[` in it is never a pattern there.
    let mark = "(nstop $NSTOP_NS) ";
    match Path::new(shell).file_name().and_then(|n| n.to_str()) {
        Some("bash") => {
            let mut command =
                format!(r#"case "$PS1" in "{mark}"*) ;; *) PS1="{mark}$PS1" ;; esac"#);
            if let Some(theirs) = prompt_command.filter(|c| !c.trim().is_empty()) {
                command = format!("{command}; {theirs}");
            }
            vars.push(("PROMPT_COMMAND", command));
        }
        Some("sh" | "dash" | "ash") => {
            let sign = if root { '#' } else { '$' };
            vars.push(("PS1", format!("(nstop {marker}) {sign} ")));
        }
        _ => {}
    }
    vars
}

/// In another user namespace our ids may be unmapped (a shell as nobody): become its root, as
/// nsenter does.
fn become_root_inside(namespaces: &[NsType]) -> Result<(), Refused> {
    if !namespaces.contains(&NsType::User) {
        return Ok(());
    }
    // Refused where setgroups is denied in the namespace; the gid and uid still count.
    let _ = nix::unistd::setgroups(&[]);
    let root = |what: &str, e: nix::errno::Errno| {
        Refused(format!(
            "{what} 0 in the entered user namespace: {e} (is root mapped there?)"
        ))
    };
    nix::unistd::setresgid(0.into(), 0.into(), 0.into()).map_err(|e| root("setgid", e))?;
    nix::unistd::setresuid(0.into(), 0.into(), 0.into()).map_err(|e| root("setuid", e))
}

#[cfg(test)]
mod tests {
    use super::prompt_vars;

    #[test]
    fn a_shell_is_told_where_it_is_in_its_prompt() {
        let marker = "net:[4026532410]";
        let bash = prompt_vars(marker, "/usr/bin/bash", true, Some("history -a"));
        assert_eq!(bash[0], ("NSTOP_NS", marker.to_owned()));
        assert_eq!(
            bash[1],
            (
                "PROMPT_COMMAND",
                r#"case "$PS1" in "(nstop $NSTOP_NS) "*) ;; *) PS1="(nstop $NSTOP_NS) $PS1" ;; esac; history -a"#.to_owned()
            )
        );
        let sh = prompt_vars(marker, "/bin/sh", false, None);
        assert_eq!(sh[1], ("PS1", "(nstop net:[4026532410]) $ ".to_owned()));
        // Other shells, and a command given, get the variable only.
        assert_eq!(prompt_vars(marker, "/usr/bin/zsh", true, None).len(), 1);
        assert_eq!(prompt_vars(marker, "", true, None).len(), 1);
    }
}
