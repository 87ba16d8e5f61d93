//! Every cgroup hierarchy as a tree, cgroup2 first: usage, limits, rates and pressure in one
//! row, containers and units by name instead of their ids.

use std::cmp::Ordering;

use crate::model::Model;
use crate::model::cgroup::{Cgroup, Stall, parents_by_depth};
use crate::tui::panes::{
    Cell, Column, RowKey, Scope, Spec, Tone, View, all, by, bytes, bytes_or_max, natural, never,
    severity,
};

pub fn cgroup(model: &Model, i: usize) -> &Cgroup {
    &model.cgroups[i]
}

/// `cgroup2`, `memory`, `cpu,cpuacct`...; the ID where the host no longer lists it.
pub fn hierarchy_label(model: &Model, hierarchy: u32) -> String {
    model
        .host
        .hierarchy(hierarchy)
        .map_or_else(|| hierarchy.to_string(), |h| h.label())
}

/// A cgroup's name led by its state (`[under OOM]` in red, `[frozen]`); a recognised container
/// or unit in its own colour.
fn with_state(c: &Cgroup, name: String, recognised: bool) -> Cell {
    let mut text = String::new();
    if c.under_oom() {
        text.push_str("[under OOM] ");
    }
    // Its own processes' kills: a parent's memory.events also counts its children's.
    let kills = c.local_oom_kills().filter(|&k| k > 0);
    if let Some(k) = kills {
        text.push_str(&format!("[OOM×{k}] "));
    }
    if c.frozen == Some(true) {
        text.push_str("[frozen] ");
    }
    text.push_str(&name);
    let tone = match (c.under_oom() || kills.is_some(), recognised) {
        (true, _) => Tone::Alert,
        (false, true) => Tone::Name,
        (false, false) => Tone::Plain,
    };
    Cell::new(text, tone)
}

fn base_name(c: &Cgroup) -> &str {
    c.path.rsplit('/').next().unwrap_or(&c.path)
}

/// A legend-sized name: the container or unit, else the directory name (the path at a root).
pub fn short_name(c: &Cgroup) -> String {
    c.workload.label().unwrap_or_else(|| match base_name(c) {
        "" => c.path.clone(),
        name => name.to_owned(),
    })
}

/// The container or unit, when the directory name does not already say it.
fn label(c: &Cgroup) -> Option<String> {
    c.workload.label().filter(|label| label != base_name(c))
}

/// In the tree: the hierarchy at a root, else the container or unit, else the directory name.
fn tree_cell(model: &View, i: usize) -> Cell {
    let c = cgroup(model, i);
    if c.depth == 0 {
        let root = format!("{} {}", hierarchy_label(model, c.hierarchy), c.path);
        return Cell::new(root, Tone::Name);
    }
    match label(c) {
        Some(label) => with_state(c, label, true),
        None => with_state(c, base_name(c).to_owned(), false),
    }
}

/// In a flat list: `hierarchy:path`, led by the container or unit when the path does not say
/// it (long paths are cut at the right).
fn path_cell(model: &View, i: usize) -> Cell {
    let c = cgroup(model, i);
    let path = format!("{}:{}", hierarchy_label(model, c.hierarchy), c.path);
    match label(c) {
        Some(label) => with_state(c, format!("{label}  {path}"), true),
        None => with_state(c, path, false),
    }
}

/// The cgroup as flat lists name it; shared by every screen that lists cgroups.
pub const PATH_COLUMN: Column = Column {
    title: "CGROUP",
    width: 0,
    right: false,
    drop: 0,
    cell: path_cell,
    order: by_place,
};

/// A flat list of the cgroups `include` picks, for the Pressure and OOM screens.
pub const fn flat_list(
    columns: &'static [Column],
    include: fn(&Model, usize, &Scope) -> bool,
    empty: &'static str,
) -> Spec {
    Spec {
        columns,
        len: |m| m.cgroups.len(),
        key,
        parents,
        include,
        tree_column: 0,
        tree_cell: path_cell,
        folded_at_start: never,
        tree: false,
        sort: 1,
        descending: true,
        empty,
    }
}

/// cgroup2 first, then v1 hierarchies with values by ID (as the host lists them), then those
/// that only repeat membership; within one, by path.
fn place(model: &Model, i: usize) -> (bool, Option<usize>, &str) {
    let c = cgroup(model, i);
    let hierarchies = &model.host.hierarchies;
    let position = hierarchies.iter().position(|h| h.id == c.hierarchy);
    let membership_only = position.is_some_and(|p| !hierarchies[p].has_metrics());
    (membership_only, position, &c.path)
}

/// Hierarchies as `place` orders them, paths in natural order (`g2` before `g10`).
pub fn by_place(model: &View, a: usize, b: usize) -> Ordering {
    let ((ma, ha, pa), (mb, hb, pb)) = (place(model, a), place(model, b));
    (ma, ha).cmp(&(mb, hb)).then_with(|| natural(pa, pb))
}

fn psi_cell(c: &Cgroup) -> Cell {
    let Some(p) = &c.pressure else {
        return Cell::new("-", Tone::Dim);
    };
    let values = [&p.cpu, &p.memory, &p.io].map(|s| Stall::some_avg10(s.as_ref()));
    let text: Vec<String> = values
        .iter()
        .map(|v| match v {
            Some(v) if *v >= 10.0 => format!("{v:.0}"),
            Some(v) => format!("{v:.1}"),
            None => "-".to_owned(),
        })
        .collect();
    Cell::new(text.join("/"), severity(c.worst_stall(), 10.0, 40.0))
}

pub fn mem_current(c: &Cgroup) -> Option<u64> {
    c.memory.as_ref()?.current
}

/// The memory limit where memory is accounted: its value, or `max` when unlimited.
pub fn mem_max(c: &Cgroup) -> Option<String> {
    let m = c.memory.as_ref().filter(|m| m.current.is_some())?;
    Some(bytes_or_max(m.max))
}

fn percent_of_max(c: &Cgroup) -> Option<f64> {
    c.memory.as_ref()?.percent_of_max
}

fn cpu_percent(c: &Cgroup) -> Option<f64> {
    c.cpu.as_ref()?.usage_percent
}

fn throttled(c: &Cgroup) -> Option<f64> {
    c.cpu.as_ref()?.throttled_percent
}

fn io_rate(c: &Cgroup) -> Option<f64> {
    let io = c.io.as_ref()?;
    match (io.read_bytes_per_sec, io.write_bytes_per_sec) {
        (None, None) => None,
        (r, w) => Some(r.unwrap_or(0.0) + w.unwrap_or(0.0)),
    }
}

fn pids(c: &Cgroup) -> Option<String> {
    let p = c.pids.as_ref()?;
    let current = p.current?;
    Some(match p.max {
        Some(max) => format!("{current}/{max}"),
        None => current.to_string(),
    })
}

/// Memory use and limit, shared with the OOM screen.
pub const MEM_COLUMN: Column = Column {
    title: "MEM",
    width: 7,
    right: true,
    drop: 0,
    cell: |m, i| Cell::or_dash(bytes(mem_current(cgroup(m, i))), Tone::Plain),
    order: |m, a, b| by(mem_current(cgroup(m, a)), mem_current(cgroup(m, b))),
};

pub const MAX_COLUMN: Column = Column {
    title: "MAX",
    width: 7,
    right: true,
    drop: 0,
    cell: |m, i| Cell::or_dash(mem_max(cgroup(m, i)), Tone::Plain),
    order: |m, a, b| {
        let max = |i| {
            cgroup(m, i)
                .memory
                .as_ref()
                .map(|m| m.max.unwrap_or(u64::MAX))
        };
        by(max(a), max(b))
    },
};

static COLUMNS: [Column; 11] = [
    PATH_COLUMN,
    Column {
        title: "PROCS",
        width: 6,
        right: true,
        drop: 0,
        cell: |m, i| {
            let c = cgroup(m, i);
            let tone = if c.nprocs == 0 {
                Tone::Dim
            } else {
                Tone::Plain
            };
            Cell::new(c.nprocs.to_string(), tone)
        },
        order: |m, a, b| cgroup(m, a).nprocs.cmp(&cgroup(m, b).nprocs),
    },
    Column {
        title: "CPU%",
        width: 6,
        right: true,
        drop: 0,
        cell: |m, i| Cell::percent(cpu_percent(cgroup(m, i)), 50.0, 90.0),
        order: |m, a, b| by(cpu_percent(cgroup(m, a)), cpu_percent(cgroup(m, b))),
    },
    Column {
        title: "THR%",
        width: 5,
        right: true,
        drop: 5,
        cell: |m, i| Cell::percent(throttled(cgroup(m, i)), 5.0, 25.0),
        order: |m, a, b| by(throttled(cgroup(m, a)), throttled(cgroup(m, b))),
    },
    MEM_COLUMN,
    MAX_COLUMN,
    Column {
        title: "%MAX",
        width: 5,
        right: true,
        drop: 2,
        cell: |m, i| Cell::percent(percent_of_max(cgroup(m, i)), 80.0, 95.0),
        order: |m, a, b| by(percent_of_max(cgroup(m, a)), percent_of_max(cgroup(m, b))),
    },
    Column {
        title: "PSI c/m/io",
        width: 12,
        right: true,
        drop: 1,
        cell: |m, i| psi_cell(cgroup(m, i)),
        order: |m, a, b| by(cgroup(m, a).worst_stall(), cgroup(m, b).worst_stall()),
    },
    Column {
        title: "PIDS",
        width: 9,
        right: true,
        drop: 4,
        cell: |m, i| Cell::or_dash(pids(cgroup(m, i)), Tone::Plain),
        order: |m, a, b| {
            let current = |i| cgroup(m, i).pids.as_ref().and_then(|p| p.current);
            by(current(a), current(b))
        },
    },
    Column {
        title: "IO/s",
        width: 7,
        right: true,
        drop: 3,
        cell: |m, i| {
            let rate = io_rate(cgroup(m, i)).map(|r| r.round() as u64);
            Cell::or_dash(bytes(rate), Tone::Plain)
        },
        order: |m, a, b| by(io_rate(cgroup(m, a)), io_rate(cgroup(m, b))),
    },
    Column {
        title: "OOM",
        width: 4,
        right: true,
        drop: 0,
        cell: |m, i| {
            let kills = cgroup(m, i).oom_kills();
            let tone = if kills > Some(0) {
                Tone::Alert
            } else {
                Tone::Plain
            };
            Cell::or_dash(kills.map(|k| k.to_string()), tone)
        },
        order: |m, a, b| by(cgroup(m, a).oom_kills(), cgroup(m, b).oom_kills()),
    },
];

pub fn parents(model: &Model) -> Vec<Option<usize>> {
    parents_by_depth(&model.cgroups, |c| (c.hierarchy, c.depth))
}

pub fn key(model: &Model, i: usize) -> RowKey {
    let c = cgroup(model, i);
    RowKey::Cgroup {
        hierarchy: c.hierarchy,
        path: c.path.clone(),
    }
}

/// Hierarchies that only repeat membership start folded, as `nstop cg` leaves them out.
pub fn folded_at_start(model: &Model, i: usize) -> bool {
    let c = cgroup(model, i);
    c.depth == 0
        && model
            .host
            .hierarchy(c.hierarchy)
            .is_some_and(|h| !h.has_metrics())
}

pub static SPEC: Spec = Spec {
    columns: &COLUMNS,
    len: |m| m.cgroups.len(),
    key,
    parents,
    include: all,
    tree_column: 0,
    tree_cell,
    folded_at_start,
    tree: true,
    sort: 0,
    descending: false,
    empty: "No cgroup filesystem is mounted where nstop can see it",
};
