//! `nstop cg`: cgroups of every hierarchy as a table, a tree, or the JSON contract.

use std::cmp::Ordering;
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::cli::UsageError;
use crate::cli::render::{Cell, ColumnSpec, Format, Row, Table, Tree, table_width, utf8_locale};
use crate::model::cgroup::{Cgroup, Stall, parents_by_depth};
use crate::model::host::HostMode;
use crate::model::sample::HierarchySample;
use crate::model::{Model, human_bytes};

#[derive(Args, Debug, Default)]
pub struct CgArgs {
    /// `[controllers:]path`: no prefix (or `cgroup2:`) is the cgroup2 hierarchy, `memory:/a/b`
    /// the v1 hierarchy with memory, `*:/a/b` every hierarchy. Shows that cgroup and everything
    /// below it.
    /// Without it: cgroup2 and the v1 hierarchies nstop reads values from (memory, cpu,
    /// cpuacct, pids, blkio, freezer)
    #[arg(value_name = "CGROUP")]
    pub cgroup: Option<String>,
    /// Print the JSON contract: host mode, hierarchies, cgroups
    #[arg(short = 'J', long)]
    pub json: bool,
    /// Draw each hierarchy as a tree
    #[arg(short = 'T', long)]
    pub tree: bool,
    /// Order rows (in a tree: siblings) by this key, largest first except path. The JSON list is
    /// in tree pre-order (each cgroup before its subtree, `depth` gives the tree) unless sorted
    #[arg(short = 's', long, value_enum, default_value_t = SortKey::Path)]
    pub sort: SortKey,
    /// Include cgroups with no process in them or below (empty ones with an OOM kill, a hit
    /// limit, a limit set or a freeze are always listed; --json lists every cgroup)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Sample twice, this long apart, to show rates (CPU %, throttled %, IO/s, stall %):
    /// `1s`, `500ms`, or seconds
    #[arg(short = 'i', long, value_name = "DURATION", value_parser = parse_duration)]
    pub interval: Option<Duration>,
    /// Do not truncate the table to the terminal width
    #[arg(short = 'W', long)]
    pub notruncate: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum SortKey {
    #[default]
    Path,
    Procs,
    Cpu,
    Memory,
    /// Memory as a share of its limit.
    MemoryPercent,
    Pids,
    Io,
    PsiCpu,
    PsiMemory,
    PsiIo,
    OomKills,
}

/// `1s`, `250ms`, `2m`, or plain seconds (`0.5`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (e.g. 1s, 500ms, 0.5)"))?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        _ => return Err(format!("unknown unit '{unit}' (accepted: ms, s, m)")),
    };
    // Below 10 ms counters barely move and rates are noise.
    if !(value.is_finite() && (0.01..=3600.0).contains(&(value * scale))) {
        return Err(format!("'{text}' is out of range (10ms to 60m)"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

/// Which hierarchies and which subtree a CGROUP argument names.
struct Selection<'m> {
    hierarchies: Vec<&'m HierarchySample>,
    /// The subtree's root; `None`: whole hierarchies.
    path: Option<String>,
}

/// `[controllers:]path` into its parts; a path may itself contain `:` (unit names do).
fn split_cgroup_arg(arg: &str) -> Result<(Option<&str>, &str), UsageError> {
    let (controllers, path) = match arg.split_once(':') {
        Some((c, p)) if !arg.starts_with('/') => (Some(c), p),
        _ => (None, arg),
    };
    if !path.starts_with('/') {
        return Err(UsageError(format!(
            "cgroup '{arg}': the path must be absolute, as in /proc/PID/cgroup \
             (accepted: /path, controllers:/path, *:/path)"
        )));
    }
    Ok((controllers, path))
}

/// What can be refused before anything is read: the argument's shape, a rate sort key without
/// the second sample it needs.
pub fn validate(args: &CgArgs) -> Result<(), UsageError> {
    if let Some(arg) = &args.cgroup {
        split_cgroup_arg(arg)?;
    }
    if args.interval.is_none() && matches!(args.sort, SortKey::Cpu | SortKey::Io) {
        let key = args
            .sort
            .to_possible_value()
            .map(|v| v.get_name().to_owned());
        return Err(UsageError(format!(
            "--sort {}: a rate, which needs two samples: add --interval (e.g. -i 1s)",
            key.unwrap_or_default()
        )));
    }
    Ok(())
}

/// Refuses a CGROUP naming no hierarchy or cgroup of this host, before a wait for rates.
pub fn check_cgroup(args: &CgArgs, model: &Model) -> Result<(), UsageError> {
    select(args.cgroup.as_deref(), model).map(drop)
}

fn select<'m>(arg: Option<&str>, model: &'m Model) -> Result<Selection<'m>, UsageError> {
    let all: Vec<&HierarchySample> = model.host.hierarchies.iter().collect();
    let Some(arg) = arg else {
        // v1 hierarchies that only repeat membership (cpuset, devices, net_cls, name=systemd...)
        // would bury the ones with values; `*:/` lists them too.
        let with_values: Vec<&HierarchySample> =
            all.iter().copied().filter(|h| h.has_metrics()).collect();
        return Ok(Selection {
            hierarchies: if with_values.is_empty() {
                all
            } else {
                with_values
            },
            path: None,
        });
    };
    let (controllers, path) = split_cgroup_arg(arg)?;
    let known = || {
        all.iter()
            .map(|h| format!("{} ({})", h.label(), h.mount))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let hierarchies: Vec<&HierarchySample> = match controllers {
        Some("*") => all.clone(),
        None | Some("" | "cgroup2") => all.iter().copied().filter(|h| h.version == 2).collect(),
        Some(list) => all
            .iter()
            .copied()
            .filter(|h| {
                h.version == 1
                    && list.split(',').all(|want| {
                        h.controllers
                            .iter()
                            .any(|c| c == want || c.strip_prefix("name=") == Some(want))
                    })
            })
            .collect(),
    };
    if hierarchies.is_empty() {
        let which = match controllers {
            None | Some("" | "cgroup2") => "no cgroup2 hierarchy is mounted".to_owned(),
            Some(list) => format!("no v1 hierarchy has the controllers '{list}'"),
        };
        return Err(UsageError(format!(
            "cgroup '{arg}': {which} (this host: {}; {})",
            mode_name(model.host.mode),
            known()
        )));
    }
    let path = match path.trim_end_matches('/') {
        "" => "/".to_owned(),
        p => p.to_owned(),
    };
    let exists = model
        .cgroups
        .iter()
        .any(|c| c.path == path && hierarchies.iter().any(|h| h.id == c.hierarchy));
    if !exists {
        let names: Vec<String> = hierarchies.iter().map(|h| h.label()).collect();
        return Err(UsageError(format!(
            "cgroup '{arg}': no cgroup {path} in {}",
            names.join(", ")
        )));
    }
    Ok(Selection {
        hierarchies,
        path: Some(path),
    })
}

fn mode_name(mode: HostMode) -> &'static str {
    match mode {
        HostMode::Unified => "unified",
        HostMode::Hybrid => "hybrid",
        HostMode::Legacy => "legacy",
        HostMode::None => "no cgroup mounts",
    }
}

/// The cgroups to show, in model order (hierarchies, each in pre-order).
fn chosen<'m>(args: &CgArgs, model: &'m Model, selection: &Selection) -> Vec<&'m Cgroup> {
    let mut out = Vec::new();
    // Depth of the selected cgroup while inside its subtree.
    let mut inside: Option<(u32, u32)> = None;
    for c in &model.cgroups {
        if !selection.hierarchies.iter().any(|h| h.id == c.hierarchy) {
            continue;
        }
        let is_root = selection.path.as_deref() == Some(c.path.as_str());
        let within = match (&selection.path, inside) {
            (None, _) => true,
            _ if is_root => {
                inside = Some((c.hierarchy, c.depth));
                true
            }
            (Some(_), Some((h, depth))) if h == c.hierarchy && c.depth > depth => true,
            _ => {
                inside = None;
                false
            }
        };
        // Scripts get everything unless they ask; a table hides what is empty and says nothing.
        let listed = args.all || args.json || c.populated || is_root || c.notable_when_empty();
        if within && listed {
            out.push(c);
        }
    }
    out
}

/// The value a sort key compares, larger first.
fn sort_value(c: &Cgroup, key: SortKey) -> Option<f64> {
    let memory = c.memory.as_ref();
    let pressure = c.pressure.as_ref();
    match key {
        SortKey::Path => None,
        SortKey::Procs => Some(c.nprocs as f64),
        SortKey::Cpu => c.cpu.as_ref().and_then(|x| x.usage_percent),
        SortKey::Memory => memory.and_then(|m| m.current).map(|v| v as f64),
        SortKey::MemoryPercent => memory.and_then(|m| m.percent_of_max),
        SortKey::Pids => c.pids.as_ref().and_then(|p| p.current).map(|v| v as f64),
        SortKey::Io => {
            c.io.as_ref()
                .and_then(|io| Some(io.read_bytes_per_sec? + io.write_bytes_per_sec?))
        }
        SortKey::PsiCpu => Stall::some_avg10(pressure.and_then(|p| p.cpu.as_ref())),
        SortKey::PsiMemory => Stall::some_avg10(pressure.and_then(|p| p.memory.as_ref())),
        SortKey::PsiIo => Stall::some_avg10(pressure.and_then(|p| p.io.as_ref())),
        SortKey::OomKills => c.oom_kills().map(|v| v as f64),
    }
}

/// Larger first; absent values last; ties keep tree order.
fn by_key(key: SortKey) -> impl Fn(&&Cgroup, &&Cgroup) -> Ordering {
    move |a, b| {
        let (x, y) = (sort_value(a, key), sort_value(b, key));
        match (x, y) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
}

/// Columns whose values are rates: shown only when two samples were taken.
const RATE_COLUMNS: [&str; 4] = ["CPU%", "THR%", "IO.R/s", "IO.W/s"];

const COLUMNS: [ColumnSpec; 15] = [
    ColumnSpec::new("HIER", false, false),
    ColumnSpec::new("CGROUP", false, true),
    ColumnSpec::new("PROCS", true, false),
    ColumnSpec::new("CPU%", true, false),
    ColumnSpec::new("THR%", true, false),
    ColumnSpec::new("MEM", true, false),
    ColumnSpec::new("MEM.MAX", true, false),
    ColumnSpec::new("MEM%", true, false),
    ColumnSpec::new("PIDS", true, false),
    ColumnSpec::new("IO.R/s", true, false),
    ColumnSpec::new("IO.W/s", true, false),
    ColumnSpec::new("PSI.CPU", true, false),
    ColumnSpec::new("PSI.MEM", true, false),
    ColumnSpec::new("OOMK", true, false),
    ColumnSpec::new("WORKLOAD", false, true),
];

fn text_or_dash(value: Option<String>) -> Cell {
    Cell::text(value.unwrap_or_else(|| "-".to_owned()))
}

fn percent(value: Option<f64>) -> Cell {
    text_or_dash(value.map(|v| format!("{v:.1}")))
}

fn bytes(value: Option<u64>) -> Cell {
    text_or_dash(value.map(|v| human_bytes(v as f64)))
}

fn row_cells(c: &Cgroup, hierarchy: &str, name: &str) -> Vec<Cell> {
    let memory = c.memory.as_ref();
    let cpu = c.cpu.as_ref();
    let io = c.io.as_ref();
    let pressure = c.pressure.as_ref();
    // A limit that is set shows its value; an unlimited one `max`, where the file exists.
    let mem_max = memory.map(|m| m.max.map_or("max".to_owned(), |v| human_bytes(v as f64)));
    let pids = c.pids.as_ref().map(|p| {
        let current = p.current.map_or("-".to_owned(), |v| v.to_string());
        match p.max {
            Some(max) => format!("{current}/{max}"),
            None => current,
        }
    });
    vec![
        Cell::text(hierarchy),
        Cell::text(name),
        Cell::text(c.nprocs.to_string()),
        percent(cpu.and_then(|x| x.usage_percent)),
        percent(cpu.and_then(|x| x.throttled_percent)),
        bytes(memory.and_then(|m| m.current)),
        text_or_dash(mem_max.filter(|_| memory.and_then(|m| m.current).is_some())),
        percent(memory.and_then(|m| m.percent_of_max)),
        text_or_dash(pids),
        text_or_dash(io.and_then(|x| x.read_bytes_per_sec).map(human_bytes)),
        text_or_dash(io.and_then(|x| x.write_bytes_per_sec).map(human_bytes)),
        percent(Stall::some_avg10(pressure.and_then(|p| p.cpu.as_ref()))),
        percent(Stall::some_avg10(pressure.and_then(|p| p.memory.as_ref()))),
        text_or_dash(c.oom_kills().map(|v| v.to_string())),
        Cell::text(match (c.frozen, c.workload.label()) {
            (Some(true), Some(label)) => format!("[frozen] {label}"),
            (Some(true), None) => "[frozen]".to_owned(),
            (_, label) => label.unwrap_or_default(),
        }),
    ]
}

/// The JSON contract of `nstop cg --json`.
#[derive(Serialize)]
struct CgJson<'m> {
    host_mode: HostMode,
    hierarchies: Vec<&'m HierarchySample>,
    cgroups: Vec<&'m Cgroup>,
}

pub fn render(args: &CgArgs, model: &Model) -> anyhow::Result<String> {
    let selection = select(args.cgroup.as_deref(), model)?;
    let mut cgroups = chosen(args, model, &selection);
    if args.json {
        cgroups.sort_by(by_key(args.sort));
        let doc = CgJson {
            host_mode: model.host.mode,
            hierarchies: selection.hierarchies,
            cgroups,
        };
        return Ok(serde_json::to_string_pretty(&doc)? + "\n");
    }
    let label_of = |id: u32| {
        model
            .host
            .hierarchy(id)
            .map_or_else(|| id.to_string(), HierarchySample::label)
    };
    let mut rows = Vec::new();
    if args.tree {
        let (order, parents) = tree_order(&cgroups, args.sort);
        let mut row_of = vec![0; cgroups.len()];
        for (row, &i) in order.iter().enumerate() {
            row_of[i] = row;
            let c = cgroups[i];
            let parent = parents[i];
            // Below its parent a cgroup shows its own name; where the paths do not nest (a
            // namespace's `/` under `/..`) the whole path.
            let name = parent
                .and_then(|p| {
                    let base = cgroups[p].path.trim_end_matches('/');
                    c.path.strip_prefix(base)?.strip_prefix('/')
                })
                .filter(|name| !name.is_empty())
                .unwrap_or(c.path.as_str());
            rows.push(Row {
                cells: row_cells(c, &label_of(c.hierarchy), name),
                parent: parent.map(|p| row_of[p]),
            });
        }
    } else {
        cgroups.sort_by(by_key(args.sort));
        rows = cgroups
            .iter()
            .map(|c| Row {
                cells: row_cells(c, &label_of(c.hierarchy), &c.path),
                parent: None,
            })
            .collect();
    }
    let width = table_width(args.notruncate);
    let keep: Vec<bool> = COLUMNS
        .iter()
        .map(|c| args.interval.is_some() || !RATE_COLUMNS.contains(&c.name))
        .collect();
    let columns: Vec<ColumnSpec> = COLUMNS
        .iter()
        .zip(&keep)
        .filter_map(|(c, &k)| k.then_some(*c))
        .collect();
    for row in &mut rows {
        let mut keep = keep.iter();
        row.cells.retain(|_| *keep.next().unwrap_or(&true));
    }
    let table = Table {
        columns: &columns,
        rows,
        tree: args.tree.then(|| Tree {
            column: 1,
            ascii: !utf8_locale(),
        }),
    };
    Ok(table.render(Format::Table { width }, true, "cgroups"))
}

/// Pre-order of the shown cgroups with each node's children ordered by `key`, and each one's
/// nearest shown ancestor. `cgroups` is in pre-order, so ancestors are on a stack.
fn tree_order(cgroups: &[&Cgroup], key: SortKey) -> (Vec<usize>, Vec<Option<usize>>) {
    let parents = parents_by_depth(cgroups, |c| (c.hierarchy, c.depth));
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); cgroups.len()];
    let mut roots = Vec::new();
    for (i, parent) in parents.iter().enumerate() {
        match parent {
            Some(p) => children[*p].push(i),
            None => roots.push(i),
        }
    }
    // Roots stay in hierarchy order; siblings below them follow the key.
    let mut order = Vec::with_capacity(cgroups.len());
    let mut pending: Vec<usize> = roots.into_iter().rev().collect();
    while let Some(i) = pending.pop() {
        order.push(i);
        let mut kids = std::mem::take(&mut children[i]);
        kids.sort_by(|&a, &b| by_key(key)(&cgroups[a], &cgroups[b]));
        pending.extend(kids.into_iter().rev());
    }
    (order, parents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert!(
            parse_duration("1h")
                .unwrap_err()
                .contains("accepted: ms, s, m")
        );
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("abc").is_err());
    }

    #[test]
    fn bytes_for_humans() {
        assert_eq!(human_bytes(512.0 * 1024.0 * 1024.0), "512M");
        assert_eq!(human_bytes(1.5 * 1024.0 * 1024.0 * 1024.0), "1.5G");
        assert_eq!(human_bytes(999.0), "999B");
        assert_eq!(human_bytes(123.4 * 1024.0), "123K");
    }
}
