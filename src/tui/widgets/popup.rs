//! Forms and confirmations drawn over the screen: exactly what will be written where, the
//! warnings, and the keys that decide.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use crate::model::sample::NsType;
use crate::ops::Request;
use crate::ops::process::signal_name;
use crate::tui::panes::Tone;
use crate::tui::popup::{Asks, Popup};
use crate::tui::theme::Theme;
use crate::tui::widgets::grid::{Cell, Grid};

pub struct PopupView<'a> {
    pub popup: &'a Popup,
    pub theme: &'a Theme,
}

fn keys<'a>(theme: &Theme, pairs: &[(&'a str, &'a str)]) -> Line<'a> {
    let mut spans = Vec::new();
    for (key, what) in pairs {
        spans.push(Span::styled(*key, theme.key()));
        spans.push(Span::raw(format!(" {what}   ")));
    }
    Line::from(spans)
}

impl Widget for PopupView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = self.theme;
        let (title, mut lines): (String, Vec<Line>) = match self.popup {
            Popup::Unshare(form) => {
                let mut rows: Vec<(bool, String)> = form
                    .types
                    .iter()
                    .map(|(kind, on)| (*on, format!("{kind} namespace")))
                    .collect();
                rows.push((
                    form.map_root_user,
                    "map root to me (new user namespace)".into(),
                ));
                rows.push((
                    form.mount_proc,
                    "mount a /proc of the new pid namespace".into(),
                ));
                let mut lines: Vec<Line> = rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, (on, text))| {
                        let line = Line::raw(format!("[{}] {text}", if on { "x" } else { " " }));
                        highlight(line, i == form.selected, theme)
                    })
                    .collect();
                lines.push(Line::raw(""));
                lines.push(Line::styled(
                    "nstop waits while the shell runs; namespaces it leaves alive are listed after",
                    theme.tone(Tone::Dim),
                ));
                if let Some(own) = &form.own {
                    let new_user_ns = form.map_root_user
                        || form.types.iter().any(|&(k, on)| on && k == NsType::User);
                    lines.push(Line::styled(own.kept(new_user_ns), theme.tone(Tone::Warn)));
                }
                lines.push(keys(
                    theme,
                    &[
                        ("Space", "check"),
                        ("↑↓", "move"),
                        ("Enter", "start the shell"),
                        ("Esc", "cancel"),
                    ],
                ));
                (" A shell in new namespaces ".into(), lines)
            }
            Popup::Limits(form) => {
                let mut grid = Grid::new(&["limit", "now", "usage", "new value"]);
                grid.left = vec![1, 2, 3];
                for (i, f) in form.fields.iter().enumerate() {
                    let cursor = if i == form.selected { "█" } else { "" };
                    grid.rows.push(vec![
                        Cell::new(f.key, Style::default()),
                        Cell::new(f.current.clone(), Style::default()),
                        Cell::new(f.usage.clone(), theme.tone(Tone::Dim)),
                        Cell::new(format!("{}{cursor}", f.input), theme.key()),
                    ]);
                }
                let mut lines = grid.lines(theme.label(), 0);
                for (i, line) in lines.iter_mut().skip(1).enumerate() {
                    *line = highlight(std::mem::take(line), i == form.selected, theme);
                }
                lines.push(Line::raw(""));
                lines.push(Line::styled(
                    "sizes 512M 1.5G max · cpu.max 50% (of one CPU) or \"QUOTA PERIOD\" · empty: unchanged",
                    theme.tone(Tone::Dim),
                ));
                lines.push(keys(
                    theme,
                    &[("↑↓", "field"), ("Enter", "review"), ("Esc", "cancel")],
                ));
                (format!(" Limits of {} ", form.title), lines)
            }
            Popup::Prompt { asks, text } => {
                let (title, label, accepted, enter) = match asks {
                    Asks::MoveTo { pid, .. } => (
                        format!(" Move PID {pid} "),
                        "to cgroup: ",
                        "/path (cgroup2), memory:/path, memory,pids:/path (v1), *:/path (every hierarchy)",
                        "review",
                    ),
                    Asks::JumpTo => (
                        " Jump to ".to_owned(),
                        "time: ",
                        "03:00 or 03:00:30 (UTC, this day), 2026-11-23T03:00:00Z, -10m, +30s",
                        "jump",
                    ),
                };
                (
                    title,
                    vec![
                        Line::from(vec![
                            Span::raw(label),
                            Span::styled(format!("{text}█"), theme.key()),
                        ]),
                        Line::styled(accepted, theme.tone(Tone::Dim)),
                        keys(theme, &[("Enter", enter), ("Esc", "cancel")]),
                    ],
                )
            }
            Popup::Confirm {
                plan,
                request,
                target,
            } => {
                let mut lines = vec![Line::styled("This will:", theme.label())];
                for change in &plan.changes {
                    lines.push(Line::raw(format!("  {change}")));
                }
                for warning in &plan.warnings {
                    lines.push(Line::styled(format!("! {warning}"), theme.tone(Tone::Warn)));
                }
                lines.push(Line::raw(""));
                let mut pairs = vec![("y", "do it"), ("n Esc", "cancel")];
                if matches!(request, Request::Signal { .. }) {
                    pairs.push(("s", "another signal"));
                }
                lines.push(keys(theme, &pairs));
                let title = match request {
                    Request::Signal { pid, signal, .. } => {
                        let target = target.clone().unwrap_or_else(|| format!("PID {pid}"));
                        format!(" Send {} to {target}? ", signal_name(*signal))
                    }
                    _ => format!(" {}? ", plan.action),
                };
                (title, lines)
            }
        };
        let width = area.width.saturating_sub(4).min(110);
        if lines.is_empty() {
            lines.push(Line::raw(""));
        }
        let paragraph = Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(Line::styled(title, theme.label())));
        // As many rows as the lines wrap to within the borders (line_count wraps at the width
        // it is given and adds the block's top and bottom).
        let rows = paragraph.line_count(width.saturating_sub(2)) as u16;
        let height = rows.min(area.height.saturating_sub(2)).max(3);
        let popup = Rect::new(
            area.x + (area.width - width) / 2,
            area.y + (area.height.saturating_sub(height)) / 2,
            width,
            height,
        );
        Clear.render(popup, buf);
        paragraph.render(popup, buf);
    }
}

/// A form's line, in the selection's style when it has the cursor.
fn highlight(line: Line<'static>, selected: bool, theme: &Theme) -> Line<'static> {
    if selected {
        line.style(theme.selected())
    } else {
        line
    }
}
