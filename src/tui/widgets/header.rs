//! The host at a glance: name, kernel, cgroup layout, uptime, load, then CPU and memory use and
//! system pressure as htop-style bars that turn yellow and red past their thresholds.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::model::cgroup::Stall;
use crate::model::host::HostMode;
use crate::tui::app::App;
use crate::tui::panes::{Tone, bytes, severity};
use crate::tui::theme::Theme;

pub struct Header<'a> {
    pub app: &'a App,
}

impl Header<'_> {
    pub const HEIGHT: u16 = 3;
}

fn uptime(secs: f64) -> String {
    let secs = secs as u64;
    let (days, hours, minutes) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    if days > 0 {
        format!("{days}d {hours:02}:{minutes:02}")
    } else {
        format!("{hours:02}:{minutes:02}")
    }
}

/// `CPU [|||||      23.4%]`: the bar coloured by severity, the value inside at the right.
fn gauge(
    buf: &mut Buffer,
    area: Rect,
    theme: &Theme,
    label: &str,
    share: Option<f64>,
    text: &str,
    tone: Tone,
) {
    let label = format!("{label:<4}[");
    buf.set_string(area.x, area.y, &label, theme.label());
    let inner = area.width.saturating_sub(label.len() as u16 + 1);
    let x = area.x + label.len() as u16;
    let filled = share.map_or(0, |s| {
        ((s / 100.0).clamp(0.0, 1.0) * f64::from(inner)).round() as u16
    });
    let bar: String = "|".repeat(usize::from(filled));
    buf.set_string(x, area.y, &bar, theme.tone(tone));
    let text_width = text.chars().count() as u16;
    if text_width <= inner {
        buf.set_string(
            x + inner - text_width,
            area.y,
            text,
            theme.tone(Tone::Dim).patch(theme.tone(tone)),
        );
    }
    buf.set_string(x + inner, area.y, "]", theme.label());
}

impl Widget for Header<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let theme = &app.theme;
        let [info, usage, pressure] = Layout::vertical([Constraint::Length(1); 3]).areas(area);
        let Some(model) = app.model.as_deref() else {
            Line::styled("nstop", theme.label()).render(info, buf);
            return;
        };
        let host = &model.host;
        let system = host.system.as_ref();
        let mode = match host.mode {
            HostMode::Unified => "cgroup v2",
            HostMode::Hybrid => "cgroup hybrid",
            HostMode::Legacy => "cgroup v1",
            HostMode::None => "no cgroups",
        };
        let hostname = system.map_or("", |s| s.hostname.as_str());
        let mut spans = vec![Span::styled(
            if hostname.is_empty() { "?" } else { hostname }.to_owned(),
            theme.label(),
        )];
        let mut add = |label: &str, value: String| {
            spans.push(Span::styled(format!("  {label}"), theme.tone(Tone::Dim)));
            spans.push(Span::raw(value));
        };
        if let Some(s) = system.filter(|s| !s.kernel.is_empty()) {
            add("", s.kernel.clone());
        }
        add("", mode.to_owned());
        if let Some(up) = system.and_then(|s| s.uptime_secs) {
            add("up ", uptime(up));
        }
        if let Some([one, five, fifteen]) = system.and_then(|s| s.load) {
            add("load ", format!("{one:.2} {five:.2} {fifteen:.2}"));
        }
        if let Some(s) = system.filter(|s| s.cpus > 0) {
            add("", format!("{} CPUs", s.cpus));
        }
        add("", format!("{} procs", model.processes.len()));
        if app.paused {
            spans.push(Span::styled("  PAUSED", theme.tone(Tone::Warn)));
        }
        Line::from(spans).render(info, buf);

        let [cpu, mem] = Layout::horizontal([Constraint::Ratio(1, 2); 2])
            .spacing(2)
            .areas(usage);
        let cpu_share = system.and_then(|s| s.cpu_percent);
        // Of all CPUs, where the CPU% columns are of one core (htop's convention).
        let of_all = system.filter(|s| s.cpus > 0).map_or(String::new(), |s| {
            format!(" of {}", crate::text::count(s.cpus, "CPU", "CPUs"))
        });
        gauge(
            buf,
            cpu,
            theme,
            "CPU",
            cpu_share,
            &cpu_share.map_or("…".to_owned(), |v| format!("{v:.1}%{of_all}")),
            severity(cpu_share, 80.0, 95.0),
        );
        let mem_share = system.and_then(|s| s.mem_percent());
        let mem_text = system
            .and_then(|s| {
                let total = s.mem_total?;
                let used = total.saturating_sub(s.mem_available?);
                Some(format!("{}/{}", bytes(Some(used))?, bytes(Some(total))?))
            })
            .unwrap_or_else(|| "?".to_owned());
        gauge(
            buf,
            mem,
            theme,
            "Mem",
            mem_share,
            &mem_text,
            severity(mem_share, 80.0, 95.0),
        );

        let resources = Layout::horizontal([Constraint::Ratio(1, 3); 3])
            .spacing(2)
            .split(pressure);
        let psi = host.pressure.as_ref();
        for (i, (label, stall)) in [
            ("cpu", psi.and_then(|p| p.cpu.as_ref())),
            ("mem", psi.and_then(|p| p.memory.as_ref())),
            ("io", psi.and_then(|p| p.io.as_ref())),
        ]
        .into_iter()
        .enumerate()
        {
            let avg = Stall::some_avg10(stall);
            let text = avg.map_or("no PSI".to_owned(), |v| format!("some {v:.1}%"));
            gauge(
                buf,
                resources[i],
                theme,
                label,
                avg,
                &text,
                severity(avg, 10.0, 40.0),
            );
        }
    }
}
