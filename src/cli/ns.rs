//! `nstop ns`: an lsns-compatible namespace listing (same flags, columns and JSON shape), plus
//! the namespaces lsns cannot see (bind mounts, fds, threads, `*_for_children`).

use std::collections::HashMap;

use clap::Args;

use crate::cli::UsageError;
use crate::cli::render::{Cell, ColumnSpec, Format, Row, Table, Tree, table_width, utf8_locale};
use crate::filter::{Filter, Value as FilterValue};
use crate::model::Model;
use crate::model::namespace::Namespace;
use crate::model::process::Process;
use crate::model::sample::{IdMap, NsDetail, NsRef, NsType};

#[derive(Args, Debug, Default)]
pub struct NsArgs {
    /// Use JSON output format
    #[arg(short = 'J', long, conflicts_with = "raw")]
    pub json: bool,
    /// Use the raw output format
    #[arg(short = 'r', long)]
    pub raw: bool,
    /// Don't print headings
    #[arg(short = 'n', long)]
    pub noheadings: bool,
    /// Use list format output (no process tree)
    #[arg(short = 'l', long)]
    pub list: bool,
    /// Output columns, comma-separated; `+COL,...` appends to the defaults
    #[arg(short = 'o', long, value_name = "LIST", hide_possible_values = true,
          value_parser = crate::cli::completed(clap::builder::StringValueParser::new(), Column::names))]
    pub output: Option<String>,
    /// Output all lsns columns
    #[arg(long)]
    pub output_all: bool,
    /// Namespace type (mnt, net, ipc, user, pid, uts, cgroup, time); repeatable
    #[arg(short = 't', long = "type", value_name = "TYPE", hide_possible_values = true,
          value_parser = crate::cli::completed(|s: &str| s.parse::<NsType>(), ns_type_names))]
    pub types: Vec<NsType>,
    /// Print the namespaces of this process
    #[arg(
        short = 'p',
        long = "task",
        value_name = "PID",
        conflicts_with = "namespace",
        value_parser = parse_pid
    )]
    pub task: Option<i32>,
    /// Don't truncate text in columns
    #[arg(short = 'u', long)]
    pub notruncate: bool,
    /// Tree format: owner (user-namespace ownership, the default), parent (pid and user
    /// hierarchies) or process
    #[arg(
        short = 'T',
        long = "tree",
        value_name = "REL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "owner"
    )]
    pub tree: Option<TreeKind>,
    /// Don't use multi-line representation (several NSFS paths joined by commas)
    #[arg(short = 'W', long)]
    pub nowrap: bool,
    /// Only rows the expression selects, in the scols-filter language of lsns -Q:
    /// `TYPE == "net" && NPROCS > 1`, `USER != "root"`, `TYPE =~ "^u"`, and/or/not, parentheses;
    /// any column may be named, shown or not
    #[arg(short = 'Q', long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Only namespaces without processes (kept by bind mounts, fds, threads, children)
    #[arg(short = 'P', long, conflicts_with = "task")]
    pub persistent: bool,
    /// List the columns (with -J or -r as JSON or raw) and exit
    #[arg(short = 'H', long)]
    pub list_columns: bool,
    /// Show what namespace NS (inode number) looks like from inside: hostname, uid/gid maps,
    /// interfaces and addresses, root mount, clock offsets, init process, cgroup root
    #[arg(long, value_name = "NS", conflicts_with_all = ["namespace", "task", "tree"], value_parser = parse_inode)]
    pub detail: Option<u64>,
    /// List the member processes of this namespace (inode number)
    #[arg(value_name = "NAMESPACE", value_parser = parse_inode)]
    pub namespace: Option<u64>,
}

fn parse_pid(text: &str) -> Result<i32, String> {
    text.parse()
        .ok()
        .filter(|&pid| pid > 0)
        .ok_or_else(|| format!("'{text}' is not a PID (accepted: a process ID such as 1234)"))
}

pub fn parse_inode(text: &str) -> Result<u64, String> {
    text.parse().map_err(|_| {
        format!("'{text}' is not a namespace (accepted: its inode number, as NS shows it, such as 4026531836)")
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TreeKind {
    /// Under the row of the representative's parent process
    Process,
    /// Under the owning user namespace
    Owner,
    /// Under the parent pid or user namespace
    Parent,
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
    Nsid,
}

/// What a column holds, as `--list-columns` names it (lsns's `<integer>`, `<string>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Holds {
    Integer,
    Text,
}

/// A column's look; `min_width` are lsns's width hints, so tables line up the same way.
const fn spec(
    name: &'static str,
    right: bool,
    truncate: bool,
    min_width: usize,
    holds: Holds,
    help: &'static str,
) -> (ColumnSpec, Holds, &'static str) {
    let spec = ColumnSpec {
        name,
        right,
        truncate,
        min_width,
    };
    (spec, holds, help)
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
    const EXTRA: [Column; 5] = [
        Column::Holders,
        Column::Pids,
        Column::Nspid,
        Column::Ouid,
        Column::Nsid,
    ];
    const DEFAULT: [Column; 6] = [
        Column::Ns,
        Column::Type,
        Column::Nprocs,
        Column::Pid,
        Column::User,
        Column::Command,
    ];

    // One line per column reads as the table it is.
    #[rustfmt::skip]
    fn describe(self) -> (ColumnSpec, Holds, &'static str) {
        match self {
            Column::Ns => spec("NS", true, false, 10, Holds::Integer, "namespace identifier (inode number)"),
            Column::Type => spec("TYPE", false, false, 5, Holds::Text, "kind of namespace"),
            Column::Path => spec("PATH", false, false, 0, Holds::Text, "path to the namespace"),
            Column::Nprocs => spec("NPROCS", true, false, 5, Holds::Integer, "number of processes in the namespace"),
            Column::Pid => spec("PID", true, false, 5, Holds::Integer, "lowest PID in the namespace"),
            Column::Ppid => spec("PPID", true, false, 5, Holds::Integer, "PPID of the PID"),
            Column::Command => spec("COMMAND", false, true, 0, Holds::Text, "command line of the PID"),
            Column::Uid => spec("UID", true, false, 0, Holds::Integer, "UID of the PID"),
            Column::User => spec("USER", false, false, 0, Holds::Text, "username of the PID"),
            Column::Netnsid => spec("NETNSID", true, false, 0, Holds::Text, "namespace ID as used by network subsystem"),
            Column::Nsfs => spec("NSFS", false, true, 0, Holds::Text, "nsfs mountpoint (usually used network subsystem)"),
            Column::Pns => spec("PNS", true, false, 10, Holds::Integer, "parent namespace identifier (inode number)"),
            Column::Ons => spec("ONS", true, false, 10, Holds::Integer, "owner namespace identifier (inode number)"),
            Column::Holders => spec("HOLDERS", false, true, 0, Holds::Text, "what else keeps it alive: threads, fds, sockets, bind mounts, *_for_children, children"),
            Column::Pids => spec("PIDS", false, true, 0, Holds::Text, "all member PIDs"),
            Column::Nspid => spec("NSPID", false, false, 0, Holds::Text, "the PID at every pid-namespace level, outermost first"),
            Column::Ouid => spec("OUID", true, false, 0, Holds::Integer, "UID that created the user namespace"),
            Column::Nsid => spec("NSID", true, false, 0, Holds::Integer, "64-bit namespace id (NS_GET_ID): never reused, unlike NS"),
        }
    }

    fn all() -> impl Iterator<Item = Column> {
        Column::LSNS.into_iter().chain(Column::EXTRA)
    }

    pub(crate) fn names() -> Vec<&'static str> {
        Column::all().map(|c| c.describe().0.name).collect()
    }

    fn parse(name: &str) -> Result<Column, UsageError> {
        Column::all()
            .find(|c| c.describe().0.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                UsageError(format!(
                    "unknown column '{name}' (accepted: {})",
                    Column::names().join(", ")
                ))
            })
    }

    fn cell(self, row: &RowSource, nsfs_sep: &str) -> Cell {
        let RowSource {
            ns,
            proc,
            path,
            reader_mnt_ns,
        } = row;
        let (ns, proc, reader) = (*ns, *proc, *reader_mnt_ns);
        match self {
            Column::Ns => Cell::num(ns.ns),
            Column::Type => Cell::text(ns.kind.name()),
            Column::Path => Cell::opt(path.as_deref(), Cell::text),
            Column::Nprocs => Cell::num(ns.nprocs() as u64),
            Column::Pid => Cell::opt(proc.map(|p| p.pid).or(ns.pid), Cell::num),
            Column::Ppid => Cell::opt(proc.map(|p| p.ppid), Cell::num),
            // Without members the process shown is a holder's (an fd's, a thread's): the table
            // says so, and what holds a namespace no process is in; JSON stays lsns's.
            Column::Command => match (proc, ns.nprocs()) {
                (Some(p), 0) => Cell {
                    text: format!("[holder] {}", p.command),
                    json: p.command.clone().into(),
                },
                (None, 0) if !ns.holders.is_empty() => Cell {
                    text: ns.held_by(reader),
                    json: serde_json::Value::Null,
                },
                _ => Cell::opt(proc.map(|p| p.command.as_str()), Cell::text),
            },
            // A namespace with no process shows its creator, as lsns does for ghosts.
            Column::Uid => Cell::opt(proc.map(|p| p.uid).or(ns.owner_uid), Cell::num),
            Column::User => match proc {
                Some(p) => Cell::text(p.user.clone().unwrap_or_else(|| p.uid.to_string())),
                None => Cell::opt(ns.owner_uid, |uid| {
                    Cell::text(ns.owner_user.clone().unwrap_or_else(|| uid.to_string()))
                }),
            },
            // lsns writes the id as a string, and "unassigned" for -1.
            Column::Netnsid => Cell::opt(ns.netnsid, |id| match id {
                -1 => Cell::text("unassigned"),
                id => Cell::text(id.to_string()),
            }),
            Column::Nsfs => Cell::opt(
                (!ns.nsfs.is_empty()).then(|| ns.nsfs.join(nsfs_sep)),
                Cell::text,
            ),
            // lsns prints 0 where the kernel names no parent or owner.
            Column::Pns => Cell::num(ns.parent.unwrap_or(0)),
            Column::Ons => Cell::num(ns.owner.unwrap_or(0)),
            Column::Holders => holders_cell(ns, reader),
            Column::Pids => Cell {
                text: join(&ns.pids, ","),
                json: serde_json::json!(ns.pids),
            },
            Column::Nspid => Cell::opt(proc, |p| Cell {
                text: join(&p.nspid, ":"),
                json: serde_json::json!(p.nspid),
            }),
            Column::Ouid => Cell::opt(ns.owner_uid, Cell::num),
            Column::Nsid => Cell::opt(ns.id, Cell::num),
        }
    }
}

/// The `--filter` expression, checked (syntax and column names) before anything is read.
fn row_filter(args: &NsArgs) -> Result<Option<Filter>, UsageError> {
    let Some(expr) = &args.filter else {
        return Ok(None);
    };
    let filter = Filter::parse(expr)
        .and_then(|f| f.check_columns(&Column::names()).map(|()| f))
        .map_err(|e| {
            let pointer = format!("{}^", " ".repeat(e.position));
            UsageError(format!("--filter: {e}\n  {expr}\n  {pointer}"))
        })?;
    Ok(Some(filter))
}

/// Whether the filter selects a row, given the row's cells as its JSON shows them.
fn selects(filter: &Filter, row: &RowSource) -> bool {
    filter.matches(&mut |name| {
        let cell = Column::parse(name).ok()?.cell(row, ",");
        match cell.json {
            serde_json::Value::Null => None,
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(FilterValue::from)
                .or_else(|| n.as_u64().map(FilterValue::from)),
            serde_json::Value::String(text) => Some(FilterValue::Text(text)),
            _ => Some(FilterValue::Text(cell.text)),
        }
    })
}

/// What one output row describes: a namespace through its representative process, or (with a
/// NAMESPACE argument) one member process of it.
struct RowSource<'m> {
    ns: &'m Namespace,
    proc: Option<&'m Process>,
    path: Option<String>,
    /// The mount namespace the model was read from (see `HolderSample::label`).
    reader_mnt_ns: Option<u64>,
}

fn join<T: ToString>(values: &[T], sep: &str) -> String {
    values
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

fn holders_cell(ns: &Namespace, reader: Option<u64>) -> Cell {
    Cell {
        text: ns.holder_labels(reader).join(","),
        json: serde_json::to_value(&ns.holders).expect("holders serialize"),
    }
}

/// The columns, and whether the process tree is drawn. As in lsns, the tree is decided by the
/// starting set (defaults, not --output-all or -l) before -o changes the columns.
fn columns(args: &NsArgs) -> Result<(Vec<Column>, Option<TreeKind>), UsageError> {
    let mut cols: Vec<Column> = if args.output_all {
        Column::LSNS.to_vec()
    } else if args.namespace.is_some() {
        vec![Column::Pid, Column::Ppid, Column::User, Column::Command]
    } else if args.types.contains(&NsType::Net) {
        vec![
            Column::Ns,
            Column::Type,
            Column::Nprocs,
            Column::Pid,
            Column::User,
            Column::Netnsid,
            Column::Nsfs,
            Column::Command,
        ]
    } else {
        Column::DEFAULT.to_vec()
    };
    let tree = if args.namespace.is_some() {
        (!args.list).then_some(TreeKind::Process)
    } else {
        args.tree
            .or((!args.list && !args.output_all).then_some(TreeKind::Process))
    };
    if let Some(list) = &args.output {
        let names = match list.strip_prefix('+') {
            Some(rest) => rest,
            None => {
                cols.clear();
                list.as_str()
            }
        };
        for name in names.split(',') {
            cols.push(Column::parse(name)?);
        }
    }
    Ok((cols, tree))
}

type Rows<'m> = Vec<(RowSource<'m>, Option<usize>)>;

/// The member processes of one namespace, each under its parent process's row.
fn member_rows<'m>(
    args: &NsArgs,
    model: &'m Model,
    ino: u64,
    filter: Option<&Filter>,
) -> anyhow::Result<Rows<'m>> {
    let ns = find_namespace(args, model, ino)?;
    // No member to list: the namespace's own row, whose COMMAND says what holds it.
    if ns.pids.is_empty() {
        let row = namespace_row(model, ns);
        let selected = filter.is_none_or(|f| selects(f, &row));
        return Ok(if selected { vec![(row, None)] } else { vec![] });
    }
    let mut row_of: HashMap<i32, usize> = HashMap::new();
    let mut out = Vec::new();
    for proc in ns.pids.iter().filter_map(|&pid| model.process(pid)) {
        let path = Some(format!("/proc/{}/ns/{}", proc.pid, ns.kind));
        let source = RowSource {
            ns,
            proc: Some(proc),
            path,
            reader_mnt_ns: model.reader_mnt_ns,
        };
        if filter.is_some_and(|f| !selects(f, &source)) {
            continue;
        }
        let parent = row_of.get(&proc.ppid).copied();
        row_of.insert(proc.pid, out.len());
        out.push((source, parent));
    }
    Ok(out)
}

fn namespace_row<'m>(model: &'m Model, ns: &'m Namespace) -> RowSource<'m> {
    RowSource {
        ns,
        proc: ns.pid.and_then(|pid| model.process(pid)),
        path: ns.path.clone(),
        reader_mnt_ns: model.reader_mnt_ns,
    }
}

/// lsns's process tree: a row hangs under the last row shown for its representative's parent
/// process.
fn process_tree<'m>(model: &'m Model, selected: &[&'m Namespace]) -> Vec<Option<usize>> {
    let mut last_row_of: HashMap<i32, usize> = HashMap::new();
    let mut parents = Vec::with_capacity(selected.len());
    for (row, ns) in selected.iter().enumerate() {
        let proc = ns.pid.and_then(|pid| model.process(pid));
        parents.push(proc.and_then(|p| last_row_of.get(&p.ppid).copied()));
        if let Some(p) = proc {
            last_row_of.insert(p.pid, row);
        }
    }
    parents
}

/// Owner or parent trees: each namespace under the row of the namespace `up` names. With
/// `connect`, that one is shown first (even when the type filter leaves it out, so the tree
/// stays connected); without, only the selected rows are (an expression or -P chose them).
fn relation_tree<'m>(
    model: &'m Model,
    selected: &[&'m Namespace],
    up: impl Fn(&Namespace) -> Option<NsRef>,
    connect: bool,
) -> (Vec<&'m Namespace>, Vec<Option<usize>>) {
    let mut row_of: HashMap<NsRef, usize> = HashMap::new();
    let (mut order, mut parents) = (Vec::new(), Vec::new());
    for &ns in selected {
        // The chain of not-yet-shown ancestors, nearest first; bounded in case of a cycle.
        let mut chain = vec![ns];
        while let Some(next) = up(chain[chain.len() - 1])
            .filter(|_| connect)
            .and_then(|r| model.namespace(r))
        {
            if row_of.contains_key(&next.ns_ref()) || chain.len() > 64 {
                break;
            }
            chain.push(next);
        }
        for ns in chain.into_iter().rev() {
            if row_of.contains_key(&ns.ns_ref()) {
                continue;
            }
            let parent = up(ns).and_then(|r| row_of.get(&r).copied());
            row_of.insert(ns.ns_ref(), order.len());
            order.push(ns);
            parents.push(parent);
        }
    }
    (order, parents)
}

fn owner_of(ns: &Namespace) -> Option<NsRef> {
    let ino = ns.owner?;
    Some(NsRef {
        kind: NsType::User,
        ino,
    })
}

fn parent_of(ns: &Namespace) -> Option<NsRef> {
    let ino = ns.parent?;
    Some(NsRef { kind: ns.kind, ino })
}

/// Rows with their tree parents, for the namespaces the filters select.
fn rows<'m>(args: &NsArgs, model: &'m Model, tree: Option<TreeKind>) -> anyhow::Result<Rows<'m>> {
    let filter = row_filter(args)?;
    if let Some(ino) = args.namespace {
        return member_rows(args, model, ino, filter.as_ref());
    }
    let task_ns = match args.task {
        Some(pid) => Some(
            &model
                .process(pid)
                .ok_or_else(|| {
                    UsageError(format!(
                        "no process with PID {pid} (-p takes the PID of a running process)"
                    ))
                })?
                .namespaces,
        ),
        None => None,
    };
    let selected: Vec<&Namespace> = model
        .namespaces
        .iter()
        .filter(|ns| args.types.is_empty() || args.types.contains(&ns.kind))
        .filter(|ns| task_ns.is_none_or(|map| map.get(&ns.kind) == Some(&ns.ns)))
        .filter(|ns| !args.persistent || ns.nprocs() == 0)
        .filter(|ns| {
            let filter = filter.as_ref();
            filter.is_none_or(|f| selects(f, &namespace_row(model, ns)))
        })
        .collect();
    let connect = filter.is_none() && !args.persistent;
    let (order, parents) = match tree {
        None => (selected.clone(), vec![None; selected.len()]),
        Some(TreeKind::Process) => (selected.clone(), process_tree(model, &selected)),
        Some(TreeKind::Owner) => relation_tree(model, &selected, owner_of, connect),
        Some(TreeKind::Parent) => relation_tree(model, &selected, parent_of, connect),
    };
    Ok(order
        .into_iter()
        .zip(parents)
        .map(|(ns, parent)| (namespace_row(model, ns), parent))
        .collect())
}

/// The argument checks that need no sample, so bad input fails before any work.
pub fn validate(args: &NsArgs) -> Result<(), UsageError> {
    row_filter(args)?;
    columns(args).map(|_| ())
}

/// `--detail NS` with `--filter`: the namespace must be one the expression selects.
pub fn detail_namespace<'m>(
    args: &NsArgs,
    model: &'m Model,
    ino: u64,
) -> anyhow::Result<&'m Namespace> {
    let ns = find_namespace(args, model, ino)?;
    if row_filter(args)?.is_some_and(|f| !selects(&f, &namespace_row(model, ns))) {
        let expr = args.filter.as_deref().unwrap_or_default();
        anyhow::bail!("{}:[{}] does not match --filter '{expr}'", ns.kind, ns.ns);
    }
    Ok(ns)
}

/// `--list-columns`: every column, what it holds and what it means, as lsns -H prints them.
pub fn list_columns(args: &NsArgs) -> String {
    let specs = [
        ColumnSpec::new("HOLDER", true, false),
        ColumnSpec::new("TYPE", false, false),
        ColumnSpec::new("DESCRIPTION", false, false),
    ];
    let rows = Column::all()
        .map(|c| {
            let (spec, holds, help) = c.describe();
            let holds = match holds {
                Holds::Integer => "<integer>",
                Holds::Text => "<string>",
            };
            Row {
                cells: vec![Cell::text(spec.name), Cell::text(holds), Cell::text(help)],
                parent: None,
            }
        })
        .collect();
    let format = match (args.json, args.raw) {
        (true, _) => Format::Json,
        (_, true) => Format::Raw,
        _ => Format::Table {
            width: table_width(true),
        },
    };
    let table = Table {
        columns: &specs,
        rows,
        tree: None,
    };
    table.render(format, false, "lsns-columns")
}

pub fn render(args: &NsArgs, model: &Model) -> anyhow::Result<String> {
    let (cols, tree) = columns(args)?;
    // Owner and parent trees are drawn in the NS column, which then reads left to right.
    let tree_column = match tree {
        Some(TreeKind::Owner | TreeKind::Parent) => Column::Ns,
        _ => Column::Command,
    };
    let specs: Vec<ColumnSpec> = cols
        .iter()
        .map(|&c| {
            let (spec, ..) = c.describe();
            ColumnSpec {
                right: spec.right && !(tree.is_some() && c == tree_column),
                ..spec
            }
        })
        .collect();
    let nsfs_sep = if args.nowrap || args.raw { "," } else { "\n" };
    let rows = rows(args, model, tree)?
        .into_iter()
        .map(|(src, parent)| Row {
            cells: cols.iter().map(|c| c.cell(&src, nsfs_sep)).collect(),
            parent,
        })
        .collect();
    let format = if args.json {
        Format::Json
    } else if args.raw {
        Format::Raw
    } else {
        let width = table_width(args.notruncate);
        Format::Table { width }
    };
    let tree = tree.map(|_| Tree {
        column: cols
            .iter()
            .position(|&c| c == tree_column)
            .unwrap_or(usize::MAX),
        ascii: !utf8_locale(),
    });
    let table = Table {
        columns: &specs,
        rows,
        tree,
    };
    Ok(table.render(format, !args.noheadings, "namespaces"))
}

fn ns_type_names() -> Vec<&'static str> {
    NsType::ALL.iter().map(|t| t.name()).collect()
}

/// The "Available output columns" part of `nstop ns --help`.
pub fn columns_help() -> String {
    let mut out = String::from("Available output columns:\n");
    for col in Column::all() {
        let (spec, _, help) = col.describe();
        out.push_str(&format!("{:>12}  {help}\n", spec.name));
    }
    out
}

/// The namespace an inode argument names (nsfs inodes are unique across types; -t narrows).
/// Not found while some processes were unreadable, it may be theirs: that is no usage error.
pub fn find_namespace<'m>(
    args: &NsArgs,
    model: &'m Model,
    ino: u64,
) -> anyhow::Result<&'m Namespace> {
    namespace_of_types(model, ino, &args.types)
}

/// The namespace with inode `ino` among those of `types` (any, when empty).
pub fn namespace_of_types<'m>(
    model: &'m Model,
    ino: u64,
    types: &[NsType],
) -> anyhow::Result<&'m Namespace> {
    let found = model
        .namespaces
        .iter()
        .find(|ns| ns.ns == ino && (types.is_empty() || types.contains(&ns.kind)));
    if let Some(ns) = found {
        return Ok(ns);
    }
    // A process whose links, or whose fds, could not be read may be in it or hold it.
    let unread: std::collections::BTreeSet<i32> = (model.unreadable.processes.iter())
        .chain(&model.unreadable.fds)
        .copied()
        .collect();
    match unread.len() {
        0 => Err(UsageError(format!(
            "no namespace with inode {ino} (list them with `nstop ns`)"
        ))
        .into()),
        n => anyhow::bail!(
            "cannot read whether namespace {ino} exists: it is not among the namespaces of the \
             processes readable here, and {} could not be read in full (permission denied: \
             another user's /proc/PID/ns and fds need root or CAP_SYS_PTRACE)",
            crate::text::count(n, "process", "processes")
        ),
    }
}

fn describe_holders(ns: &Namespace, reader: Option<u64>) -> String {
    match ns.holder_labels(reader) {
        labels if labels.is_empty() => "-".into(),
        labels => labels.join(" "),
    }
}

/// `--detail`: the namespace and what it looks like from inside, as text or JSON.
pub fn render_detail(
    args: &NsArgs,
    model: &Model,
    ns: &Namespace,
    detail: &Result<NsDetail, String>,
) -> String {
    if args.json {
        let doc = serde_json::json!({
            "namespace": ns,
            "detail": detail.as_ref().ok(),
            "error": detail.as_ref().err(),
        });
        return serde_json::to_string_pretty(&doc).expect("JSON of the model") + "\n";
    }
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    let mut out = format!(
        "{}:[{}]  nsid {}  processes {}  parent {}  owner {}\nheld by: {}\n",
        ns.kind,
        ns.ns,
        opt(ns.id),
        ns.nprocs(),
        ns.parent
            .map_or("-".into(), |p| format!("{}:[{p}]", ns.kind)),
        ns.owner.map_or("-".into(), |o| format!("user:[{o}]")),
        describe_holders(ns, model.reader_mnt_ns),
    );
    match detail {
        Ok(detail) => out.push_str(&detail_text(detail)),
        Err(why) => out.push_str(&format!("detail unavailable: {why}\n")),
    }
    out
}

fn detail_text(detail: &NsDetail) -> String {
    let maps = |maps: &[IdMap]| -> String {
        if maps.is_empty() {
            return "(none written)".into();
        }
        maps.iter()
            .map(|m| {
                format!(
                    "{}-{} -> {}-{}",
                    m.inside,
                    m.inside as u64 + m.count as u64 - 1,
                    m.outside,
                    m.outside as u64 + m.count as u64 - 1
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match detail {
        NsDetail::Uts {
            hostname,
            domainname,
        } => format!("hostname: {hostname}\ndomainname: {domainname}\n"),
        NsDetail::User {
            uid_map,
            gid_map,
            setgroups,
            seen_from,
        } => format!(
            "uid_map: {}\ngid_map: {}\nsetgroups: {}\n{}\n",
            maps(uid_map),
            maps(gid_map),
            setgroups.as_deref().unwrap_or("-"),
            IdMap::seen_from_note(*seen_from)
        ),
        NsDetail::Net { interfaces } => {
            let mut out = format!("interfaces: {}\n", interfaces.len());
            for i in interfaces {
                out.push_str(&format!(
                    "  {:>3} {:<16} {:<5} {:<8} mtu {:<6} {} {}\n",
                    i.index,
                    i.name,
                    if i.up { "UP" } else { "DOWN" },
                    i.state,
                    i.mtu.map_or("-".into(), |m| m.to_string()),
                    i.mac.as_deref().unwrap_or("-"),
                    i.addresses.join(" ")
                ));
            }
            out
        }
        NsDetail::Mnt {
            root_source,
            root_fstype,
            root,
            mounts,
        } => {
            format!("root: {root_source} ({root_fstype}) at {root}\nmounts: {mounts}\n")
        }
        NsDetail::Time {
            monotonic,
            boottime,
        } => format!(
            "monotonic offset: {}.{:09} s\nboottime offset: {}.{:09} s\n",
            monotonic.seconds, monotonic.nanoseconds, boottime.seconds, boottime.nanoseconds
        ),
        NsDetail::Pid { init, processes } => format!(
            "init: {}\nprocesses (here and below): {processes}\n",
            init.map_or(
                "- (its PID 1 has exited or is unreadable)".into(),
                |p| format!("PID {p}")
            )
        ),
        NsDetail::Cgroup { roots } => roots
            .iter()
            .map(|r| format!("cgroup root in {}: {}\n", r.label(), r.root))
            .collect(),
        NsDetail::Ipc => "no further facts for ipc namespaces\n".into(),
    }
}
