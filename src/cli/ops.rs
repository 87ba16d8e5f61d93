//! The commands that change the system: `unshare`, `enter`, `kill` and `cg mk|rm|move|set|
//! freeze|thaw|kill|exec`. Each resolves into an ops::Plan first (bad input: exit 2, nothing
//! done); `--dry-run` prints the plan and exits 0; otherwise it is executed and logged.

use clap::{Args, Subcommand};

use crate::cli::UsageError;
use crate::model::Model;
use crate::model::sample::NsType;
use crate::ops::cgroup::{self, Granularity, Host};
use crate::ops::process::{Pinned, parse_signal};
use crate::ops::spawn::{self, Enter, EnterNamespace, Take, Unshare};
use crate::ops::{self, LiveOps, Plan, Refused};
use crate::sys::{self, Collect, Roots};

/// Namespace types, as unshare(1) and nsenter(1) spell them.
#[derive(Args, Debug, Default, Clone)]
pub struct NsFlags {
    /// Mount namespace
    #[arg(short = 'm', long)]
    pub mount: bool,
    /// UTS namespace (hostname, domain name)
    #[arg(short = 'u', long)]
    pub uts: bool,
    /// IPC namespace
    #[arg(short = 'i', long)]
    pub ipc: bool,
    /// Network namespace
    #[arg(short = 'n', long)]
    pub net: bool,
    /// PID namespace
    #[arg(short = 'p', long)]
    pub pid: bool,
    /// User namespace
    #[arg(short = 'U', long)]
    pub user: bool,
    /// Time namespace
    #[arg(short = 'T', long)]
    pub time: bool,
    /// Every type
    #[arg(short = 'a', long)]
    pub all: bool,
}

impl NsFlags {
    fn kinds(&self, cgroup: bool) -> Vec<NsType> {
        if self.all {
            return NsType::ALL.to_vec();
        }
        [
            (self.mount, NsType::Mnt),
            (self.uts, NsType::Uts),
            (self.ipc, NsType::Ipc),
            (self.net, NsType::Net),
            (self.pid, NsType::Pid),
            (self.user, NsType::User),
            (self.time, NsType::Time),
            (cgroup, NsType::Cgroup),
        ]
        .into_iter()
        .filter_map(|(on, kind)| on.then_some(kind))
        .collect()
    }
}

#[derive(Args, Debug)]
pub struct UnshareArgs {
    #[command(flatten)]
    pub ns: NsFlags,
    /// Cgroup namespace; with `=CGROUP` ([controllers:]path) the command first moves into
    /// that cgroup, which becomes the new namespace's root
    #[arg(short = 'C', long, value_name = "CGROUP", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub cgroup: Option<String>,
    /// Run the command as a child (implied by --pid and --time: they apply to children)
    #[arg(short = 'f', long)]
    pub fork: bool,
    /// Map the caller's uid and gid to root in a new user namespace (implies --user)
    #[arg(short = 'r', long)]
    pub map_root_user: bool,
    /// Mount a /proc of the new pid namespace, after making mounts private (implies --mount)
    #[arg(long)]
    pub mount_proc: bool,
    /// Print what would be done and exit
    #[arg(long)]
    pub dry_run: bool,
    /// The command (default: $SHELL)
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct EnterArgs {
    /// The process whose namespaces to enter
    #[arg(
        short = 't',
        long,
        value_name = "PID",
        required_unless_present = "namespace"
    )]
    pub target: Option<i32>,
    /// Enter exactly this namespace (inode number, as `nstop ns` shows it), also one that no
    /// process is in: through a member, its bind mount (in any mount namespace) or a holder's fd
    #[arg(
        long = "ns",
        value_name = "INODE",
        value_parser = crate::cli::ns::parse_inode,
        conflicts_with_all = ["target", "start_time", "root", "wd", "env", "join_cgroup"]
    )]
    pub namespace: Option<u64>,
    /// With --ns: only if it is of this type (the explorer passes what it showed: an inode
    /// may be reused by a namespace of another type)
    #[arg(long, hide = true, value_name = "TYPE", requires = "namespace")]
    pub ns_type: Option<NsType>,
    /// Only if the process started at this time (clock ticks after boot): the explorer passes
    /// what it showed, so a reused PID is refused
    #[arg(long, hide = true, value_name = "TICKS")]
    pub start_time: Option<u64>,
    #[command(flatten)]
    pub ns: NsFlags,
    /// Cgroup namespace
    #[arg(short = 'C', long)]
    pub cgroup: bool,
    /// Take the target's root directory
    #[arg(long)]
    pub root: bool,
    /// Take the target's working directory
    #[arg(long)]
    pub wd: bool,
    /// Also move into the target's cgroups, as `docker exec` does
    #[arg(long)]
    pub join_cgroup: bool,
    /// Take the target's environment instead of ours
    #[arg(long)]
    pub env: bool,
    /// Print what would be done and exit
    #[arg(long)]
    pub dry_run: bool,
    /// The command (default: $SHELL)
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// `enter --ns INODE`: the namespace found in a fresh sample, planned through the first file
/// that opens it now.
fn enter_namespace(args: EnterArgs, roots: Roots) -> anyhow::Result<u8> {
    let ino = args.namespace.expect("clap requires --ns without -t");
    if !args.ns.kinds(args.cgroup).is_empty() {
        return Err(usage(format!(
            "--ns {ino} enters exactly that namespace: it takes no type flags (they choose \
             among a process's namespaces with -t)"
        )));
    }
    // On one thread: setns into a mount or user namespace needs a single-threaded process,
    // and a scan's helper threads may not have left it yet when they are joined.
    let sample = sys::Sampler::new(sys::Pace::Background).sample(&roots, Collect::Namespaces)?;
    let model = Model::new(&sample, None);
    let types: Vec<NsType> = args.ns_type.into_iter().collect();
    let ns = crate::cli::ns::namespace_of_types(&model, ino, &types)?;
    if spawn::is_own_namespace(ns.ns_ref()) {
        return Err(usage(format!(
            "{}:[{ino}] is nstop's own: nothing to enter",
            ns.kind
        )));
    }
    let paths = sys::ns::open_paths(&roots, ns.ns_ref(), &ns.pids, &ns.holders);
    let path = paths
        .into_iter()
        .find(|p| sys::ns::open_ns(p, ns.ns_ref()).is_ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}:[{ino}] can no longer be opened (its last holder went away, or permission \
                 denied: opening another user's namespace needs root or CAP_SYS_PTRACE)",
                ns.kind
            )
        })?;
    let enter = EnterNamespace {
        ns: ns.ns_ref(),
        path,
        command: args.command,
    };
    let plan = enter.plan();
    let command = enter.command.clone();
    enter_by_plan(&plan, &command, args.dry_run, || enter.run())
}

/// The names `-s` completes with: TERM, KILL, HUP...
fn signal_names() -> Vec<&'static str> {
    nix::sys::signal::Signal::iterator()
        .map(|s| s.as_str().trim_start_matches("SIG"))
        .collect()
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal name or number: TERM (default), KILL, HUP, 9...
    #[arg(short = 's', long, default_value = "TERM", hide_possible_values = true,
          value_parser = crate::cli::completed(clap::builder::StringValueParser::new(), signal_names))]
    pub signal: String,
    /// Print what would be done and exit
    #[arg(long)]
    pub dry_run: bool,
    #[arg(required = true, value_name = "PID")]
    pub pids: Vec<i32>,
}

#[derive(Subcommand, Debug)]
pub enum CgAction {
    /// Make a cgroup (one level), in cgroup2 or the v1 hierarchies named
    Mk {
        #[arg(value_name = "CGROUP")]
        cgroup: String,
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove an empty cgroup
    Rm {
        #[arg(value_name = "CGROUP")]
        cgroup: String,
        #[arg(long)]
        dry_run: bool,
    },
    /// Move processes into a cgroup: PID... CGROUP
    #[command(override_usage = MOVE_USAGE)]
    Move {
        /// Move the threads named, not whole processes (cgroup.threads, v1 tasks)
        #[arg(long)]
        threads: bool,
        /// Also every descendant of each PID
        #[arg(long)]
        tree: bool,
        #[arg(long)]
        dry_run: bool,
        /// PIDs, then the cgroup
        #[arg(value_name = "PID... CGROUP")]
        args: Vec<String>,
    },
    /// Set limits: memory.max=512M memory.high=1.5G cpu.max=50% cpu.weight=200 pids.max=100
    /// io.max="8:0 rbps=1M" (v1 hierarchies get the same keys in their files and units)
    Set {
        #[arg(value_name = "CGROUP")]
        cgroup: String,
        #[arg(required = true, value_name = "KEY=VALUE")]
        limits: Vec<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Freeze every process in the cgroup (cgroup.freeze, or freezer:/path on v1)
    Freeze {
        #[arg(value_name = "CGROUP")]
        cgroup: String,
        /// A v1 cgroup of another hierarchy (memory:/path): make freezer:/path (and its
        /// missing parents), move the cgroup's processes into it, freeze it
        #[arg(long)]
        create_freezer: bool,
        #[arg(long)]
        dry_run: bool,
    },
    /// Thaw a frozen cgroup
    Thaw {
        #[arg(value_name = "CGROUP")]
        cgroup: String,
        #[arg(long)]
        dry_run: bool,
    },
    /// Signal every process in the cgroup and below (SIGKILL on cgroup2: cgroup.kill)
    Kill {
        #[arg(short = 's', long, default_value = "KILL")]
        signal: String,
        #[arg(value_name = "CGROUP")]
        cgroup: String,
        #[arg(long)]
        dry_run: bool,
    },
    /// Run a command inside a cgroup (like cgexec)
    Exec {
        #[arg(value_name = "CGROUP")]
        cgroup: String,
        #[arg(long)]
        dry_run: bool,
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<String>,
    },
}

const MOVE_USAGE: &str = "nstop cg move [--threads] [--tree] [--dry-run] PID... CGROUP";

fn usage(text: String) -> anyhow::Error {
    UsageError(text).into()
}

fn refused(Refused(why): Refused) -> anyhow::Error {
    anyhow::anyhow!(why)
}

fn say(text: &str) {
    let _ = crate::text::say(text);
}

/// A plan not carried out: each step as what it would do, and a last line that says so, so a
/// dry run's output is never taken for a real run's.
fn say_dry_run(plan: &str) {
    let mut out: String = plan.lines().map(|l| format!("would {l}\n")).collect();
    out.push_str("dry run: nothing changed\n");
    say(&out);
}

fn warn(plan: &Plan) {
    for w in &plan.warnings {
        crate::text::tell(format_args!("warning: {w}"));
    }
}

/// Prints or executes a plan of cgroup changes; each done change is printed with the value it
/// replaced.
fn carry_out(plan: Plan, dry_run: bool) -> anyhow::Result<u8> {
    if dry_run {
        say_dry_run(&plan.to_string());
        return Ok(0);
    }
    warn(&plan);
    let done = ops::execute(&plan, &mut LiveOps).map_err(refused)?;
    for (change, applied) in plan.changes.iter().zip(done) {
        // A file's old value; a move's old cgroups are in the audit log.
        let was = applied
            .before
            .filter(|b| {
                matches!(change, ops::Change::Write { .. }) && Some(b) != applied.after.as_ref()
            })
            .map_or(String::new(), |b| format!(" (was \"{b}\")"));
        say(&format!("{change}{was}\n"));
    }
    Ok(0)
}

pub fn cg(action: CgAction, roots: Roots) -> anyhow::Result<u8> {
    let host = Host::read(roots);
    let (plan, dry_run) = match action {
        CgAction::Mk { cgroup, dry_run } => (cgroup::mk(&host, &cgroup), dry_run),
        CgAction::Rm { cgroup, dry_run } => (cgroup::rm(&host, &cgroup), dry_run),
        CgAction::Move {
            threads,
            tree,
            dry_run,
            mut args,
        } => {
            if args.len() < 2 {
                return Err(usage(format!(
                    "cg move takes one or more PIDs, then the cgroup (usage: {MOVE_USAGE})"
                )));
            }
            let spec = args.pop().expect("two or more");
            let pids: Vec<i32> = args
                .iter()
                .map(|a| {
                    a.parse()
                        .map_err(|_| usage(format!("'{a}' is not a PID (cg move PID... CGROUP)")))
                })
                .collect::<anyhow::Result<_>>()?;
            let granularity = if threads {
                Granularity::Threads
            } else {
                Granularity::Processes
            };
            (
                cgroup::move_pids(&host, &pids, &spec, granularity, tree),
                dry_run,
            )
        }
        CgAction::Set {
            cgroup,
            limits,
            dry_run,
        } => (cgroup::set(&host, &cgroup, &limits), dry_run),
        CgAction::Freeze {
            cgroup,
            create_freezer: false,
            dry_run,
        } => (cgroup::freeze(&host, &cgroup, true), dry_run),
        CgAction::Freeze {
            cgroup,
            create_freezer: true,
            dry_run,
        } => (cgroup::freeze_in_new_freezer(&host, &cgroup), dry_run),
        CgAction::Thaw { cgroup, dry_run } => (cgroup::freeze(&host, &cgroup, false), dry_run),
        CgAction::Kill {
            signal,
            cgroup,
            dry_run,
        } => {
            let signal = parse_signal(&signal).map_err(usage)?;
            (cgroup::kill(&host, &cgroup, signal), dry_run)
        }
        CgAction::Exec {
            cgroup,
            dry_run,
            command,
        } => {
            let plan = cgroup::exec(&host, &cgroup).map_err(usage)?;
            if dry_run {
                say_dry_run(&format!("{plan}execvp {}", command.join(" ")));
                return Ok(0);
            }
            ops::execute(&plan, &mut LiveOps).map_err(refused)?;
            return Ok(could_not_run(spawn::exec(&command)));
        }
    };
    carry_out(plan.map_err(usage)?, dry_run)
}

pub fn kill(args: KillArgs) -> anyhow::Result<u8> {
    let signal = parse_signal(&args.signal).map_err(usage)?;
    let plan = cgroup::kill_pids(&args.pids, signal).map_err(usage)?;
    carry_out(plan, args.dry_run)
}

pub fn unshare(args: UnshareArgs, roots: Roots) -> anyhow::Result<u8> {
    let into_cgroup = match args.cgroup.as_deref() {
        Some(spec) if !spec.is_empty() => {
            Some(cgroup::exec(&Host::read(roots), spec).map_err(usage)?)
        }
        _ => None,
    };
    let mut unshare = Unshare {
        namespaces: args.ns.kinds(args.cgroup.is_some()),
        fork: args.fork,
        map_root_user: args.map_root_user,
        mount_proc: args.mount_proc,
        command: args.command,
    };
    let plan = unshare.plan(into_cgroup).map_err(usage)?;
    if args.dry_run {
        let run = spawn::command_or_shell(&unshare.command).join(" ");
        let how = if unshare.fork {
            "fork, then execvp"
        } else {
            "execvp"
        };
        say_dry_run(&format!("{plan}{how} {run}"));
        return Ok(0);
    }
    warn(&plan);
    ops::execute(&plan, &mut LiveOps).map_err(refused)?;
    Ok(unshare.run().unwrap_or_else(could_not_run))
}

/// The command did not start: why, and the shell's status for it (127 not found, else 126).
fn could_not_run(why: Refused) -> u8 {
    crate::text::tell(&why.0);
    spawn::exec_status(&why)
}

pub fn enter(args: EnterArgs, roots: Roots) -> anyhow::Result<u8> {
    let Some(target) = args.target else {
        return enter_namespace(args, roots);
    };
    let target = Pinned::open(target).map_err(|Refused(why)| usage(why))?;
    let target = match args.start_time {
        Some(ticks) => target.started_at(ticks).map_err(refused)?,
        None => target,
    };
    let wanted = args.ns.kinds(args.cgroup);
    let wanted = if wanted.is_empty() {
        NsType::ALL.to_vec()
    } else {
        wanted
    };
    let namespaces = spawn::different_namespaces(target.pid, &wanted).map_err(refused)?;
    if namespaces.is_empty() {
        return Err(usage(format!(
            "PID {} is in the same namespaces as nstop (of those chosen): nothing to enter",
            target.pid
        )));
    }
    let join = if args.join_cgroup {
        Some(cgroup::join(&Host::read(roots), target.pid).map_err(usage)?)
    } else {
        None
    };
    let take = Take {
        root: args.root,
        wd: args.wd,
        env: args.env,
    };
    let enter = Enter::prepare(target, namespaces, take, args.command).map_err(refused)?;
    let plan = enter.plan(join);
    let command = enter.command.clone();
    enter_by_plan(&plan, &command, args.dry_run, || enter.run())
}

/// Prints a dry run's plan, or executes it (logged) and then runs the command.
fn enter_by_plan(
    plan: &Plan,
    command: &[String],
    dry_run: bool,
    run: impl FnOnce() -> Result<u8, Refused>,
) -> anyhow::Result<u8> {
    if dry_run {
        let run = spawn::command_or_shell(command).join(" ");
        say_dry_run(&format!("{plan}fork, then execvp {run}"));
        return Ok(0);
    }
    warn(plan);
    ops::execute(plan, &mut LiveOps).map_err(refused)?;
    run().map_err(refused)
}
