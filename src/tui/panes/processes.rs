//! Processes as htop lists them, with where they live: their cgroup (container or unit when
//! recognised) and a mark for each namespace they do not share with the host. The tree view
//! follows PPID.

use crate::model::Model;
use crate::model::cgroup::within;
use crate::model::isolation::{self, Severity};
use crate::model::process::{Process, ProcessCgroup};
use crate::model::sample::{HierarchySample, NsType};
use crate::model::workload;
use crate::tui::panes::{Cell, Column, RowKey, Scope, Spec, Tone, View, by, bytes, never};

fn process(model: &Model, i: usize) -> &Process {
    &model.processes[i]
}

/// The namespaces marked in the NS column, with their letter; the column's title is the
/// letters in this order, so each mark sits under its own letter (the legend).
pub const MARKED: [(NsType, char); 8] = [
    (NsType::Pid, 'p'),
    (NsType::Net, 'n'),
    (NsType::User, 'u'),
    (NsType::Mnt, 'm'),
    (NsType::Ipc, 'i'),
    (NsType::Uts, 'h'),
    (NsType::Cgroup, 'c'),
    (NsType::Time, 't'),
];
const MARKED_TITLE: &str = "pnumihct";

/// A letter per namespace the process does not share with the host, `.` where it does, `?`
/// where its links were unreadable.
fn ns_marks(model: &Model, p: &Process) -> String {
    let host = model.host_namespaces();
    MARKED
        .iter()
        .map(
            |&(kind, letter)| match (p.namespaces.get(&kind), host.get(&kind)) {
                (Some(own), Some(host)) if own != host => letter,
                (Some(_), _) => '.',
                (None, _) => '?',
            },
        )
        .collect()
}

/// The hierarchy whose cgroup the CGROUP column shows: the one with the memory controller,
/// where limits and OOM kills are (cgroup2 on a unified host; on a hybrid one cgroup2 holds
/// every process at `/` while v1 memory tells them apart), else the first with values.
fn main_hierarchy(model: &Model) -> Option<&HierarchySample> {
    let hierarchies = &model.host.hierarchies;
    let memory = |h: &&HierarchySample| h.controllers.iter().any(|c| c == "memory");
    (hierarchies.iter().find(memory))
        .or_else(|| hierarchies.iter().find(|h| h.has_metrics()))
        .or(hierarchies.first())
}

/// The hierarchy the CGROUP column shows: the one chosen with `c`, else `main_hierarchy`.
pub fn shown_hierarchy<'m>(view: &View<'m>) -> Option<&'m HierarchySample> {
    let hierarchies = &view.model.host.hierarchies;
    match view.hierarchy {
        Some(id) => hierarchies.iter().find(|h| h.id == id),
        None => main_hierarchy(view.model),
    }
}

/// The hierarchy after the shown one, in mount order, round again after the last.
pub fn next_hierarchy(view: &View) -> Option<u32> {
    let hierarchies = &view.model.host.hierarchies;
    let at = shown_hierarchy(view).and_then(|h| hierarchies.iter().position(|o| o.id == h.id));
    let next = at.map_or(0, |i| (i + 1) % hierarchies.len().max(1));
    hierarchies.get(next).map(|h| h.id)
}

/// The process's cgroup in the shown hierarchy; where none was chosen and it has none there,
/// in the first hierarchy it has one in.
fn shown_cgroup<'p>(view: &View, p: &'p Process) -> Option<&'p ProcessCgroup> {
    let shown = shown_hierarchy(view).map(|h| h.id);
    let fallback = view
        .hierarchy
        .is_none()
        .then(|| p.cgroups.first())
        .flatten();
    (p.cgroups.iter().find(|c| Some(c.hierarchy) == shown)).or(fallback)
}

/// The workload of the process's shown cgroup as the model names it (a container by the name
/// its runtime keeps), else its path. A cgroup made after the walk is recognised from its path.
fn cgroup_text(model: &View, p: &Process) -> Option<String> {
    let cgroup = shown_cgroup(model, p)?;
    let label = match model.cgroup(cgroup.hierarchy, &cgroup.path) {
        Some(c) => c.workload.label(),
        None => workload::recognise(&cgroup.path).label(),
    };
    Some(label.unwrap_or_else(|| cgroup.path.to_string()))
}

/// Kernel threads (children of kthreadd, PID 2) are dimmed as htop does.
fn is_kernel_thread(p: &Process) -> bool {
    p.pid == 2 || p.ppid == 2
}

/// The PID inside the process's own pid namespace, where it is not the host's (the list
/// of a pid namespace's processes then shows their PIDs there).
fn inner_pid(p: &Process) -> Option<i32> {
    (p.nspid.len() > 1)
        .then(|| p.nspid.last().copied())
        .flatten()
}

const CGROUP_TITLE: &str = "CGROUP";

/// The CGROUP column's index, for the title that names its hierarchy where it is shown.
pub fn cgroup_column() -> usize {
    COLUMNS
        .iter()
        .position(|c| c.title == CGROUP_TITLE)
        .expect("a CGROUP column")
}

static COLUMNS: [Column; 10] = [
    Column {
        title: "PID",
        width: 7,
        right: true,
        drop: 0,
        cell: |m, i| Cell::plain(process(m, i).pid.to_string()),
        order: |m, a, b| process(m, a).pid.cmp(&process(m, b).pid),
    },
    Column {
        title: "NSPID",
        width: 6,
        right: true,
        drop: 4,
        cell: |m, i| {
            Cell::or_dash(
                inner_pid(process(m, i)).map(|p| p.to_string()),
                Tone::Isolated,
            )
        },
        order: |m, a, b| inner_pid(process(m, a)).cmp(&inner_pid(process(m, b))),
    },
    Column {
        title: "PPID",
        width: 7,
        right: true,
        drop: 3,
        cell: |m, i| Cell::plain(process(m, i).ppid.to_string()),
        order: |m, a, b| process(m, a).ppid.cmp(&process(m, b).ppid),
    },
    Column {
        title: "USER",
        width: 9,
        right: false,
        drop: 2,
        cell: |m, i| Cell::plain(process(m, i).user_name()),
        order: |m, a, b| process(m, a).user_name().cmp(&process(m, b).user_name()),
    },
    Column {
        title: "CPU%",
        width: 6,
        right: true,
        drop: 0,
        cell: |m, i| Cell::percent(process(m, i).cpu_percent, 50.0, 90.0),
        order: |m, a, b| by(process(m, a).cpu_percent, process(m, b).cpu_percent),
    },
    Column {
        title: "RSS",
        width: 7,
        right: true,
        drop: 0,
        cell: |m, i| {
            let rss = process(m, i).rss_bytes;
            Cell::or_dash(bytes(Some(rss).filter(|&r| r > 0)), Tone::Plain)
        },
        order: |m, a, b| process(m, a).rss_bytes.cmp(&process(m, b).rss_bytes),
    },
    Column {
        title: MARKED_TITLE,
        width: 8,
        right: false,
        drop: 1,
        cell: |m, i| {
            let marks = ns_marks(m, process(m, i));
            let tone = if marks.chars().any(|c| c.is_ascii_lowercase()) {
                Tone::Isolated
            } else {
                Tone::Dim
            };
            Cell::new(marks, tone)
        },
        order: |m, a, b| ns_marks(m, process(m, a)).cmp(&ns_marks(m, process(m, b))),
    },
    Column {
        title: "ISOL",
        width: 7,
        right: false,
        drop: 5,
        cell: |m, i| {
            let p = process(m, i);
            let (word, worst) = isolation::verdict(m, p);
            let caps = p.security.as_ref().map(|s| s.caps.effective.count_ones());
            let tone = match worst {
                Some(Severity::Alert) => Tone::Alert,
                Some(Severity::Warn) => Tone::Warn,
                Some(Severity::Info) => Tone::Plain,
                None => Tone::Dim,
            };
            let text = caps.map_or(word.to_owned(), |n| format!("{word} {n}"));
            Cell::new(text, tone)
        },
        order: |m, a, b| {
            let rank = |i| {
                let p = process(m, i);
                let caps = p.security.as_ref().map(|s| s.caps.effective.count_ones());
                (isolation::verdict(m, p).1, caps)
            };
            rank(a).cmp(&rank(b))
        },
    },
    Column {
        title: CGROUP_TITLE,
        width: 24,
        right: false,
        drop: 4,
        cell: |m, i| Cell::or_dash(cgroup_text(m, process(m, i)), Tone::Name),
        order: |m, a, b| cgroup_text(m, process(m, a)).cmp(&cgroup_text(m, process(m, b))),
    },
    Column {
        title: "COMMAND",
        width: 0,
        right: false,
        drop: 0,
        cell: |m, i| {
            let p = process(m, i);
            let tone = if is_kernel_thread(p) {
                Tone::Dim
            } else {
                Tone::Plain
            };
            Cell::new(p.command.clone(), tone)
        },
        order: |m, a, b| process(m, a).command.cmp(&process(m, b).command),
    },
];

fn parents(model: &Model) -> Vec<Option<usize>> {
    model
        .processes
        .iter()
        .map(|p| {
            let parent = model
                .processes
                .binary_search_by_key(&p.ppid, |q| q.pid)
                .ok()?;
            // A parent starts before its child: a PPID whose PID was reused by a younger
            // process (the scan is not atomic) must not make a cycle.
            let q = &model.processes[parent];
            (q.pid != p.pid && q.start_time <= p.start_time).then_some(parent)
        })
        .collect()
}

fn include(model: &Model, i: usize, scope: &Scope) -> bool {
    let p = process(model, i);
    match scope {
        Scope::All | Scope::Kind(_) | Scope::Among(_) => true,
        Scope::Namespace(ns) => p.namespaces.get(&ns.kind) == Some(&ns.ino),
        Scope::Cgroup { hierarchy, path } => p
            .cgroups
            .iter()
            .any(|c| c.hierarchy == *hierarchy && within(&c.path, path)),
    }
}

pub static SPEC: Spec = Spec {
    columns: &COLUMNS,
    len: |m| m.processes.len(),
    key: |m, i| RowKey::Process {
        pid: process(m, i).pid,
        start_time: process(m, i).start_time,
    },
    parents,
    include,
    tree_column: 9,
    tree_cell: COLUMNS[9].cell,
    folded_at_start: never,
    tree: false,
    sort: 4,
    descending: true,
    empty: "No process matches",
};

/// The cgroup a process is in, in the hierarchy its CGROUP column shows.
pub fn cgroup_of(view: &View, p: &Process) -> Option<RowKey> {
    shown_cgroup(view, p).map(|c| RowKey::Cgroup {
        hierarchy: c.hierarchy,
        path: c.path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample::{CgroupSample, ContainerName, HierarchySample, ProcSample, Sample};
    use std::collections::HashMap;
    use std::sync::Arc;

    #[test]
    fn the_ns_title_is_the_marks_legend() {
        let letters: String = MARKED.iter().map(|&(_, c)| c).collect();
        assert_eq!(letters, MARKED_TITLE);
    }

    #[test]
    fn a_process_in_a_container_is_shown_by_the_containers_name() {
        let id = "7166873bbcec2a0e5b1c4a8a10f6d7cd1a3e0e2cc2d31c5c8a6bb4e0c1f7d3a9";
        let scope = format!("/machine.slice/libpod-{id}.scope/container");
        let mut sample = Sample::default();
        sample.cgroups.hierarchies = vec![HierarchySample {
            id: 0,
            version: 2,
            mount: "/sys/fs/cgroup".into(),
            root: "/".into(),
            controllers: vec!["memory".into()],
        }];
        sample.cgroups.cgroups = vec![CgroupSample {
            hierarchy: 0,
            path: scope.clone(),
            inode: 7,
            depth: 3,
            files: Vec::new(),
        }];
        let proc = |pid, path: &str| {
            Arc::new(ProcSample {
                pid,
                ppid: 1,
                comm: "httpd".into(),
                threads: 1,
                cgroup: format!("0::{path}\n").into(),
                ..ProcSample::default()
            })
        };
        // 4013's cgroup appeared after the walk: recognised from its path alone.
        let other = "b5f0d9c2a8e14f7e9a3c6d2b1e0f4a7c8d9e2f1a0b3c4d5e6f708192a3b4c5d6";
        sample.procs = vec![
            proc(4012, &scope),
            proc(4013, &format!("/machine.slice/libpod-{other}.scope")),
        ];
        sample.container_names = HashMap::from([(
            id.to_owned(),
            ContainerName {
                name: "web".into(),
                source: "containers/storage /var/lib/containers/storage/overlay-containers/containers.json".into(),
            },
        )]);
        let model = Model::new(&sample, None);
        let view = View {
            model: &model,
            hierarchy: None,
        };
        let text = |i: usize| cgroup_text(&view, &model.processes[i]);
        assert_eq!(text(0).as_deref(), Some("podman web (7166873bbcec)"));
        assert_eq!(text(1).as_deref(), Some("podman b5f0d9c2a8e1"));
    }
}
