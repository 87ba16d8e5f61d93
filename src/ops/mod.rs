//! The only code that changes the system. A command is first resolved into a `Plan` of
//! `Change`s (everything checked, nothing done): that is what `--dry-run` prints, the TUI
//! confirms and the audit log records. `execute` then applies the changes in order through an
//! `Ops` (the live kernel, or a recording fake in tests), stopping at the first refusal.

pub mod audit;
pub mod cgroup;
pub mod limits;
pub mod process;
pub mod spawn;

use std::fmt;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::libc;
use serde::Serialize;

use rustix::fs::OFlags;
use rustix::io::Errno;

use crate::model::sample::{NsRef, NsType};
use crate::ops::process::Pinned;
use crate::sys::longpath;

/// One change to the system, fully resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    Mkdir {
        path: PathBuf,
    },
    Rmdir {
        path: PathBuf,
    },
    /// Write `value` to an existing file (cgroupfs: never created, never through a symlink).
    Write {
        path: PathBuf,
        value: String,
    },
    /// A signal through a pidfd, to the process that has this start time.
    Signal {
        pid: i32,
        start_time: u64,
        signal: i32,
    },
    /// Write the PID into `procs` (cgroup.procs, cgroup.threads or tasks), if it is still the
    /// process with this start time.
    Move {
        pid: i32,
        start_time: u64,
        procs: PathBuf,
    },
    /// unshare(2) of this nstop, before it runs the command.
    Unshare {
        namespaces: Vec<NsType>,
        map_root_user: bool,
    },
    /// setns(2) of this nstop into the namespaces of the process with this start time.
    Setns {
        pid: i32,
        start_time: u64,
        namespaces: Vec<NsType>,
    },
    /// setns(2) of this nstop into one namespace through a file that opens it (a member's
    /// link, a bind mount, a holder's fd), if the file is still that namespace.
    SetnsFile {
        ns: NsRef,
        path: PathBuf,
    },
}

fn clone_names(namespaces: &[NsType]) -> String {
    let names: Vec<&str> = namespaces.iter().map(|&k| spawn::clone_name(k)).collect();
    names.join("|")
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Mkdir { path } => write!(f, "mkdir {}", path.display()),
            Change::Rmdir { path } => write!(f, "rmdir {}", path.display()),
            Change::Write { path, value } => write!(f, "write \"{value}\" to {}", path.display()),
            Change::Signal { pid, signal, .. } => {
                write!(
                    f,
                    "pidfd_send_signal({pid}, {})",
                    process::signal_name(*signal)
                )
            }
            Change::Move { pid, procs, .. } => write!(f, "write {pid} to {}", procs.display()),
            Change::Unshare {
                namespaces,
                map_root_user,
            } => {
                write!(f, "unshare({})", clone_names(namespaces))?;
                if *map_root_user {
                    write!(
                        f,
                        ", then map root to the caller (uid_map, gid_map, setgroups deny)"
                    )?;
                }
                Ok(())
            }
            Change::Setns {
                pid, namespaces, ..
            } => write!(f, "setns(pidfd of {pid}, {})", clone_names(namespaces)),
            Change::SetnsFile { ns, path } => write!(
                f,
                "setns({}, {}) into {}:[{}]",
                path.display(),
                clone_names(&[ns.kind]),
                ns.kind,
                ns.ino
            ),
        }
    }
}

/// A command resolved: what it will do, and what the user should know first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The command as the audit log names it, e.g. `cg set memory:/x memory.max=512M`.
    pub action: String,
    pub changes: Vec<Change>,
    /// Consequences worth a second look (reclaim, OOM risk, systemd reverting it...).
    pub warnings: Vec<String>,
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for change in &self.changes {
            writeln!(f, "{change}")?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}

/// A change the kernel refused, said in words (ARCHITECTURE.md, kernel facts).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// What one applied change read before and after.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Applies changes: the live kernel, or a recording fake.
pub trait Ops {
    fn apply(&mut self, change: &Change) -> Result<Applied, Refused>;
}

/// The live kernel.
pub struct LiveOps;

/// Reads a cgroup file as it is now (for the audit log's before and after).
fn read_file(path: &Path) -> Option<String> {
    let text = longpath::read_to_string(path).ok()?;
    Some(text.trim_end().to_owned())
}

/// One write(2) of the whole value to an existing file, not through a symlink (O_TRUNC as a
/// shell's `>` does: cgroupfs ignores it, a fixture file needs it). Paths past PATH_MAX too.
fn write_file(path: &Path, value: &str) -> std::io::Result<()> {
    let flags = OFlags::WRONLY | OFlags::TRUNC | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut file = std::fs::File::from(longpath::open(path, flags)?);
    file.write_all(value.as_bytes())
}

/// mkdir or rmdir of the last component, in its parent opened however deep it is.
fn in_parent(
    path: &Path,
    make: impl FnOnce(BorrowedFd, &Path) -> Result<(), Errno>,
) -> std::io::Result<()> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Errno::INVAL.into());
    };
    let dir = longpath::open(parent, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC)?;
    Ok(make(dir.as_fd(), Path::new(name))?)
}

impl Ops for LiveOps {
    fn apply(&mut self, change: &Change) -> Result<Applied, Refused> {
        let explain = |e: std::io::Error| Refused(cgroup::explain(change, &e));
        match change {
            Change::Mkdir { path } => in_parent(path, |dir, name| {
                rustix::fs::mkdirat(dir, name, rustix::fs::Mode::from_raw_mode(0o755))
            })
            .map_err(explain)?,
            Change::Rmdir { path } => in_parent(path, |dir, name| {
                rustix::fs::unlinkat(dir, name, rustix::fs::AtFlags::REMOVEDIR)
            })
            .map_err(explain)?,
            // Writing 0 to cgroup.procs moves nstop itself (cg exec): its cgroups are the
            // before and after, not the member list.
            Change::Write { path, value } if value == "0" && path.ends_with("cgroup.procs") => {
                let before = process::cgroup_text(std::process::id() as i32);
                write_file(path, value).map_err(explain)?;
                return Ok(Applied {
                    before,
                    after: process::cgroup_text(std::process::id() as i32),
                });
            }
            Change::Write { path, value } => {
                let before = read_file(path);
                write_file(path, value).map_err(explain)?;
                return Ok(Applied {
                    before,
                    after: read_file(path),
                });
            }
            Change::Signal {
                pid,
                start_time,
                signal,
            } => Pinned::check(*pid, *start_time)?.signal(*signal)?,
            Change::Move {
                pid,
                start_time,
                procs,
            } => {
                let pinned = Pinned::check(*pid, *start_time)?;
                let before = process::cgroup_text(*pid);
                pinned.alive()?;
                write_file(procs, &pid.to_string()).map_err(explain)?;
                return Ok(Applied {
                    before,
                    after: process::cgroup_text(*pid),
                });
            }
            Change::Unshare {
                namespaces,
                map_root_user,
            } => spawn::unshare(namespaces, *map_root_user)?,
            Change::Setns {
                pid,
                start_time,
                namespaces,
            } => spawn::setns(*pid, *start_time, namespaces)?,
            Change::SetnsFile { ns, path } => spawn::setns_file(*ns, path)?,
        }
        Ok(Applied::default())
    }
}

/// What the explorer asks for, by what it shows (PIDs with their start times, cgroups by
/// hierarchy and path); `plan` turns it into checked changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Signal {
        pid: i32,
        start_time: u64,
        signal: i32,
    },
    /// `[controllers:]path` and `KEY=VALUE`s, as `nstop cg set` takes them.
    Limits {
        spec: String,
        assignments: Vec<String>,
    },
    Freeze {
        spec: String,
        frozen: bool,
    },
    /// Freeze a v1 cgroup without the freezer through a new freezer cgroup of its path.
    FreezeInNewFreezer {
        spec: String,
    },
    KillCgroup {
        spec: String,
    },
    Move {
        pid: i32,
        start_time: u64,
        spec: String,
    },
    /// Put back what a limit change replaced (the TUI's undo).
    Restore {
        writes: Vec<(PathBuf, String)>,
    },
}

/// Refuses to act on processes by PID when `roots` describe another tree (`--root`): its PIDs
/// are not the live processes the pidfds would reach.
pub fn live_processes_only(roots: &crate::sys::Roots, what: &str) -> Result<(), String> {
    if roots.is_live() {
        return Ok(());
    }
    Err(format!(
        "{what} acts on live processes, and --root names a captured tree: run it without --root"
    ))
}

/// Resolves a request against the system as it is now (files, processes).
pub fn plan(request: &Request, roots: &crate::sys::Roots) -> Result<Plan, String> {
    let host = || cgroup::Host::read(roots.clone());
    match request {
        Request::Signal {
            pid,
            start_time,
            signal,
        } => {
            live_processes_only(roots, "kill")?;
            Pinned::check(*pid, *start_time).map_err(|Refused(why)| why)?;
            Ok(Plan {
                action: format!("kill -s {} {pid}", process::signal_name(*signal)),
                changes: vec![Change::Signal {
                    pid: *pid,
                    start_time: *start_time,
                    signal: *signal,
                }],
                warnings: process::init_note(*pid, *signal).into_iter().collect(),
            })
        }
        Request::Limits { spec, assignments } => cgroup::set(&host(), spec, assignments),
        Request::Freeze { spec, frozen } => cgroup::freeze(&host(), spec, *frozen),
        Request::FreezeInNewFreezer { spec } => cgroup::freeze_in_new_freezer(&host(), spec),
        Request::KillCgroup { spec } => cgroup::kill(&host(), spec, libc::SIGKILL),
        Request::Move {
            pid,
            start_time,
            spec,
        } => {
            let mut plan = cgroup::move_pids(
                &host(),
                &[*pid],
                spec,
                cgroup::Granularity::Processes,
                false,
            )?;
            if plan
                .changes
                .iter()
                .any(|c| matches!(c, Change::Move { start_time: s, .. } if s != start_time))
            {
                return Err(format!("PID {pid} is now another process: nothing done"));
            }
            plan.action = format!("cg move {pid} {spec}");
            Ok(plan)
        }
        Request::Restore { writes } => Ok(Plan {
            action: "undo the last limit change".into(),
            changes: writes
                .iter()
                .map(|(path, value)| Change::Write {
                    path: path.clone(),
                    value: value.clone(),
                })
                .collect(),
            warnings: Vec::new(),
        }),
    }
}

/// What a limit plan replaced, to put it back: each write's file and its value before.
pub fn undo_of(plan: &Plan, applied: &[Applied]) -> Vec<(PathBuf, String)> {
    plan.changes
        .iter()
        .zip(applied)
        .filter_map(|(change, applied)| match change {
            // A file that read empty (io.max without limits) has nothing to put back.
            Change::Write { path, .. } => Some((path.clone(), applied.before.clone()?))
                .filter(|(_, before)| !before.is_empty()),
            _ => None,
        })
        .collect()
}

/// Applies `plan` in order, recording each change in the audit log. At the first refusal
/// the changes already made are undone where they can be (files written back, directories
/// made removed), so a plan is applied whole or not at all; what could not be undone is said.
/// Moves are the exception: each process moves on its own (one that exited does not hold the
/// others back, and none is moved back), and a refused move is reported with exactly which
/// moves were done and which were not.
pub fn execute(plan: &Plan, ops: &mut dyn Ops) -> Result<Vec<Applied>, Refused> {
    let mut done = Vec::new();
    let mut not_moved = Vec::new();
    for change in &plan.changes {
        let result = ops.apply(change);
        audit::record(&plan.action, change, result.as_ref());
        match result {
            Ok(applied) => done.push((change, applied)),
            Err(Refused(why)) if matches!(change, Change::Move { .. }) => {
                not_moved.push((change, why));
            }
            Err(Refused(why)) if done.is_empty() => return Err(Refused(why)),
            Err(Refused(why)) => return Err(Refused(roll_back(plan, &done, ops, why))),
        }
    }
    if not_moved.is_empty() {
        return Ok(done.into_iter().map(|(_, applied)| applied).collect());
    }
    if done.is_empty() {
        let whys: Vec<String> = not_moved.into_iter().map(|(_, why)| why).collect();
        return Err(Refused(whys.join("\n")));
    }
    let mut report = format!(
        "{} of {} moves not done:",
        not_moved.len(),
        plan.changes.len()
    );
    for (change, why) in &not_moved {
        report.push_str(&format!("\n  {change}: {why}"));
    }
    report.push_str("\ndone:");
    for (change, _) in &done {
        report.push_str(&format!("\n  {change}"));
    }
    Err(Refused(report))
}

/// Undoes the changes in `done`, newest first; says what stays done.
fn roll_back(plan: &Plan, done: &[(&Change, Applied)], ops: &mut dyn Ops, why: String) -> String {
    let action = format!("roll back: {}", plan.action);
    let mut kept = Vec::new();
    for (change, applied) in done.iter().rev() {
        let undo = match (change, &applied.before) {
            // A move (of nstop, by cgroup.procs) is not taken back: the process moves on.
            (Change::Write { path, .. }, Some(before))
                if !before.is_empty() && !path.ends_with("cgroup.procs") =>
            {
                Change::Write {
                    path: path.clone(),
                    value: before.clone(),
                }
            }
            (Change::Mkdir { path }, _) => Change::Rmdir { path: path.clone() },
            _ => {
                kept.push(change.to_string());
                continue;
            }
        };
        let result = ops.apply(&undo);
        audit::record(&action, &undo, result.as_ref());
        if result.is_err() {
            kept.push(change.to_string());
        }
    }
    if kept.is_empty() {
        format!("{why}\n(what was done before it was undone)")
    } else {
        format!("{why}\n(still done: {})", kept.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files in memory; writes of "bad" are refused, as the kernel refuses an invalid value.
    #[derive(Default)]
    struct Files(std::collections::HashMap<PathBuf, String>);

    impl Ops for Files {
        fn apply(&mut self, change: &Change) -> Result<Applied, Refused> {
            let Change::Write { path, value } = change else {
                return Ok(Applied::default());
            };
            if value == "bad" {
                return Err(Refused(format!(
                    "the kernel refused \"bad\" for {}",
                    path.display()
                )));
            }
            let before = self.0.insert(path.clone(), value.clone());
            Ok(Applied {
                before,
                after: Some(value.clone()),
            })
        }
    }

    #[test]
    fn a_refusal_midway_undoes_what_was_done() {
        // No audit log for this test's writes.
        unsafe { std::env::set_var("NSTOP_AUDIT_LOG", "/dev/null") };
        let mut files = Files::default();
        files.0.insert("a".into(), "1".into());
        files.0.insert("b".into(), "2".into());
        let write = |path: &str, value: &str| Change::Write {
            path: path.into(),
            value: value.into(),
        };
        let plan = Plan {
            action: "cg set".into(),
            changes: vec![write("a", "10"), write("b", "20"), write("c", "bad")],
            warnings: Vec::new(),
        };
        let err = execute(&plan, &mut files).unwrap_err();
        assert!(
            err.0.contains("refused") && err.0.contains("undone"),
            "{err}"
        );
        assert_eq!(files.0[&PathBuf::from("a")], "1");
        assert_eq!(files.0[&PathBuf::from("b")], "2");
        // All or nothing: a plan that succeeds leaves every value.
        let good = Plan {
            changes: vec![write("a", "10"), write("b", "20")],
            ..plan
        };
        assert_eq!(execute(&good, &mut files).unwrap().len(), 2);
        assert_eq!(files.0[&PathBuf::from("b")], "20");
    }

    /// Moves processes in memory; PID 2 has exited.
    #[derive(Default)]
    struct Moves(Vec<i32>);

    impl Ops for Moves {
        fn apply(&mut self, change: &Change) -> Result<Applied, Refused> {
            match change {
                Change::Move { pid: 2, .. } => Err(Refused("PID 2 does not exist".into())),
                Change::Move { pid, .. } => {
                    self.0.push(*pid);
                    Ok(Applied::default())
                }
                _ => Ok(Applied::default()),
            }
        }
    }

    #[test]
    fn a_refused_move_holds_no_other_back_and_the_report_names_each() {
        unsafe { std::env::set_var("NSTOP_AUDIT_LOG", "/dev/null") };
        let moves = |pids: &[i32]| Plan {
            action: "cg move".into(),
            changes: pids
                .iter()
                .map(|&pid| Change::Move {
                    pid,
                    start_time: 0,
                    procs: "/cg/x/cgroup.procs".into(),
                })
                .collect(),
            warnings: Vec::new(),
        };
        let mut moved = Moves::default();
        let err = execute(&moves(&[1, 2, 3]), &mut moved).unwrap_err();
        assert_eq!(moved.0, [1, 3]);
        assert_eq!(
            err.0,
            "1 of 3 moves not done:\n  write 2 to /cg/x/cgroup.procs: PID 2 does not exist\n\
             done:\n  write 1 to /cg/x/cgroup.procs\n  write 3 to /cg/x/cgroup.procs"
        );
        // Nothing moved: just why.
        let err = execute(&moves(&[2]), &mut Moves::default()).unwrap_err();
        assert_eq!(err.0, "PID 2 does not exist");
    }

    #[test]
    fn processes_are_not_acted_on_through_a_fixture_tree() {
        let fixture = crate::sys::Roots::under(std::path::Path::new("tests/fixtures/cg-v2"));
        let signal = Request::Signal {
            pid: 4242,
            start_time: 1,
            signal: 15,
        };
        let err = plan(&signal, &fixture).unwrap_err();
        assert!(err.contains("without --root"), "{err}");
    }
}
