//! What each screen lists: its columns (text, meaning, order) and how its items nest. Every
//! function takes the model and an item's index, so rows are built only when drawn.

pub mod cgroups;
pub mod namespaces;
pub mod oom;
pub mod pressure;
pub mod processes;

use std::cmp::Ordering;

use crate::model::Model;
use crate::model::sample::{NsRef, NsType};

/// As the config file names them: `namespaces`, `cgroups`, ... `oom`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Screen {
    Namespaces,
    Cgroups,
    Processes,
    Pressure,
    Limits,
    Oom,
}

impl Screen {
    pub const ALL: [Screen; 6] = [
        Screen::Namespaces,
        Screen::Cgroups,
        Screen::Processes,
        Screen::Pressure,
        Screen::Limits,
        Screen::Oom,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Namespaces => "Namespaces",
            Screen::Cgroups => "Cgroups",
            Screen::Processes => "Processes",
            Screen::Pressure => "Pressure",
            Screen::Limits => "Limits",
            Screen::Oom => "OOM",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn spec(self) -> &'static Spec {
        match self {
            Screen::Namespaces => &namespaces::SPEC,
            Screen::Cgroups => &cgroups::SPEC,
            Screen::Processes => &processes::SPEC,
            Screen::Pressure => &pressure::PRESSURE,
            Screen::Limits => &pressure::LIMITS,
            Screen::Oom => &oom::SPEC,
        }
    }
}

/// What a cell's colour means; the theme turns it into a style (or none, under NO_COLOR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Plain,
    /// Kernel threads, absent values, things in the background.
    Dim,
    /// Names that identify: containers, units, hierarchy roots.
    Name,
    /// Different from the host: another namespace, a process-less namespace's holder.
    Isolated,
    Warn,
    Alert,
}

pub struct Cell {
    pub text: String,
    pub tone: Tone,
}

impl Cell {
    pub fn new(text: impl Into<String>, tone: Tone) -> Cell {
        Cell {
            text: text.into(),
            tone,
        }
    }

    pub fn plain(text: impl Into<String>) -> Cell {
        Cell::new(text, Tone::Plain)
    }

    /// `-` for an unknown value.
    pub fn or_dash(text: Option<String>, tone: Tone) -> Cell {
        match text {
            Some(text) => Cell::new(text, tone),
            None => Cell::new("-", Tone::Dim),
        }
    }

    /// A percentage that turns yellow at `warn` and red at `alert`.
    pub fn percent(value: Option<f64>, warn: f64, alert: f64) -> Cell {
        Cell::or_dash(
            value.map(|v| format!("{v:.1}")),
            severity(value, warn, alert),
        )
    }
}

pub fn severity(value: Option<f64>, warn: f64, alert: f64) -> Tone {
    match value {
        Some(v) if v >= alert => Tone::Alert,
        Some(v) if v >= warn => Tone::Warn,
        _ => Tone::Plain,
    }
}

pub struct Column {
    pub title: &'static str,
    /// Fixed width; 0 marks the one column that takes the rest of the line.
    pub width: u16,
    pub right: bool,
    /// Narrow terminals drop the columns with the highest number first; 0 is never dropped.
    pub drop: u8,
    pub cell: fn(&View, usize) -> Cell,
    /// Ascending order of two items by this column.
    pub order: fn(&View, usize, usize) -> Ordering,
}

/// The model as one list shows it: cells that depend on a choice of the user's read it here.
pub struct View<'a> {
    pub model: &'a Model,
    /// The hierarchy whose cgroups the Processes screen shows; `None`: the one with memory.
    pub hierarchy: Option<u32>,
}

impl std::ops::Deref for View<'_> {
    type Target = Model;

    fn deref(&self) -> &Model {
        self.model
    }
}

/// Which items a list shows: all, or what Enter on another screen narrowed it to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Namespace(NsRef),
    /// A cgroup and everything below it.
    Cgroup {
        hierarchy: u32,
        path: String,
    },
    /// Namespaces of one type (the Namespaces screen's `y`).
    Kind(NsType),
    /// These namespaces (sorted): the ones a shell started from nstop left behind.
    Among(Vec<NsRef>),
}

/// What identifies an item across samples, so selection and collapsed nodes survive a refresh.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RowKey {
    Namespace(NsRef),
    Cgroup {
        hierarchy: u32,
        path: String,
    },
    Process {
        pid: i32,
        start_time: u64,
    },
    /// An OOM kill, by the collector's number for it.
    Oom {
        seq: u64,
    },
}

pub struct Spec {
    pub columns: &'static [Column],
    pub len: fn(&Model) -> usize,
    pub key: fn(&Model, usize) -> RowKey,
    /// Each item's parent in the tree view, by index.
    pub parents: fn(&Model) -> Vec<Option<usize>>,
    /// Whether the item belongs on this screen at all, within the scope.
    pub include: fn(&Model, usize, &Scope) -> bool,
    /// The column indented in the tree view, and what it shows there.
    pub tree_column: usize,
    pub tree_cell: fn(&View, usize) -> Cell,
    /// Nodes folded when first seen.
    pub folded_at_start: fn(&Model, usize) -> bool,
    pub tree: bool,
    pub sort: usize,
    pub descending: bool,
    /// Shown when the screen has no rows.
    pub empty: &'static str,
}

/// Compares two optional numbers with absent values first (last when the list is descending).
pub fn by<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Everything but the excluded; used by screens without a narrower selection.
pub fn all(_: &Model, _: usize, scope: &Scope) -> bool {
    *scope == Scope::All
}

/// Text order with digit runs compared as numbers: `g2` before `g10`.
pub fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (da, db) = (digits(a), digits(b));
                let trim = |s: &[u8]| -> usize { s.iter().take_while(|&&c| c == b'0').count() };
                let (na, nb) = (&a[trim(&a[..da])..da], &b[trim(&b[..db])..db]);
                let order = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (&a[da..], &b[db..]);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

pub fn never(_: &Model, _: usize) -> bool {
    false
}

/// Bytes in binary units as `ls -h` prints them.
pub fn bytes(value: Option<u64>) -> Option<String> {
    value.map(|v| crate::model::human_bytes(v as f64))
}

/// A byte limit: its size, or `max` where there is none.
pub fn bytes_or_max(limit: Option<u64>) -> String {
    bytes(limit).unwrap_or_else(|| "max".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut names = vec!["g10", "g2", "g1", "g100", "a", "g02x", "g2a", ""];
        names.sort_by(|a, b| natural(a, b));
        assert_eq!(names, ["", "a", "g1", "g2", "g2a", "g02x", "g10", "g100"]);
    }
}
