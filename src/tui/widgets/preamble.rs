//! What the Pressure and OOM screens show above their lists: system-wide PSI with charts of it
//! and of the most stalled cgroups, and where the OOM events come from.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Widget;

use crate::model::Model;
use crate::model::cgroup::Cgroup;
use crate::model::history::{History, Metric};
use crate::tui::app::App;
use crate::tui::detail::{Chart, Plot, Unit, pressure_plots};
use crate::tui::panes::cgroups::short_name;
use crate::tui::panes::{Screen, Tone, by};
use crate::tui::widgets::chart::TimeChart;
use crate::tui::widgets::detail::CHART_HEIGHT;
use crate::tui::widgets::grid;

/// The PSI table's lines.
const TABLE: u16 = 6;
/// Terminals this tall or more get the Pressure charts.
const PRESSURE_CHARTS_MIN_ROWS: u16 = 36;
/// Cgroups charted beside the system.
const TOP_CGROUPS: usize = 4;

pub fn height(screen: Screen, terminal_height: u16) -> u16 {
    match screen {
        Screen::Pressure if terminal_height >= PRESSURE_CHARTS_MIN_ROWS => TABLE + CHART_HEIGHT,
        Screen::Pressure => TABLE,
        Screen::Limits => 3,
        Screen::Oom => 3,
        _ => 0,
    }
}

/// The system's PSI, and the cgroups stalled most now, each by its worst resource.
fn pressure_charts(model: &Model, history: &History) -> [Chart; 2] {
    let system = Chart {
        title: "system pressure (some avg10 %)".into(),
        unit: Unit::Percent,
        legend: false,
        until: None,
        plots: pressure_plots(|metric| history.host(metric)),
    };
    // A root's pressure is the system's, charted beside.
    let below_roots = || model.cgroups.iter().filter(|c| c.depth > 0);
    let mut stalled: Vec<(&Cgroup, (&str, f64))> = below_roots()
        .filter_map(|c| Some((c, c.worst_resource()?)))
        .filter(|(_, (_, stall))| *stall > 0.0)
        .collect();
    let why_empty = match below_roots().any(|c| c.pressure.is_some()) {
        _ if !stalled.is_empty() => "",
        true => ": none stalled now",
        false => ": no cgroup below a root has PSI files (cgroup2 only)",
    };
    stalled.sort_by(|a, b| by(Some(b.1.1), Some(a.1.1)));
    let tones = [Tone::Alert, Tone::Warn, Tone::Name, Tone::Isolated];
    let plots = stalled
        .into_iter()
        .take(TOP_CGROUPS)
        .zip(tones)
        .map(|((c, (resource, _)), tone)| Plot {
            name: format!("{} {resource}", short_name(c)),
            tone,
            points: history.cgroup(c, Metric::pressure(resource)),
        })
        .collect();
    let top = Chart {
        title: format!("most stalled cgroups (some avg10 %){why_empty}"),
        unit: Unit::Percent,
        legend: true,
        until: None,
        plots,
    };
    [system, top]
}

pub fn render(app: &App, model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let [area, band] = Layout::vertical([
        Constraint::Length(TABLE.min(area.height)),
        Constraint::Min(0),
    ])
    .areas(area);
    if app.screen == Screen::Pressure && band.height > 0 {
        let charts = pressure_charts(model, &app.history);
        let cells: [Rect; 2] = Layout::horizontal([Constraint::Ratio(1, 2); 2]).areas(band);
        for (chart, cell) in charts.iter().zip(cells) {
            TimeChart {
                spec: chart,
                span: app.history.span(),
                theme,
            }
            .render(cell, buf);
        }
    }
    let lines: Vec<Line> = match app.screen {
        Screen::Pressure => {
            let psi = model.host.pressure.as_ref();
            let stalls = [
                ("cpu", psi.and_then(|p| p.cpu.as_ref())),
                ("memory", psi.and_then(|p| p.memory.as_ref())),
                ("io", psi.and_then(|p| p.io.as_ref())),
                ("irq", psi.and_then(|p| p.irq.as_ref())),
            ];
            let mut lines =
                grid::pressure("/proc/pressure", &stalls, theme).lines(theme.label(), 0);
            if psi.is_none() {
                lines.truncate(1);
                lines.push(Line::styled(
                    "This kernel reports no pressure (no /proc/pressure: CONFIG_PSI off or psi=0)",
                    theme.tone(Tone::Warn),
                ));
            }
            lines.push(Line::styled(
                "Per cgroup (cgroup2 only), % of the last 10 s stalled; d opens a cgroup's charts",
                theme.tone(Tone::Dim),
            ));
            lines
        }
        Screen::Limits => vec![
            Line::raw(
                "Cgroups that reached their memory limit or had OOM kills: memory.events (v2),",
            ),
            Line::raw(
                "memory.failcnt and memory.oom_control (v1). Counts since each cgroup was created.",
            ),
            Line::styled(
                "The kills themselves, with who and why, are on the OOM screen (6)",
                theme.tone(Tone::Dim),
            ),
        ],
        Screen::Oom => vec![
            Line::raw(
                "OOM kills from the kernel log (since boot), and kills the cgroups' counters showed without a report",
            ),
            match model.oom_notes.first() {
                Some(note) => Line::styled(format!("Note: {note}"), theme.tone(Tone::Warn)),
                None => Line::raw(""),
            },
            Line::styled(
                "Enter: the cgroup · d: the diagnosis (what used the memory, the minutes before) · `nstop oom` for scripts",
                theme.tone(Tone::Dim),
            ),
        ],
        _ => Vec::new(),
    };
    for (i, line) in lines.iter().enumerate().take(usize::from(area.height)) {
        buf.set_line(area.x, area.y + i as u16, line, area.width);
    }
}
