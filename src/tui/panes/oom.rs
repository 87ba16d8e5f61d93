//! OOM kills as a timeline, newest first: when, which cgroup hit which limit, who was killed,
//! how much it had; Enter goes to the cgroup, `d` to the diagnosis.

use crate::model::Model;
use crate::model::oom::OomEvent;
use crate::tui::panes::{Cell, Column, RowKey, Scope, Spec, Tone, by, bytes, never};

fn event(model: &Model, i: usize) -> &OomEvent {
    &model.oom_events[i]
}

/// What identifies an event: the collector's number for it.
pub fn key(model: &Model, i: usize) -> RowKey {
    RowKey::Oom {
        seq: event(model, i).seq,
    }
}

/// The index of the event a key names.
pub fn find(model: &Model, seq: u64) -> Option<usize> {
    model.oom_events.iter().position(|e| e.seq == seq)
}

pub use crate::model::oom::cgroup_path;

/// The cgroup of the event in the explorer's model.
pub fn cgroup_key(model: &Model, e: &OomEvent) -> Option<RowKey> {
    crate::model::oom::cgroup_of(model, e).map(|c| RowKey::Cgroup {
        hierarchy: c.hierarchy,
        path: c.path.clone(),
    })
}

fn kind(e: &OomEvent) -> &'static str {
    match (e.source.as_str(), e.constraint.as_deref()) {
        ("memory.events", _) => "counter",
        (_, Some("CONSTRAINT_MEMCG")) => "cgroup",
        (_, Some("CONSTRAINT_CPUSET")) => "cpuset",
        (_, Some("CONSTRAINT_MEMORY_POLICY")) => "mempolicy",
        (_, Some("USERSPACE")) => "userspace",
        _ => "global",
    }
}

fn victim(e: &OomEvent) -> String {
    match (&e.comm, e.pid) {
        (Some(c), Some(p)) => format!("{c} ({p})"),
        (None, Some(p)) => p.to_string(),
        _ => "-".to_owned(),
    }
}

fn time(e: &OomEvent) -> &str {
    e.time.as_deref().unwrap_or("")
}

/// The kill's UTC time as the explorer writes it: `2026-11-26 14:28:02`.
pub fn shown_time(e: &OomEvent) -> Option<String> {
    let t = e.time.as_deref()?;
    Some(t.replace('T', " ").trim_end_matches('Z').to_owned())
}

static COLUMNS: [Column; 7] = [
    Column {
        title: "TIME (UTC)",
        width: 19,
        right: false,
        drop: 0,
        cell: |m, i| Cell::or_dash(shown_time(event(m, i)), Tone::Plain),
        order: |m, a, b| time(event(m, a)).cmp(time(event(m, b))),
    },
    Column {
        title: "KIND",
        width: 9,
        right: false,
        drop: 2,
        cell: |m, i| Cell::new(kind(event(m, i)), Tone::Plain),
        order: |m, a, b| kind(event(m, a)).cmp(kind(event(m, b))),
    },
    Column {
        title: "KILLED",
        width: 22,
        right: false,
        drop: 0,
        cell: |m, i| Cell::new(victim(event(m, i)), Tone::Alert),
        order: |m, a, b| victim(event(m, a)).cmp(&victim(event(m, b))),
    },
    Column {
        title: "ANON",
        width: 7,
        right: true,
        drop: 1,
        cell: |m, i| {
            Cell::or_dash(
                bytes(event(m, i).anon_rss_kb.map(|k| k * 1024)),
                Tone::Plain,
            )
        },
        order: |m, a, b| by(event(m, a).anon_rss_kb, event(m, b).anon_rss_kb),
    },
    Column {
        title: "LIMIT",
        width: 7,
        right: true,
        drop: 1,
        cell: |m, i| Cell::or_dash(bytes(event(m, i).limit_bytes), Tone::Plain),
        order: |m, a, b| by(event(m, a).limit_bytes, event(m, b).limit_bytes),
    },
    Column {
        title: "SOURCE",
        width: 13,
        right: false,
        drop: 3,
        cell: |m, i| Cell::new(event(m, i).source.clone(), Tone::Dim),
        order: |m, a, b| event(m, a).source.cmp(&event(m, b).source),
    },
    Column {
        title: "CGROUP",
        width: 0,
        right: false,
        drop: 0,
        cell: |m, i| {
            let e = event(m, i);
            let text = match (&e.container, cgroup_path(e)) {
                (Some(c), Some(p)) => format!("{c}  {p}"),
                (None, Some(p)) => p.to_owned(),
                _ => "-".to_owned(),
            };
            Cell::new(text, Tone::Name)
        },
        order: |m, a, b| cgroup_path(event(m, a)).cmp(&cgroup_path(event(m, b))),
    },
];

fn include(_: &Model, _: usize, scope: &Scope) -> bool {
    *scope == Scope::All
}

pub static SPEC: Spec = Spec {
    columns: &COLUMNS,
    len: |m| m.oom_events.len(),
    key,
    parents: |m| vec![None; m.oom_events.len()],
    include,
    tree_column: 6,
    tree_cell: COLUMNS[6].cell,
    folded_at_start: never,
    tree: false,
    sort: 0,
    descending: true,
    empty: "No OOM kill since boot (kernel log) or since nstop started (cgroup counters)",
};
