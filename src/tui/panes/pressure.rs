//! Two flat views of the cgroups: who stalls most (PSI, cgroup2 only) and who ran into its
//! memory limit (memory.events, v1 failcnt and oom_control).

use crate::model::cgroup::{Cgroup, MemoryEvents, Pressure, Stall, StallLine};
use crate::tui::panes::cgroups::{self, cgroup};
use crate::tui::panes::{Cell, Column, Scope, Spec, Tone, by, severity};

fn line(c: &Cgroup, stall: fn(&Pressure) -> &Option<Stall>, full: bool) -> Option<&StallLine> {
    let s = stall(c.pressure.as_ref()?).as_ref()?;
    if full {
        s.full.as_ref()
    } else {
        s.some.as_ref()
    }
}

/// A PSI avg10 column: yellow from 10 %, red from 40 %.
macro_rules! stall_column {
    ($title:expr, $resource:ident, $full:expr) => {
        Column {
            title: $title,
            width: 7,
            right: true,
            drop: 0,
            cell: |m, i| {
                let avg = line(cgroup(m, i), |p| &p.$resource, $full).map(|l| l.avg10);
                Cell::percent(avg, 10.0, 40.0)
            },
            order: |m, a, b| {
                let avg = |i| line(cgroup(m, i), |p| &p.$resource, $full).map(|l| l.avg10);
                by(avg(a), avg(b))
            },
        }
    };
}

static PRESSURE_COLUMNS: [Column; 7] = [
    cgroups::PATH_COLUMN,
    Column {
        title: "WORST",
        width: 6,
        right: true,
        drop: 0,
        cell: |m, i| Cell::percent(cgroup(m, i).worst_stall(), 10.0, 40.0),
        order: |m, a, b| by(cgroup(m, a).worst_stall(), cgroup(m, b).worst_stall()),
    },
    stall_column!("CPU", cpu, false),
    stall_column!("MEM", memory, false),
    stall_column!("MEMfull", memory, true),
    stall_column!("IO", io, false),
    stall_column!("IOfull", io, true),
];

pub static PRESSURE: Spec = cgroups::flat_list(
    &PRESSURE_COLUMNS,
    |m, i, scope| *scope == Scope::All && cgroup(m, i).pressure.is_some(),
    "No cgroup has pressure files: PSI needs a cgroup2 hierarchy and a kernel with CONFIG_PSI",
);

fn events(c: &Cgroup) -> Option<&MemoryEvents> {
    c.memory.as_ref()?.events.as_ref()
}

fn ooms(c: &Cgroup) -> Option<u64> {
    events(c)?.oom
}

/// How often usage hit the limit: memory.events `max`, or v1 memory.failcnt.
fn limit_hits(c: &Cgroup) -> Option<u64> {
    events(c).and_then(|e| e.max).or(c.memory.as_ref()?.failcnt)
}

fn high_events(c: &Cgroup) -> Option<u64> {
    events(c)?.high
}

fn troubled(c: &Cgroup) -> bool {
    [c.oom_kills(), ooms(c), limit_hits(c)]
        .iter()
        .any(|v| v.is_some_and(|v| v > 0))
        || c.under_oom()
}

/// A counter that is red once it is above zero.
macro_rules! event_column {
    ($title:expr, $value:expr, $width:expr, $drop:expr) => {
        Column {
            title: $title,
            width: $width,
            right: true,
            drop: $drop,
            cell: |m, i| {
                let v: Option<u64> = $value(cgroup(m, i));
                Cell::or_dash(
                    v.map(|v| v.to_string()),
                    severity(v.map(|v| v as f64), 1.0, 1.0),
                )
            },
            order: |m, a, b| by($value(cgroup(m, a)), $value(cgroup(m, b))),
        }
    };
}

static LIMIT_COLUMNS: [Column; 8] = [
    cgroups::PATH_COLUMN,
    event_column!("KILLS", Cgroup::oom_kills, 6, 0),
    event_column!("OOMS", ooms, 6, 0),
    event_column!("AT MAX", limit_hits, 7, 0),
    event_column!("HIGH", high_events, 7, 2),
    cgroups::MEM_COLUMN,
    cgroups::MAX_COLUMN,
    Column {
        title: "GROUP",
        width: 5,
        right: false,
        drop: 1,
        cell: |m, i| {
            let group = cgroup(m, i).memory.as_ref().and_then(|m| m.oom_group);
            Cell::or_dash(
                group.map(|g| if g { "yes" } else { "no" }.into()),
                Tone::Plain,
            )
        },
        order: |m, a, b| {
            let group = |i| cgroup(m, i).memory.as_ref().and_then(|m| m.oom_group);
            by(group(a), group(b))
        },
    },
];

pub static LIMITS: Spec = cgroups::flat_list(
    &LIMIT_COLUMNS,
    |m, i, scope| *scope == Scope::All && troubled(cgroup(m, i)),
    "No cgroup has hit its memory limit or had an OOM kill since it was created",
);
