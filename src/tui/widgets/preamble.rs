//! What the Pressure and OOM screens show above their lists: system-wide PSI, and where the
//! OOM events come from.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::model::Model;
use crate::model::cgroup::StallLine;
use crate::tui::panes::{Screen, Tone, severity};
use crate::tui::theme::Theme;

pub fn height(screen: Screen) -> u16 {
    match screen {
        Screen::Pressure => 6,
        Screen::Oom => 3,
        _ => 0,
    }
}

fn averages(line: Option<&StallLine>) -> [Option<f64>; 3] {
    [
        line.map(|l| l.avg10),
        line.map(|l| l.avg60),
        line.map(|l| l.avg300),
    ]
}

pub fn render(screen: Screen, model: &Model, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let lines: Vec<Line> = match screen {
        Screen::Pressure => {
            let head = format!(
                "{:<22}{:>8}{:>8}{:>8}   {:>8}{:>8}{:>8}",
                "/proc/pressure", "some 10s", "60s", "300s", "full 10s", "60s", "300s"
            );
            let mut lines = vec![Line::styled(head, theme.label())];
            let psi = model.host.pressure.as_ref();
            for (name, stall) in [
                ("cpu", psi.and_then(|p| p.cpu.as_ref())),
                ("memory", psi.and_then(|p| p.memory.as_ref())),
                ("io", psi.and_then(|p| p.io.as_ref())),
                ("irq", psi.and_then(|p| p.irq.as_ref())),
            ] {
                let mut spans = vec![Span::raw(format!("{name:<22}"))];
                let some = averages(stall.and_then(|s| s.some.as_ref()));
                let full = averages(stall.and_then(|s| s.full.as_ref()));
                for (i, value) in some.into_iter().chain(full).enumerate() {
                    let gap = if i == 3 { "   " } else { "" };
                    let text = value.map_or("-".to_owned(), |v| format!("{v:.2}"));
                    let tone = severity(value, 10.0, 40.0);
                    spans.push(Span::styled(format!("{gap}{text:>8}"), theme.tone(tone)));
                }
                lines.push(Line::from(spans));
            }
            if psi.is_none() {
                lines.truncate(1);
                lines.push(Line::styled(
                    "This kernel reports no pressure (no /proc/pressure: CONFIG_PSI off or psi=0)",
                    theme.tone(Tone::Warn),
                ));
            }
            lines.push(Line::styled(
                "Per cgroup (cgroup2 only), % of the last 10 s stalled; charts over time will join them",
                theme.tone(Tone::Dim),
            ));
            lines
        }
        Screen::Oom => vec![
            Line::raw(
                "Cgroups that reached their memory limit or had OOM kills: memory.events (v2),",
            ),
            Line::raw(
                "memory.failcnt and memory.oom_control (v1). Counts since each cgroup was created.",
            ),
            Line::styled(
                "Kernel OOM reports (victim, memory breakdown, pressure before) will be joined here",
                theme.tone(Tone::Dim),
            ),
        ],
        _ => Vec::new(),
    };
    for (i, line) in lines.iter().enumerate().take(usize::from(area.height)) {
        buf.set_line(area.x, area.y + i as u16, line, area.width);
    }
}
