use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use nstop::cli::ops::{CgAction, EnterArgs, KillArgs, UnshareArgs};
use nstop::cli::{self, UsageError, cg::CgArgs, ns::NsArgs};
use nstop::model::Model;
use nstop::model::sample::NsType;
use nstop::sys::{self, Collect, Roots};

/// Linux namespaces and cgroups, visible and operable.
#[derive(Parser, Debug)]
#[command(name = "nstop", version)]
struct Cli {
    /// Read a fixture tree laid out like / (DIR/proc, DIR/etc) instead of the live host
    #[arg(long, value_name = "DIR", hide = true)]
    root: Option<PathBuf>,
    /// How often the explorer samples: `1s` (default), `500ms`, `2m`, or seconds
    #[arg(short = 'i', long, value_name = "DURATION", value_parser = cli::cg::parse_duration)]
    interval: Option<std::time::Duration>,
    /// Explore a recording (`nstop record --dir DIR`) instead of the live host: [ ] step, T
    /// jumps to a time, o to the next OOM kill, p plays
    #[arg(long, value_name = "DIR")]
    replay: Option<PathBuf>,
    /// With --replay: start at the last frame taken at or before this time: a UTC time
    /// (2026-11-23T03:00:00Z) or a duration back from now (6h) [default: the newest]
    #[arg(long, value_name = "TIME", requires = "replay")]
    at: Option<String>,
    /// The explorer's settings from this file alone (also NSTOP_CONFIG) [default:
    /// /etc/nstop/config.toml, then $XDG_CONFIG_HOME/nstop/config.toml over it]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List namespaces (lsns-compatible flags, columns and JSON)
    #[command(after_help = cli::ns::columns_help())]
    Ns(NsArgs),
    /// List cgroups of every hierarchy (v1, v2, hybrid) with limits, usage, events and pressure;
    /// or change them: mk, rm, move, set, freeze, thaw, kill, exec
    #[command(args_conflicts_with_subcommands = true)]
    Cg {
        #[command(subcommand)]
        action: Option<CgAction>,
        #[command(flatten)]
        list: CgArgs,
    },
    /// Run a command in new namespaces (like unshare(1))
    Unshare(UnshareArgs),
    /// Run a command in the namespaces of a process (like nsenter(1))
    Enter(EnterArgs),
    /// Signal processes, each pinned by a pidfd (PID 1, kernel threads and nstop refused)
    Kill(KillArgs),
    /// Why was it OOM-killed? The kernel's reports with a diagnosis each, the cgroups' OOM
    /// counters, and who would die next where a limit is close
    Oom(cli::oom::OomArgs),
    /// The whole model (host, namespaces, processes with NSpid chains and cgroups, cgroups) as
    /// one JSON document
    Snapshot {
        /// JSON output (the only format)
        #[arg(long)]
        json: bool,
        /// Indented JSON (the default on a terminal; one line otherwise)
        #[arg(long)]
        pretty: bool,
        /// Sample twice, this long apart, to fill in rates: `1s`, `500ms`, or seconds
        #[arg(short = 'i', long, value_name = "DURATION", value_parser = cli::cg::parse_duration, conflicts_with = "from")]
        interval: Option<std::time::Duration>,
        /// The snapshot a recording (`nstop record --dir DIR`) took, not the live host's
        #[arg(long, value_name = "DIR")]
        from: Option<PathBuf>,
        /// With --from: the last snapshot taken at or before this time: a UTC time
        /// (2026-11-23T03:00:00Z) or a duration back from now (2h) [default: the newest]
        #[arg(long, value_name = "TIME", requires = "from")]
        at: Option<String>,
    },
    /// Record a snapshot every interval into a directory (rotated, pruned by age and size), for
    /// `nstop --replay DIR`, `snapshot --from DIR` and `oom --from DIR`
    Record(cli::record::RecordArgs),
    /// How isolated is it? Each container's (or the process's or cgroup's) shared host
    /// namespaces, capabilities, seccomp, no_new_privs, LSM, root and host mounts against a
    /// default container's; exit status 1 when something is weaker
    Audit(cli::isolation::AuditArgs),
    /// Expose namespaces, cgroups (limits, usage, pressure, memory events), OOM kills and
    /// container isolation as OpenMetrics for Prometheus: /metrics, /snapshot, /healthz
    Serve(nstop::serve::ServeArgs),
    /// Print a completion script: `nstop completions bash > /etc/bash_completion.d/nstop`
    /// (zsh: into a directory on $fpath as _nstop; fish: ~/.config/fish/completions/nstop.fish)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The explorer's config file: `check [FILE]` says whether it reads, or which line is
    /// wrong and what is accepted (exit 2)
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// What this host offers nstop and what is missing, with the fix for each: privileges,
    /// cgroup layout, PSI, the kernel log, kernel features, where it writes
    Doctor {
        /// JSON output
        #[arg(long)]
        json: bool,
    },
    /// Write the man pages, nstop(1) and one per subcommand (nstop-cg-set(1)...), into DIR
    Man {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigAction {
    /// Check FILE, or the files the explorer reads (the host's, then the user's)
    Check {
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

/// One model; with an interval, from two samples so rates are known. `check` sees the first
/// model before the wait, to refuse bad input at once.
fn sampled_model(
    roots: &Roots,
    collect: Collect,
    interval: Option<std::time::Duration>,
    check: impl Fn(&Model) -> Result<(), UsageError>,
) -> anyhow::Result<Model> {
    let mut sampler = sys::Sampler::new(match interval {
        Some(_) => sys::Pace::Again,
        None => sys::Pace::Once,
    });
    let first = sampler.sample(roots, collect)?;
    let Some(pause) = interval else {
        return Ok(Model::new(&first, None));
    };
    check(&Model::new(&first, None))?;
    std::thread::sleep(pause);
    let sample = sampler.sample(roots, collect)?;
    Ok(Model::new(&sample, Some(&first)))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let roots = cli.root.as_deref().map(Roots::under).unwrap_or_default();
    let on_processes = match &cli.command {
        Some(Command::Kill(_)) => Some("kill"),
        Some(Command::Enter(_)) => Some("enter"),
        Some(Command::Unshare(_)) => Some("unshare"),
        // cg move, kill and exec refuse in ops, once their cgroup is known to exist.
        _ => None,
    };
    if let Some(command) = on_processes {
        nstop::ops::live_processes_only(&roots, command).map_err(UsageError)?;
    }
    let args = match cli.command {
        Some(Command::Ns(args)) => args,
        Some(Command::Record(args)) => return Ok(ExitCode::from(cli::record::run(args, roots)?)),
        Some(Command::Serve(args)) => return Ok(ExitCode::from(nstop::serve::run(args, roots)?)),
        Some(Command::Config {
            action: ConfigAction::Check { file },
        }) => {
            use nstop::tui::config;
            let named = file.or(cli.config);
            let paths: Vec<PathBuf> = match &named {
                Some(path) => vec![path.clone()],
                None => [
                    Some(PathBuf::from(config::SYSTEM_PATH)),
                    config::user_path(None),
                ]
                .into_iter()
                .flatten()
                .collect(),
            };
            for path in paths {
                match config::Config::read(&path).map_err(|e| UsageError(e.to_string()))? {
                    Some(_) => nstop::text::say(&format!("{}: ok\n", path.display()))?,
                    None if named.is_some() => {
                        return Err(UsageError(format!("{}: no such file", path.display())).into());
                    }
                    None => {
                        nstop::text::say(&format!("{}: none (the defaults)\n", path.display()))?
                    }
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Doctor { json }) => {
            let model = Model::new(&sys::sample(&roots, Collect::Cgroups)?, None);
            let checks = cli::doctor::checks(&model, &roots);
            let out = match json {
                true => serde_json::to_string_pretty(&checks)? + "\n",
                false => cli::doctor::render(&checks),
            };
            write_stdout(&out, json)?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "nstop", &mut script);
            return write_stdout(&String::from_utf8(script)?, true).map(|()| ExitCode::SUCCESS);
        }
        Some(Command::Man { dir }) => {
            let written = cli::docs::man_pages(Cli::command(), &dir)
                .map_err(|e| anyhow::anyhow!("writing man pages into {}: {e}", dir.display()))?;
            nstop::text::tell(format_args!(
                "{} man pages written into {}",
                written.len(),
                dir.display()
            ));
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Snapshot {
            from: Some(dir),
            at,
            pretty,
            ..
        }) => {
            let mut recording = open_recording(&dir)?;
            let i = match at {
                Some(at) => frame_at(&recording, &at)?,
                None => recording.len() - 1,
            };
            let frame_error = |e: String| anyhow::anyhow!("{}: {e}", dir.display());
            // Printed as written, once it reads as a snapshot (a damaged or foreign frame
            // would otherwise pass for one).
            recording.model(i).map_err(frame_error)?;
            let json = recording.json(i).map_err(|e| frame_error(e.to_string()))?;
            let json = match indented(pretty) {
                true => serde_json::to_string_pretty(
                    &serde_json::from_slice::<serde_json::Value>(&json)?,
                )?,
                false => String::from_utf8(json)?,
            };
            return write_stdout(&(json + "\n"), true).map(|()| ExitCode::SUCCESS);
        }
        Some(Command::Snapshot {
            interval, pretty, ..
        }) => {
            let model = sampled_model(&roots, Collect::Everything, interval, |_| Ok(()))?;
            report_unreadable(&model);
            report_cgroup_view(&model);
            let json = match indented(pretty) {
                true => serde_json::to_string_pretty(&model)?,
                false => serde_json::to_string(&model)?,
            };
            return write_stdout(&(json + "\n"), true).map(|()| ExitCode::SUCCESS);
        }
        Some(Command::Cg {
            action: Some(action),
            ..
        }) => return Ok(ExitCode::from(cli::ops::cg(action, roots)?)),
        Some(Command::Unshare(args)) => return Ok(ExitCode::from(cli::ops::unshare(args, roots)?)),
        Some(Command::Enter(args)) => return Ok(ExitCode::from(cli::ops::enter(args, roots)?)),
        Some(Command::Kill(args)) => return Ok(ExitCode::from(cli::ops::kill(args)?)),
        Some(Command::Audit(args)) => {
            let model = Model::new(&sys::sample(&roots, Collect::Everything)?, None);
            report_unreadable(&model);
            let report = cli::isolation::report(&model, &roots, args.target.as_deref())?;
            let out = match args.json {
                true => serde_json::to_string_pretty(&report)? + "\n",
                false => cli::isolation::render(&report),
            };
            write_stdout(&out, true)?;
            return Ok(ExitCode::from(u8::from(report.exceeds_baseline)));
        }
        Some(Command::Oom(args)) => {
            // Refused before anything is read.
            let since = args
                .since
                .as_deref()
                .map(|s| cli::oom::parse_time("--since", s, now_secs()))
                .transpose()?;
            let out = match &args.from {
                Some(dir) => {
                    let mut recording = open_recording(dir)?;
                    let model = recording
                        .model(recording.len() - 1)
                        .map_err(anyhow::Error::msg)?;
                    let events = recording.oom_events().map_err(anyhow::Error::msg)?;
                    let mut before = std::collections::HashMap::new();
                    for e in &events {
                        if let Some(b) = recording
                            .before(e, cli::oom::BEFORE)
                            .map_err(anyhow::Error::msg)?
                        {
                            before.insert(e.seq, b);
                        }
                    }
                    let facts = cli::oom::Facts {
                        events,
                        notes: recording.notes.clone(),
                        model: &model,
                        live: None,
                        before,
                    };
                    cli::oom::render(&args, since, facts)?
                }
                None => {
                    let model = Model::new(&sys::sample(&roots, Collect::Everything)?, None);
                    let log = sys::kmsg::kernel_log(&roots);
                    let facts = cli::oom::Facts {
                        events: nstop::model::oom::parse_reports(log.lines),
                        notes: log.notes,
                        model: &model,
                        live: Some(&roots),
                        before: std::collections::HashMap::new(),
                    };
                    cli::oom::render(&args, since, facts)?
                }
            };
            return write_stdout(&out, args.json).map(|()| ExitCode::SUCCESS);
        }
        Some(Command::Cg {
            action: None,
            list: args,
        }) => {
            cli::cg::validate(&args)?;
            let model = sampled_model(&roots, Collect::Cgroups, args.interval, |m| {
                cli::cg::check_cgroup(&args, m)
            })?;
            report_cgroup_view(&model);
            return write_stdout(&cli::cg::render(&args, &model)?, args.json)
                .map(|()| ExitCode::SUCCESS);
        }
        None => {
            let (config, problem) = match nstop::tui::config::load(cli.config.as_deref()) {
                Ok(config) => (config, None),
                Err(e) => (Default::default(), Some(e.to_string())),
            };
            let interval = (cli.interval)
                .or(config.interval())
                .unwrap_or(std::time::Duration::from_secs(1));
            let settings = nstop::tui::Settings {
                config,
                named: cli.config.clone(),
                problem,
            };
            let source = match &cli.replay {
                Some(dir) => {
                    let recording = open_recording(dir)?;
                    let start = match &cli.at {
                        Some(at) => frame_at(&recording, at)?,
                        None => recording.len() - 1,
                    };
                    nstop::tui::Source::Replay(recording, start)
                }
                None => nstop::tui::Source::Live(roots),
            };
            return Ok(ExitCode::from(nstop::tui::run(source, interval, settings)?));
        }
    };
    cli::ns::validate(&args)?;
    if args.list_columns {
        return write_stdout(&cli::ns::list_columns(&args), args.json).map(|()| ExitCode::SUCCESS);
    }
    // A listing shows one process per namespace; a member list and a pid namespace's detail
    // (its init, from NSpid) need every member in full.
    let collect = if args.namespace.is_none() && args.detail.is_none() {
        Collect::NamespaceList
    } else {
        Collect::Namespaces
    };
    let sample = sys::sample(&roots, collect)?;
    let model = Model::new(&sample, None);
    let task = args.task.and_then(|pid| model.process(pid));
    if let Some(process) = task.filter(|p| p.namespaces.is_empty()) {
        anyhow::bail!(
            "cannot read the namespaces of PID {}: permission denied (reading another user's \
             /proc/PID/ns needs root or CAP_SYS_PTRACE)",
            process.pid
        );
    }
    let out = match args.detail {
        Some(ino) => {
            let ns = cli::ns::detail_namespace(&args, &model, ino)?;
            let detail = match ns.kind {
                NsType::Pid => Ok(model.pid_detail(ns)),
                _ => sys::detail::read_detail(
                    &roots,
                    &sys::detail::Access {
                        ns: ns.ns_ref(),
                        members: &ns.pids,
                        holders: &ns.holders,
                    },
                ),
            };
            cli::ns::render_detail(&args, &model, ns, &detail)
        }
        None => cli::ns::render(&args, &model)?,
    };
    report_unreadable(&model);
    write_stdout(&out, args.json).map(|()| ExitCode::SUCCESS)
}

fn now_secs() -> u64 {
    sys::since_epoch().as_secs()
}

/// A recording to read; its torn tails are said on stderr.
fn open_recording(dir: &std::path::Path) -> anyhow::Result<nstop::store::Recording> {
    let recording = nstop::store::Recording::open(dir).map_err(UsageError)?;
    for note in &recording.notes {
        nstop::text::tell(note);
    }
    Ok(recording)
}

/// The frame `--at` names: the last taken at or before it; refused before the first.
fn frame_at(recording: &nstop::store::Recording, at: &str) -> anyhow::Result<usize> {
    let time_ms = cli::oom::parse_time("--at", at, now_secs())? * 1000;
    if time_ms < recording.time_ms(0) / 1000 * 1000 {
        return Err(UsageError(format!(
            "--at {at}: the recording begins at {} (and ends at {})",
            recording.label(0),
            recording.label(recording.len() - 1)
        ))
        .into());
    }
    Ok(recording.at(time_ms))
}

/// Whether a snapshot is indented: asked for, or read by a person at a terminal.
fn indented(pretty: bool) -> bool {
    pretty || std::io::stdout().is_terminal()
}

/// Writes `out`: JSON exactly as it is, text with host text escaped (`cli::say`).
fn write_stdout(out: &str, json: bool) -> anyhow::Result<()> {
    let written = match json {
        true => std::io::stdout().lock().write_all(out.as_bytes()),
        false => nstop::text::say(out),
    };
    // A closed pipe (`nstop ns | head`) is the reader's choice, not our error.
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn report_cgroup_view(model: &Model) {
    if let Some(notice) = model.host.cgroup_notice() {
        nstop::text::tell(notice);
    }
    for note in &model.name_notes {
        nstop::text::tell(note);
    }
}

fn report_unreadable(model: &Model) {
    let unreadable = &model.unreadable;
    let hint = if sys::is_root() {
        ""
    } else {
        "; run as root (CAP_SYS_PTRACE) to see them"
    };
    let n = unreadable.processes.len();
    if n > 0 {
        let shown: Vec<String> = unreadable
            .processes
            .iter()
            .take(5)
            .map(i32::to_string)
            .collect();
        let more = if n > 5 { ", ..." } else { "" };
        nstop::text::tell(format_args!(
            "{} unreadable (namespaces unknown): permission denied (PID {}{more}){hint}",
            nstop::text::count(n, "process", "processes"),
            shown.join(", ")
        ));
    }
    let n = unreadable.fds.len();
    if n > 0 {
        let processes = nstop::text::count(n, "process", "processes");
        nstop::text::tell(format_args!(
            "open file descriptors of {processes} unreadable (namespaces held only by fds may be missing): permission denied{hint}"
        ));
    }
}

/// lsns takes `-Tparent` (an optional value glued to a short flag), which clap reads as `-T -p
/// arent`: spell those as `--tree=parent` first, for `nstop ns` only.
fn lsns_style_args() -> Vec<std::ffi::OsString> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // The first word that is neither an option nor the value of --root.
    let mut words = args.iter().skip(1).filter_map(|a| a.to_str());
    let mut subcommand = None;
    while let Some(word) = words.next() {
        if word == "--root" {
            words.next();
        } else if !word.starts_with('-') {
            subcommand = Some(word);
            break;
        }
    }
    if subcommand != Some("ns") {
        return args;
    }
    args.into_iter()
        .map(|arg| match arg.to_str() {
            Some(a) if a.starts_with("-T") && a.len() > 2 => {
                format!("--tree={}", a[2..].trim_start_matches('=')).into()
            }
            _ => arg,
        })
        .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(lsns_style_args());
    match run(cli) {
        Ok(code) => code,
        Err(e) if e.is::<UsageError>() => {
            nstop::text::tell(e);
            ExitCode::from(2)
        }
        Err(e) => {
            nstop::text::tell(format_args!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}
