//! An OOM kill explained: the sentence, the limit and usage, what used the memory (the victim,
//! the cgroup's memory.stat, the largest other tasks), and what the history shows of the
//! minutes before it.

use ratatui::style::Style;

use crate::model::Model;
use crate::model::cgroup::Cgroup;
use crate::model::history::Metric;
use crate::model::human_bytes;
use crate::model::oom::OomEvent;
use crate::tui::detail::{Chart, Link, Plot, Sources, Subject, Unit, Writer};
use crate::tui::panes::{RowKey, Tone, oom};
use crate::tui::widgets::grid::{Cell, Grid};

/// How far back before a kill the history is summed up.
const BEFORE_SECS: f64 = 300.0;

fn kb(k: u64) -> String {
    human_bytes((k * 1024) as f64)
}

pub(super) fn write(seq: u64, sources: &Sources, page: &mut Writer) -> (String, Vec<Chart>) {
    let model = sources.model;
    let Some(e) = oom::find(model, seq).map(|i| &model.oom_events[i]) else {
        page.note("this event is no longer kept", Tone::Warn);
        return ("OOM kill".into(), Vec::new());
    };
    let title = match oom::shown_time(e) {
        Some(time) => format!("OOM kill at {time} UTC"),
        None => "OOM kill at an unknown time".to_owned(),
    };
    page.section("What happened");
    let window = Window::of(e, sources);
    let mut sentence = e.sentence();
    if let Some(before) = window.as_ref().and_then(|w| pressure_before(w, sources)) {
        sentence += &format!("; {before}");
    }
    page.paragraph(&sentence, Tone::Alert);

    page.section("Where");
    if let Some(constraint) = &e.constraint {
        page.field("constraint", constraint.clone());
    }
    match oom::cgroup_key(model, e) {
        Some(RowKey::Cgroup { hierarchy, path }) => page.link(
            "cgroup",
            path.clone(),
            Tone::Name,
            Link::Open(Subject::Cgroup { hierarchy, path }),
        ),
        _ => {
            if let Some(path) = oom::cgroup_path(e) {
                page.field("cgroup", format!("{path} (gone)"));
            }
        }
    }
    if let Some(t) = e
        .task_memcg
        .as_deref()
        .filter(|t| Some(*t) != e.oom_memcg.as_deref())
    {
        page.field("victim's cgroup", t.to_owned());
    }
    if let Some(c) = &e.container {
        page.field_tone("workload", c.clone(), Tone::Name);
    }
    if let Some(source) = e
        .task_workload
        .as_ref()
        .and_then(super::cgroup::name_source)
    {
        page.field("named by", source);
    }
    for (label, value) in [("limit", e.limit_bytes), ("usage", e.usage_bytes)] {
        if let Some(v) = value {
            page.field(label, human_bytes(v as f64));
        }
    }
    if let Some(total) = e.failcnt {
        page.field("hit the limit", hits(model, e, total));
    }
    if let Some(who) = &e.invoked_by {
        let how = e.gfp_mask.as_deref().unwrap_or("");
        page.field("asked for memory", format!("{who} {how}"));
    }
    page.field("source", e.source.clone());

    write_victim(e, sources, page);
    write_memory(e, page);
    write_before(window.as_ref(), sources, page);
    let charts = window.iter().filter_map(|w| w.chart(sources)).collect();
    (title, charts)
}

/// How often the cgroup hit its limit: since its previous kill kept here (failcnt counts
/// from the cgroup's creation), and in all.
fn hits(model: &Model, e: &OomEvent, total: u64) -> String {
    let previous = model
        .oom_events
        .iter()
        .take_while(|o| o.seq != e.seq)
        .filter(|o| o.oom_memcg.is_some() && o.oom_memcg == e.oom_memcg)
        .filter_map(|o| Some((o, o.failcnt?)))
        .last();
    let all = crate::text::count(total, "time", "times");
    match previous {
        Some((o, before)) if before <= total => format!(
            "{} since the previous kill here{} · {all} in all",
            crate::text::count(total - before, "time", "times"),
            oom::shown_time(o).map_or(String::new(), |t| format!(" (at {t})"))
        ),
        _ => format!("{all} in all (no earlier kill of this cgroup kept)"),
    }
}

fn write_victim(e: &OomEvent, sources: &Sources, page: &mut Writer) {
    page.section("The victim");
    let anon = e.anon_rss_kb.map(kb);
    let file = e.file_rss_kb.map(kb);
    let shmem = e.shmem_rss_kb.map(kb);
    page.field(
        "resident",
        format!(
            "anon {} · file {} · shmem {}",
            anon.as_deref().unwrap_or("-"),
            file.as_deref().unwrap_or("-"),
            shmem.as_deref().unwrap_or("-")
        ),
    );
    if let Some(vm) = e.total_vm_kb {
        page.field("virtual", kb(vm));
    }
    if let Some(uid) = e.uid {
        page.field("uid", uid.to_string());
    }
    if let Some(adj) = e.oom_score_adj {
        page.field("oom_score_adj", adj.to_string());
    }
    let others = e.largest_others();
    if !others.is_empty() {
        page.section("Largest other tasks then");
        let mut grid = Grid::new(&["PID", "command", "resident"]);
        grid.left = vec![1];
        for t in others.iter().take(8) {
            let rss = t
                .rss_bytes(sources.model.page_size())
                .map_or("-".to_owned(), |b| human_bytes(b as f64));
            grid.rows.push(vec![
                Cell::new(t.pid.to_string(), Style::default()),
                Cell::new(crate::text::printable(&t.name), Style::default()),
                Cell::new(rss, sources.theme.tone(Tone::Plain)),
            ]);
        }
        page.grid(&grid);
    }
}

fn write_memory(e: &OomEvent, page: &mut Writer) {
    if e.stat.is_empty() {
        return;
    }
    page.section("What the cgroup's memory was");
    for (label, names) in [
        ("anon", &["anon", "total_rss", "rss"][..]),
        ("page cache", &["file", "total_cache", "cache"]),
        ("kernel", &["kernel", "kernel_stack"]),
        ("shmem", &["shmem", "total_shmem"]),
        ("sock", &["sock"]),
    ] {
        if let Some(v) = e.stat(names) {
            page.field(label, human_bytes(v as f64));
        }
    }
}

/// What the history says of the minutes before the kill: the worst memory pressure `full`
/// and for how long it was over 10%, as a sentence to follow the diagnosis; `None` when
/// nstop was not watching then.
fn pressure_before(window: &Window, sources: &Sources) -> Option<String> {
    let full = window.values(sources, Metric::PressureMemoryFull, true);
    let worst = full.iter().map(|(_, v)| *v).reduce(f64::max)?;
    let over: Vec<f64> = full
        .iter()
        .filter(|(_, v)| *v > 10.0)
        .map(|(t, _)| *t)
        .collect();
    let lasting = match (over.first(), over.last()) {
        (Some(first), Some(last)) => format!(" for {:.0} s", (last - first).max(0.0) + 1.0),
        _ => String::new(),
    };
    Some(format!(
        "memory pressure full avg10 up to {worst:.0}%{lasting} before"
    ))
}

/// The samples of the event's cgroup in the minutes before it.
struct Window<'a> {
    cgroup: &'a Cgroup,
    /// The cgroup2 cgroup whose PSI stands for it (its own, or a v1 cgroup's twin).
    psi: Option<&'a Cgroup>,
    /// Seconds between the kill and the newest sample.
    age: f64,
}

impl<'a> Window<'a> {
    fn of(e: &OomEvent, sources: &Sources<'a>) -> Option<Window<'a>> {
        let model = sources.model;
        // Uptime and the kernel's stamp share the boot clock (a suspend shifts them apart).
        let now = model.host.system.as_ref()?.uptime_secs?;
        let usec = e.monotonic_usec?;
        let RowKey::Cgroup { hierarchy, path } = oom::cgroup_key(model, e)? else {
            return None;
        };
        let cgroup = model.cgroup(hierarchy, &path)?;
        Some(Window {
            cgroup,
            psi: super::cgroup::pressure_source(cgroup, sources).map(|(p, _)| p),
            age: now - usec as f64 / 1e6,
        })
    }

    /// (seconds before now, value) of one metric within BEFORE_SECS before the kill.
    fn values(&self, sources: &Sources, metric: Metric, psi: bool) -> Vec<(f64, f64)> {
        let c = self.psi.filter(|_| psi).unwrap_or(self.cgroup);
        sources
            .history
            .cgroup(c, metric)
            .into_iter()
            .filter(|(t, _)| *t <= -self.age && *t >= -self.age - BEFORE_SECS)
            .collect()
    }
}

impl Window<'_> {
    /// The cgroup's memory against its limit in the minutes before the kill, the time axis
    /// ending at the kill.
    fn chart(&self, sources: &Sources) -> Option<Chart> {
        let aligned = |metric| -> Vec<(f64, f64)> {
            let points = self.values(sources, metric, false);
            points.into_iter().map(|(t, v)| (t + self.age, v)).collect()
        };
        let used = aligned(Metric::Memory);
        let shown = -used.first()?.0;
        let title = match climb(&used) {
            Some(rise) => format!("memory before the kill: {}", climbed(rise)),
            None => "memory before the kill".to_owned(),
        };
        let mut plots = Vec::new();
        let limit = aligned(Metric::MemoryMax);
        if !limit.is_empty() {
            plots.push(Plot {
                name: "limit".into(),
                tone: Tone::Alert,
                points: limit,
            });
        }
        plots.push(Plot {
            name: "used".into(),
            tone: Tone::Name,
            points: used,
        });
        Some(Chart {
            title,
            unit: Unit::Bytes,
            legend: false,
            plots,
            until: Some(("kill", shown.max(1.0))),
        })
    }
}

/// How memory climbed into the kill: the rate (bytes/s) and seconds of the last rise, from
/// the newest sample back while it did not fall; `None` when it did not rise.
fn climb(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let (end_t, end_v) = *points.last()?;
    let mut start = points
        .windows(2)
        .rposition(|w| w[1].1 < w[0].1)
        .map_or(0, |fell| fell + 1);
    // The rise starts at the last of any equal values it began from.
    while start + 1 < points.len() && points[start + 1].1 <= points[start].1 {
        start += 1;
    }
    let (start_t, start_v) = points[start];
    let secs = end_t - start_t;
    (secs > 0.0 && end_v > start_v).then(|| ((end_v - start_v) / secs, secs))
}

fn climbed((rate, secs): (f64, f64)) -> String {
    format!("+{}/s for {secs:.0} s", human_bytes(rate))
}

/// The cgroup's history in the minutes before the kill, when nstop was watching then.
fn write_before(window: Option<&Window>, sources: &Sources, page: &mut Writer) {
    page.section("The minutes before");
    let Some(window) = window else {
        page.note(
            "no history: the kill's time or cgroup is not known here",
            Tone::Dim,
        );
        return;
    };
    let memory = window.values(sources, Metric::Memory, false);
    if memory.is_empty() {
        page.note(
            "no history from before it: nstop was not watching then",
            Tone::Dim,
        );
        return;
    }
    let peak = memory.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    page.field("memory peak", human_bytes(peak));
    page.field(
        "climb",
        match climb(&memory) {
            Some(rise) => climbed(rise),
            None => "none: it did not rise in the samples before (a sudden allocation)".into(),
        },
    );
    for (label, metric) in [
        ("memory pressure", Metric::PressureMemory),
        ("stalled fully", Metric::PressureMemoryFull),
    ] {
        let worst = window
            .values(sources, metric, true)
            .iter()
            .map(|(_, v)| *v)
            .reduce(f64::max);
        if let Some(worst) = worst {
            page.field_tone(
                label,
                format!("avg10 up to {worst:.1}%"),
                crate::tui::panes::severity(Some(worst), 10.0, 40.0),
            );
        }
    }
    page.note(
        format!("{} samples in the {BEFORE_SECS:.0} s before", memory.len()),
        Tone::Dim,
    );
}

#[cfg(test)]
mod tests {
    use super::climb;

    #[test]
    fn the_climb_is_the_last_rise_before_the_kill() {
        const MIB: f64 = 1024.0 * 1024.0;
        // Flat, a dip, then a steady rise of 2 MiB/s for 40 s.
        let mut points = vec![
            (-100.0, 10.0 * MIB),
            (-80.0, 10.0 * MIB),
            (-60.0, 8.0 * MIB),
        ];
        points.extend((0..=4).map(|i| {
            (
                -40.0 + 10.0 * f64::from(i),
                (10.0 + 20.0 * f64::from(i)) * MIB,
            )
        }));
        let (rate, secs) = climb(&points).expect("a rise");
        assert_eq!(secs, 60.0, "from the dip's bottom");
        assert!((rate - 82.0 * MIB / 60.0).abs() < 1.0, "{rate}");
        assert_eq!(climb(&[(-20.0, MIB), (-10.0, MIB)]), None, "flat");
        assert_eq!(climb(&[(-20.0, 2.0 * MIB), (-10.0, MIB)]), None, "falling");
        assert_eq!(climb(&[]), None);
    }
}
