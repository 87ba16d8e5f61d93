//! The detail view: everything known about one namespace, cgroup or process, and the
//! PID-namespace teaching view. A page is built from the model, the history and what the
//! collector read inside a namespace, once per change (not per frame); its lines link to what
//! the subject joins, and Enter follows a link.

mod cgroup;
mod namespace;
mod oom;
mod pid_tree;
mod process;

use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use crate::collector::{Description, Topic};
use crate::model::Model;
use crate::model::history::{History, Metric};
use crate::model::isolation::{self, Severity, Walls};
use crate::model::process::Process;
use crate::model::sample::{NsRef, NsType};
use crate::tui::list::{moved, scrolled};
use crate::tui::panes::{RowKey, Scope, Tone};
use crate::tui::theme::Theme;
use crate::tui::widgets::grid::Grid;
use crate::tui::widgets::table::fit_path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    Namespace(NsRef),
    Cgroup {
        hierarchy: u32,
        path: String,
    },
    Process {
        pid: i32,
        start_time: u64,
    },
    /// The teaching view: pid namespaces from ours down to `ns` and all below it, every
    /// process with its PID at each level; `focus` is the process it was opened on.
    PidTree {
        ns: u64,
        focus: Option<i32>,
    },
    Oom {
        seq: u64,
    },
}

impl Subject {
    pub fn of(key: RowKey) -> Subject {
        match key {
            RowKey::Namespace(ns) => Subject::Namespace(ns),
            RowKey::Cgroup { hierarchy, path } => Subject::Cgroup { hierarchy, path },
            RowKey::Process { pid, start_time } => Subject::Process { pid, start_time },
            RowKey::Oom { seq } => Subject::Oom { seq },
        }
    }

    /// What the collector must read for this page besides the model: a namespace's inside
    /// (pid and ipc namespaces have nothing more there), a cgroup's OOM scores and walls, a
    /// contained process's walls (a host process's page has no isolation section).
    pub fn described(&self, model: Option<&Model>) -> Option<Topic> {
        match self {
            Subject::Namespace(ns) if !matches!(ns.kind, NsType::Pid | NsType::Ipc) => {
                Some(Topic::Namespace(*ns))
            }
            Subject::Cgroup { hierarchy, path } => Some(Topic::Cgroup {
                hierarchy: *hierarchy,
                path: path.clone(),
                walls: model
                    .and_then(|m| m.cgroup(*hierarchy, path))
                    .is_some_and(|c| c.workload.container.is_some()),
            }),
            Subject::Process { pid, .. } => {
                let p = model?.process(*pid)?;
                crate::model::isolation::contained(model?, p).then_some(Topic::Process(*pid))
            }
            _ => None,
        }
    }
}

/// Where a line leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    Open(Subject),
    /// The Processes screen narrowed to this.
    Processes(Scope),
}

impl Link {
    /// The detail of a process, pinned by its start time.
    fn process(p: &Process) -> Link {
        Link::Open(Subject::Process {
            pid: p.pid,
            start_time: p.start_time,
        })
    }
}

#[derive(Debug)]
pub struct Entry {
    pub line: Line<'static>,
    pub link: Option<Link>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Percent,
}

#[derive(Debug)]
pub struct Plot {
    pub name: String,
    pub tone: Tone,
    /// (seconds before now, value).
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug)]
pub struct Chart {
    pub title: String,
    pub unit: Unit,
    pub plots: Vec<Plot>,
    /// Names too long for the title go in a legend box.
    pub legend: bool,
    /// Where the time axis ends: `None` at now, over the history kept; else at an event the
    /// points are aligned to (seconds before it), named, and the seconds shown before it.
    pub until: Option<(&'static str, f64)>,
}

#[derive(Debug)]
pub struct Page {
    pub title: String,
    pub charts: Vec<Chart>,
    /// Seconds the charts' time axis covers.
    pub span: f64,
    pub entries: Vec<Entry>,
    /// Where the cursor starts: the line the page is about, else the first link.
    pub start: Option<usize>,
}

/// The cpu, memory and io `some` avg10 plots of a pressure chart, from `points` per metric.
pub fn pressure_plots(points: impl Fn(Metric) -> Vec<(f64, f64)>) -> Vec<Plot> {
    [
        ("cpu", Metric::PressureCpu, Tone::Name),
        ("memory", Metric::PressureMemory, Tone::Warn),
        ("io", Metric::PressureIo, Tone::Isolated),
    ]
    .into_iter()
    .map(|(name, metric, tone)| Plot {
        name: name.into(),
        tone,
        points: points(metric),
    })
    .collect()
}

/// What a page is built from.
pub struct Sources<'a> {
    pub model: &'a Model,
    pub history: &'a History,
    /// The collector's reading for this page, once it arrived.
    pub described: Option<&'a Description>,
    pub theme: &'a Theme,
    /// Columns the page is drawn in: paragraphs wrap and paths are cut to it.
    pub width: u16,
}

pub fn build(subject: &Subject, sources: &Sources) -> Page {
    let mut page = Writer::new(sources.theme, sources.width);
    let (title, charts) = match subject {
        Subject::Namespace(ns) => (namespace::write(*ns, sources, &mut page), Vec::new()),
        Subject::Cgroup { hierarchy, path } => cgroup::write(*hierarchy, path, sources, &mut page),
        Subject::Process { pid, start_time } => (
            process::write(*pid, *start_time, sources, &mut page),
            Vec::new(),
        ),
        Subject::PidTree { ns, focus } => {
            (pid_tree::write(*ns, *focus, sources, &mut page), Vec::new())
        }
        Subject::Oom { seq } => oom::write(*seq, sources, &mut page),
    };
    Page {
        title,
        charts,
        span: sources.history.span(),
        start: page
            .start
            .or_else(|| page.entries.iter().position(|e| e.link.is_some())),
        entries: page.entries,
    }
}

/// Lines of a page: sections, labelled fields and links, styled by meaning.
struct Writer<'a> {
    theme: &'a Theme,
    width: usize,
    entries: Vec<Entry>,
    start: Option<usize>,
}

/// Field labels are padded to this.
const LABEL: usize = 18;

/// Paragraphs wrap at the page's width, but not narrower than this.
const MIN_PARAGRAPH: usize = 40;

impl<'a> Writer<'a> {
    fn new(theme: &'a Theme, width: u16) -> Writer<'a> {
        Writer {
            theme,
            width: usize::from(width),
            entries: Vec::new(),
            start: None,
        }
    }

    fn push(&mut self, line: Line<'static>, link: Option<Link>) {
        self.entries.push(Entry { line, link });
    }

    fn section(&mut self, title: &str) {
        if !self.entries.is_empty() {
            self.push(Line::raw(""), None);
        }
        self.push(Line::styled(title.to_owned(), self.theme.label()), None);
    }

    fn field(&mut self, label: &str, value: impl Into<String>) {
        self.field_tone(label, value, Tone::Plain);
    }

    /// A labelled value; one wider than the page wraps between words under itself (a path
    /// is cut in the middle instead).
    fn field_tone(&mut self, label: &str, value: impl Into<String>, tone: Tone) {
        let value = self.fit(value.into(), LABEL + 3);
        let room = self.width.saturating_sub(LABEL + 3).max(MIN_PARAGRAPH);
        for (i, part) in break_lines(value.split(' '), room).into_iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            let line = Line::from(vec![
                Span::raw(format!("  {label:<LABEL$} ")),
                Span::styled(part, self.theme.tone(tone)),
            ]);
            self.push(line, None);
        }
    }

    /// A path value cut in the middle to what is left of the width after `used` columns.
    fn fit(&self, value: String, used: usize) -> String {
        let room = self.width.saturating_sub(used);
        match fit_path(&value, room) {
            std::borrow::Cow::Borrowed(_) => value,
            std::borrow::Cow::Owned(cut) => cut,
        }
    }

    /// A field whose value leads somewhere: drawn with an arrow.
    fn link(&mut self, label: &str, value: impl Into<String>, tone: Tone, link: Link) {
        let value = self.fit(value.into(), LABEL + 5);
        let line = Line::from(vec![
            Span::raw(format!("  {label:<LABEL$} ")),
            Span::styled("→ ", self.theme.key()),
            Span::styled(value, self.theme.tone(tone)),
        ]);
        self.push(line, Some(link));
    }

    /// A note as lines that fit the page, broken between words.
    fn paragraph(&mut self, text: &str, tone: Tone) {
        self.wrapped(text.split(' '), tone);
    }

    /// A note as lines that fit the page, broken only between `pieces` (which are joined by
    /// spaces): a phrase such as "PID 3 in pid:[…]" stays whole.
    fn wrapped<'t>(&mut self, pieces: impl IntoIterator<Item = &'t str>, tone: Tone) {
        // Notes are indented by two columns; one more keeps the cursor's column free.
        let room = self.width.saturating_sub(3).max(MIN_PARAGRAPH);
        for line in break_lines(pieces, room) {
            self.note(line, tone);
        }
    }

    fn grid(&mut self, grid: &Grid) {
        for line in grid.lines(self.theme.tone(Tone::Dim), 2) {
            self.push(line, None);
        }
    }

    fn note(&mut self, text: impl Into<String>, tone: Tone) {
        self.push(
            Line::styled(format!("  {}", text.into()), self.theme.tone(tone)),
            None,
        );
    }
}

/// `pieces` joined by spaces into lines of at most `room` columns, broken only between
/// pieces (a path wider than `room` is cut in the middle, other text stands alone); never
/// empty.
fn break_lines<'t>(pieces: impl IntoIterator<Item = &'t str>, room: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for (i, piece) in pieces.into_iter().enumerate() {
        let piece = fit_path(piece, room);
        let line = lines.last_mut().expect("never empty");
        if i > 0 && line.width() + 1 + piece.width() > room {
            lines.push(piece.into_owned());
            continue;
        }
        if i > 0 {
            line.push(' ');
        }
        line.push_str(&piece);
    }
    lines
}

/// An isolation section: each finding of processes that form one unit against a default
/// container, worst first; the walls around them (mounts, devices) once the collector read them.
fn write_findings(
    page: &mut Writer,
    model: &Model,
    processes: &[&Process],
    walls: Option<&Result<Walls, String>>,
) {
    page.section("Isolation (against a default container)");
    let walls = match walls {
        Some(Ok(walls)) => Some(walls),
        Some(Err(why)) => {
            page.note(format!("mounts and devices: {why}"), Tone::Dim);
            None
        }
        None => {
            page.note("reading mounts and devices…", Tone::Dim);
            None
        }
    };
    let findings = isolation::unit_findings(model, processes, walls);
    if findings.iter().all(|f| f.severity == Severity::Info) {
        page.note("nothing weaker than a default container", Tone::Dim);
    }
    for f in findings {
        let tone = match f.severity {
            Severity::Alert => Tone::Alert,
            Severity::Warn => Tone::Warn,
            Severity::Info => Tone::Dim,
        };
        let line = format!("{:<5} {} [{}]", f.severity.mark(), f.what, f.evidence);
        page.paragraph(&line, tone);
    }
}

/// `name:[inode]`, as lsns and the kernel's link text write a namespace.
fn ns_name(ns: NsRef) -> String {
    format!("{}:[{}]", ns.kind, ns.ino)
}

/// The process links of a list of PIDs, the first `limit` of them, then a link to the list
/// of all when a scope shows exactly them.
fn process_links(page: &mut Writer, model: &Model, pids: &[i32], limit: usize, all: Option<Scope>) {
    for &pid in pids.iter().take(limit) {
        let Some(p) = model.process(pid) else {
            continue;
        };
        let tone = if p.command.starts_with('[') {
            Tone::Dim
        } else {
            Tone::Plain
        };
        page.link(
            &format!("PID {pid}"),
            format!("{:<10} {}", p.user_name(), p.command),
            tone,
            Link::process(p),
        );
    }
    let more = format!("all {} in the Processes screen", pids.len());
    match all {
        Some(scope) if pids.len() > limit => {
            page.link("", more, Tone::Name, Link::Processes(scope))
        }
        None if pids.len() > limit => {
            page.note(format!("… and {} more", pids.len() - limit), Tone::Dim)
        }
        _ => {}
    }
}

/// Where the view is and what it shows: the page, the line under the cursor, the first line
/// drawn.
#[derive(Debug)]
pub struct DetailState {
    pub subject: Subject,
    pub page: Page,
    pub selected: usize,
    pub offset: usize,
}

impl DetailState {
    pub fn new(subject: Subject, sources: &Sources) -> DetailState {
        let page = build(&subject, sources);
        DetailState {
            subject,
            selected: page.start.unwrap_or(0),
            page,
            offset: 0,
        }
    }

    /// Rebuilds the page from new sources. Lines come and go above the cursor (processes,
    /// interfaces), so it stays on the same link, the nearest one if it appears twice, and the
    /// view scrolls with it.
    pub fn refresh(&mut self, sources: &Sources) {
        let link = self.link().cloned();
        self.page = build(&self.subject, sources);
        let len = self.page.entries.len();
        let same = link.and_then(|link| {
            let entries = &self.page.entries;
            (0..len)
                .filter(|&i| entries[i].link.as_ref() == Some(&link))
                .min_by_key(|&i| i.abs_diff(self.selected))
        });
        let target = same.unwrap_or(self.selected.min(len.saturating_sub(1)));
        self.offset = self
            .offset
            .saturating_add_signed(target as isize - self.selected as isize);
        self.selected = target;
    }

    pub fn link(&self) -> Option<&Link> {
        self.page.entries.get(self.selected)?.link.as_ref()
    }

    /// Up and down go from link to link; past the last one (or on a page without links) they
    /// move line by line, so everything can still be scrolled to.
    pub fn step(&mut self, down: bool) {
        let entries = &self.page.entries;
        let next = if down {
            entries
                .iter()
                .enumerate()
                .skip(self.selected + 1)
                .find(|(_, e)| e.link.is_some())
                .map(|(i, _)| i)
        } else {
            entries[..self.selected.min(entries.len())]
                .iter()
                .rposition(|e| e.link.is_some())
        };
        self.selected = match next {
            Some(i) => i,
            None if down => (self.selected + 1).min(entries.len().saturating_sub(1)),
            None => self.selected.saturating_sub(1),
        };
    }

    pub fn move_by(&mut self, delta: isize) {
        self.selected = moved(self.selected, delta, self.page.entries.len());
    }

    /// Keeps the cursor within the `height` lines drawn.
    pub fn follow(&mut self, height: usize) {
        self.offset = scrolled(self.selected, self.offset, height, self.page.entries.len());
    }
}
