//! `nstop ns`: an lsns-compatible namespace listing (same flags, columns and JSON shape), plus
//! the namespaces lsns cannot see (bind mounts, fds, threads, `*_for_children`).

use std::io::IsTerminal;

use clap::Args;

use crate::cli::UsageError;
use crate::cli::render::{Cell, ColumnSpec, Format, Table};
use crate::model::Model;
use crate::model::namespace::Namespace;
use crate::model::sample::{HolderSample, NsType};

#[derive(Args, Debug, Default)]
pub struct NsArgs {
    /// Use JSON output format
    #[arg(short = 'J', long)]
    pub json: bool,
    /// Use the raw output format
    #[arg(short = 'r', long)]
    pub raw: bool,
    /// Don't print headings
    #[arg(short = 'n', long)]
    pub noheadings: bool,
    /// Use list format output
    #[arg(short = 'l', long)]
    pub list: bool,
    /// Output columns, comma-separated; `+COL,...` appends to the defaults
    #[arg(short = 'o', long, value_name = "LIST")]
    pub output: Option<String>,
    /// Output all lsns columns
    #[arg(long)]
    pub output_all: bool,
    /// Namespace type (mnt, net, ipc, user, pid, uts, cgroup, time); repeatable
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    pub types: Vec<NsType>,
    /// Print the namespaces of this process
    #[arg(short = 'p', long = "task", value_name = "PID")]
    pub task: Option<i32>,
    /// Don't truncate text in columns
    #[arg(short = 'u', long)]
    pub notruncate: bool,
    /// Only this namespace (inode number)
    #[arg(value_name = "NAMESPACE")]
    pub namespace: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Ns,
    Type,
    Path,
    Nprocs,
    Pid,
    Ppid,
    Command,
    Uid,
    User,
    Netnsid,
    Nsfs,
    Pns,
    Ons,
    Holders,
    Pids,
    Nspid,
    Ouid,
}

const fn spec(name: &'static str, right: bool, truncate: bool, help: &'static str) -> (ColumnSpec, &'static str) {
    (
        ColumnSpec {
            name,
            right,
            truncate,
        },
        help,
    )
}

impl Column {
    const LSNS: [Column; 13] = [
        Column::Ns,
        Column::Type,
        Column::Path,
        Column::Nprocs,
        Column::Pid,
        Column::Ppid,
        Column::Command,
        Column::Uid,
        Column::User,
        Column::Netnsid,
        Column::Nsfs,
        Column::Pns,
        Column::Ons,
    ];
    const EXTRA: [Column; 4] = [Column::Holders, Column::Pids, Column::Nspid, Column::Ouid];
    const DEFAULT: [Column; 6] = [
        Column::Ns,
        Column::Type,
        Column::Nprocs,
        Column::Pid,
        Column::User,
        Column::Command,
    ];

    fn describe(self) -> (ColumnSpec, &'static str) {
        match self {
            Column::Ns => spec("NS", true, false, "namespace identifier (inode number)"),
            Column::Type => spec("TYPE", false, false, "kind of namespace"),
            Column::Path => spec("PATH", false, false, "path to the namespace"),
            Column::Nprocs => spec("NPROCS", true, false, "number of processes in the namespace"),
            Column::Pid => spec("PID", true, false, "lowest PID in the namespace"),
            Column::Ppid => spec("PPID", true, false, "PPID of the PID"),
            Column::Command => spec("COMMAND", false, true, "command line of the PID"),
            Column::Uid => spec("UID", true, false, "UID of the PID"),
            Column::User => spec("USER", false, false, "username of the PID"),
            Column::Netnsid => spec("NETNSID", true, false, "namespace ID as used by network subsystem"),
            Column::Nsfs => spec("NSFS", false, true, "nsfs mountpoint (usually used network subsystem)"),
            Column::Pns => spec("PNS", true, false, "parent namespace identifier (inode number)"),
            Column::Ons => spec("ONS", true, false, "owner namespace identifier (inode number)"),
            Column::Holders => spec("HOLDERS", false, true, "what else keeps it alive: threads, fds, bind mounts, *_for_children"),
            Column::Pids => spec("PIDS", false, true, "all member PIDs"),
            Column::Nspid => spec("NSPID", false, false, "PID of the PID at every level, outermost first"),
            Column::Ouid => spec("OUID", true, false, "UID that created the user namespace"),
        }
    }

    fn all() -> impl Iterator<Item = Column> {
        Column::LSNS.into_iter().chain(Column::EXTRA)
    }

    fn parse(name: &str) -> Result<Column, UsageError> {
        Column::all()
            .find(|c| c.describe().0.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let names: Vec<_> = Column::all().map(|c| c.describe().0.name).collect();
                UsageError(format!(
                    "unknown column '{name}' (accepted: {})",
                    names.join(", ")
                ))
            })
    }

    fn cell(self, ns: &Namespace, model: &Model) -> Cell {
        let proc = ns.pid.and_then(|pid| model.process(pid));
        match self {
            Column::Ns => Cell::num(ns.ns),
            Column::Type => Cell::text(ns.kind.name()),
            Column::Path => Cell::opt(ns.path.clone(), Cell::text),
            Column::Nprocs => Cell::num(ns.nprocs() as u64),
            Column::Pid => Cell::opt(ns.pid, Cell::num),
            Column::Ppid => Cell::opt(proc.map(|p| p.ppid), Cell::num),
            Column::Command => Cell::opt(proc.map(|p| p.command.clone()), Cell::text),
            Column::Uid => Cell::opt(proc.map(|p| p.uid), Cell::num),
            Column::User => Cell::opt(proc.and_then(|p| p.user.clone()), Cell::text),
            // Read over rtnetlink: not collected yet, so unknown rather than guessed.
            Column::Netnsid => Cell::null(),
            Column::Nsfs => Cell::opt((!ns.nsfs.is_empty()).then(|| ns.nsfs.join("\n")), Cell::text),
            // lsns prints 0 where the kernel names no parent or owner.
            Column::Pns => Cell::num(ns.parent.unwrap_or(0)),
            Column::Ons => Cell::num(ns.owner.unwrap_or(0)),
            Column::Holders => holders_cell(ns),
            Column::Pids => Cell {
                text: join(&ns.pids, ","),
                json: serde_json::json!(ns.pids),
            },
            Column::Nspid => Cell::opt(proc, |p| Cell {
                text: join(&p.nspid, ":"),
                json: serde_json::json!(p.nspid),
            }),
            Column::Ouid => Cell::opt(ns.owner_uid, Cell::num),
        }
    }
}

fn join<T: ToString>(values: &[T], sep: &str) -> String {
    values.iter().map(T::to_string).collect::<Vec<_>>().join(sep)
}

fn holders_cell(ns: &Namespace) -> Cell {
    let text: Vec<String> = ns
        .holders
        .iter()
        .map(|h| match h {
            HolderSample::Thread { pid, tid } => format!("thread:{pid}/{tid}"),
            HolderSample::Fd { pid, fd } => format!("fd:{pid}/{fd}"),
            HolderSample::ForChildren { pid } => format!("children-of:{pid}"),
            HolderSample::BindMount { path, .. } => format!("mount:{path}"),
        })
        .collect();
    Cell {
        text: text.join(","),
        json: serde_json::to_value(&ns.holders).expect("holders serialize"),
    }
}

fn columns(args: &NsArgs) -> Result<Vec<Column>, UsageError> {
    let mut cols: Vec<Column> = if args.output_all {
        Column::LSNS.to_vec()
    } else {
        Column::DEFAULT.to_vec()
    };
    if let Some(list) = &args.output {
        let (append, list) = match list.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (args.output_all, list.as_str()),
        };
        if !append {
            cols.clear();
        }
        for name in list.split(',').filter(|n| !n.is_empty()) {
            cols.push(Column::parse(name)?);
        }
        if cols.is_empty() {
            return Err(UsageError(format!("no columns in '{list}'")));
        }
    }
    Ok(cols)
}

/// Which namespaces the arguments select, in output order.
fn selected<'m>(args: &NsArgs, model: &'m Model) -> Result<Vec<&'m Namespace>, UsageError> {
    let task_ns = match args.task {
        Some(pid) => {
            let proc = model.process(pid).ok_or_else(|| {
                UsageError(format!(
                    "no process with PID {pid} (-p takes the PID of a running process)"
                ))
            })?;
            Some(proc.namespaces.clone())
        }
        None => None,
    };
    Ok(model
        .namespaces
        .iter()
        .filter(|ns| args.types.is_empty() || args.types.contains(&ns.kind))
        .filter(|ns| args.namespace.is_none_or(|ino| ns.ns == ino))
        .filter(|ns| {
            task_ns
                .as_ref()
                .is_none_or(|map| map.get(&ns.kind) == Some(&ns.ns))
        })
        .collect())
}

/// The argument checks that need no sample, so bad input fails before any work.
pub fn validate(args: &NsArgs) -> Result<(), UsageError> {
    columns(args).map(|_| ())
}

pub fn render(args: &NsArgs, model: &Model) -> Result<String, UsageError> {
    let cols = columns(args)?;
    let specs: Vec<ColumnSpec> = cols.iter().map(|c| c.describe().0).collect();
    let rows = selected(args, model)?
        .into_iter()
        .map(|ns| cols.iter().map(|c| c.cell(ns, model)).collect())
        .collect();
    let format = if args.json {
        Format::Json
    } else if args.raw {
        Format::Raw
    } else {
        let width = (!args.notruncate && std::io::stdout().is_terminal())
            .then(crate::cli::terminal_width)
            .flatten();
        Format::Table { width }
    };
    let table = Table {
        columns: &specs,
        rows,
    };
    Ok(table.render(format, !args.noheadings, "namespaces"))
}

/// The "Available output columns" part of `nstop ns --help`.
pub fn columns_help() -> String {
    let mut out = String::from("Available output columns:\n");
    for col in Column::all() {
        let (spec, help) = col.describe();
        out.push_str(&format!("{:>12}  {help}\n", spec.name));
    }
    out
}
