//! Namespaces as lsns lists them; those without processes name what holds them. The tree view
//! hangs pid and user namespaces from their parent and the others from their owning user
//! namespace.

use crate::model::Model;
use crate::model::namespace::Namespace;
use crate::model::sample::{NsRef, NsType};
use crate::tui::panes::{Cell, Column, RowKey, Scope, Spec, Tone, View, by, never};

fn ns(model: &Model, i: usize) -> &Namespace {
    &model.namespaces[i]
}

/// The command of the namespace's process: its lowest member, else the process of a holder.
fn command(model: &Model, n: &Namespace) -> Option<String> {
    n.pid
        .and_then(|pid| model.process(pid))
        .map(|p| p.command.clone())
}

fn command_cell(model: &View, i: usize) -> Cell {
    let n = ns(model, i);
    if n.pids.is_empty() {
        return Cell::new(n.held_by(model.reader_mnt_ns), Tone::Isolated);
    }
    Cell::or_dash(command(model, n), Tone::Plain)
}

fn user(model: &Model, n: &Namespace) -> Option<String> {
    Some(model.process(n.pid?)?.user_name())
}

static COLUMNS: [Column; 8] = [
    Column {
        title: "NS",
        width: 12,
        right: false,
        drop: 0,
        cell: |m, i| Cell::plain(ns(m, i).ns.to_string()),
        order: |m, a, b| ns(m, a).ns.cmp(&ns(m, b).ns),
    },
    Column {
        title: "TYPE",
        width: 6,
        right: false,
        drop: 0,
        cell: |m, i| Cell::plain(ns(m, i).kind.name()),
        order: |m, a, b| ns(m, a).kind.name().cmp(ns(m, b).kind.name()),
    },
    Column {
        title: "NPROCS",
        width: 6,
        right: true,
        drop: 0,
        cell: |m, i| {
            let n = ns(m, i).nprocs();
            Cell::new(
                n.to_string(),
                if n == 0 { Tone::Isolated } else { Tone::Plain },
            )
        },
        order: |m, a, b| ns(m, a).nprocs().cmp(&ns(m, b).nprocs()),
    },
    Column {
        title: "PID",
        width: 7,
        right: true,
        drop: 0,
        cell: |m, i| Cell::or_dash(ns(m, i).pid.map(|p| p.to_string()), Tone::Plain),
        order: |m, a, b| by(ns(m, a).pid, ns(m, b).pid),
    },
    Column {
        title: "USER",
        width: 9,
        right: false,
        drop: 2,
        cell: |m, i| Cell::or_dash(user(m, ns(m, i)), Tone::Plain),
        order: |m, a, b| user(m, ns(m, a)).cmp(&user(m, ns(m, b))),
    },
    Column {
        title: "NETNSID",
        width: 10,
        right: true,
        drop: 4,
        cell: |m, i| {
            let n = ns(m, i);
            let text = match n.netnsid {
                Some(-1) => Some("unassigned".to_owned()),
                other => other.map(|id| id.to_string()),
            };
            Cell::or_dash(text.filter(|_| n.kind == NsType::Net), Tone::Plain)
        },
        order: |m, a, b| by(ns(m, a).netnsid, ns(m, b).netnsid),
    },
    Column {
        title: "NSFS",
        width: 22,
        right: false,
        drop: 3,
        cell: |m, i| {
            let paths = &ns(m, i).nsfs;
            Cell::or_dash((!paths.is_empty()).then(|| paths.join(",")), Tone::Name)
        },
        order: |m, a, b| ns(m, a).nsfs.cmp(&ns(m, b).nsfs),
    },
    Column {
        title: "COMMAND",
        width: 0,
        right: false,
        drop: 0,
        cell: command_cell,
        order: |m, a, b| command(m, ns(m, a)).cmp(&command(m, ns(m, b))),
    },
];

/// A pid or user namespace under its parent; any other under the user namespace owning it.
fn parents(model: &Model) -> Vec<Option<usize>> {
    let index = |kind, ino| {
        model
            .namespaces
            .binary_search_by_key(&(ino, kind), |n| (n.ns, n.kind))
            .ok()
    };
    model
        .namespaces
        .iter()
        .map(|n| match (n.kind, n.parent, n.owner) {
            (NsType::Pid | NsType::User, Some(parent), _) => index(n.kind, parent),
            (NsType::User, None, _) => None,
            (_, _, Some(owner)) => index(NsType::User, owner),
            _ => None,
        })
        .collect()
}

pub static SPEC: Spec = Spec {
    columns: &COLUMNS,
    len: |m| m.namespaces.len(),
    key: |m, i| {
        RowKey::Namespace(NsRef {
            kind: ns(m, i).kind,
            ino: ns(m, i).ns,
        })
    },
    parents,
    include: |m, i, scope| match scope {
        Scope::Kind(kind) => m.namespaces[i].kind == *kind,
        Scope::Among(set) => set.binary_search(&m.namespaces[i].ns_ref()).is_ok(),
        other => *other == Scope::All,
    },
    tree_column: 0,
    tree_cell: COLUMNS[0].cell,
    folded_at_start: never,
    tree: false,
    sort: 0,
    descending: false,
    empty: "No namespaces are readable here (is /proc mounted?)",
};
