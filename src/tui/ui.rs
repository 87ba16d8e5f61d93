//! Drawing: a pure function of the App. The layout is its own function so mouse clicks are
//! mapped with the same geometry that was drawn.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use crate::tui::app::{App, InputKind};
use crate::tui::panes::{Scope, Screen, Tone, cgroups, processes};
use crate::tui::widgets::{
    detail::DetailView,
    header::Header,
    help::Help,
    popup::PopupView,
    preamble,
    table::ListView,
    table::{self, fit_path},
};

pub struct Areas {
    pub header: Rect,
    pub tabs: Rect,
    pub title: Rect,
    pub preamble: Rect,
    pub table_head: Rect,
    pub rows: Rect,
    /// Preamble, table head and rows together: where the detail view goes.
    pub body: Rect,
    pub footer: Rect,
}

impl Areas {
    pub fn new(area: Rect, screen: Screen) -> Areas {
        let [header, tabs, title, preamble, table_head, rows, footer] = Layout::vertical([
            Constraint::Length(Header::HEIGHT),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(preamble::height(screen, area.height)),
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(area);
        Areas {
            header,
            tabs,
            title,
            preamble,
            table_head,
            rows,
            body: preamble.union(table_head).union(rows),
            footer,
        }
    }
}

fn tab_label(screen: Screen) -> String {
    format!(" {} {} ", screen.index() + 1, screen.title())
}

/// The screen whose tab covers column `x`.
pub fn tab_at(x: u16) -> Option<Screen> {
    let mut end = 0u16;
    Screen::ALL.into_iter().find(|&screen| {
        end += tab_label(screen).len() as u16 + 1;
        x < end
    })
}

/// Below this the layout cannot hold a header, a table and a footer.
pub const MIN_SIZE: (u16, u16) = (60, 16);

pub fn draw(frame: &mut Frame, app: &App) {
    draw_screen(frame, app);
    scrub(frame.buffer_mut());
}

/// Host text reaches the screen through many widgets; ratatui drops control characters but
/// passes zero-width ones (bidi overrides, marks) on with the cell before. One pass over the
/// finished frame keeps all of them off the terminal.
fn scrub(buf: &mut ratatui::buffer::Buffer) {
    for cell in &mut buf.content {
        if cell.symbol().chars().any(crate::text::unprintable) {
            let kept: String = cell
                .symbol()
                .chars()
                .filter(|&c| !crate::text::unprintable(c))
                .collect();
            cell.set_symbol(if kept.is_empty() { " " } else { &kept });
        }
    }
}

fn draw_screen(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let message = format!(
            "nstop needs a terminal of at least {}×{} (this one is {}×{}); q quits",
            MIN_SIZE.0, MIN_SIZE.1, area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(message).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let areas = Areas::new(area, app.screen);
    let theme = &app.theme;
    frame.render_widget(Header { app }, areas.header);

    let tabs: Vec<Span> = Screen::ALL
        .into_iter()
        .flat_map(|screen| {
            let style = if screen == app.screen {
                theme.selected().patch(theme.label())
            } else {
                theme.label()
            };
            [Span::styled(tab_label(screen), style), Span::raw(" ")]
        })
        .collect();
    frame.render_widget(Line::from(tabs), areas.tabs);
    frame.render_widget(title(app), areas.title);

    let Some(model) = app.model.as_deref() else {
        frame.render_widget(Paragraph::new("Reading /proc and cgroups…"), areas.rows);
        frame.render_widget(footer(app), areas.footer);
        return;
    };
    if let Some(detail) = &app.detail {
        frame.render_widget(DetailView { detail, theme }, areas.body);
    } else {
        preamble::render(app, model, areas.preamble, frame.buffer_mut());
        frame.render_widget(
            ListView {
                list: app.list(),
                model,
                theme,
                search: &app.search,
                head: areas.table_head,
            },
            areas.rows,
        );
    }
    frame.render_widget(footer(app), areas.footer);
    if let Some(popup) = &app.popup {
        frame.render_widget(PopupView { popup, theme }, frame.area());
    }
    if app.help {
        let offset = app.help_offset;
        frame.render_widget(Help { theme, offset }, frame.area());
    }
}

/// The screen, what narrows it, its length and order; or the detail's subject.
fn title(app: &App) -> Line<'static> {
    if let Some(detail) = &app.detail {
        let mut parts = vec![format!(
            "line {} of {}",
            detail.selected + 1,
            detail.page.entries.len()
        )];
        if detail.link().is_some() {
            parts.push("Enter follows →".to_owned());
        }
        parts.push("Esc back".to_owned());
        let rest = format!("  {}", parts.join(" · "));
        let notice = notice(app);
        // The subject's name is cut in the middle to leave room for where the cursor is.
        let room = usize::from(app.size.width).saturating_sub(rest.width() + notice.width());
        let name = fit_path(&detail.page.title, room).into_owned();
        return Line::from(vec![
            Span::styled(name, app.theme.label()),
            notice,
            Span::raw(rest),
        ]);
    }
    let list = app.list();
    let mut text = app.screen.title().to_owned();
    if let Scope::Namespace(ns) = &list.scope {
        text += &format!(" in {}:[{}]", ns.kind, ns.ino);
    } else if let Scope::Kind(kind) = &list.scope {
        text += &format!(" of type {kind}");
    } else if let Scope::Among(_) = &list.scope {
        text += " made in the last shell, still alive";
    } else if let (Scope::Cgroup { hierarchy, path }, Some(model)) = (&list.scope, &app.model) {
        let label = cgroups::hierarchy_label(model, *hierarchy);
        text += &format!(" in {label}:{path} and below");
    }
    let mut parts = vec![
        crate::text::count(list.rows.len(), "row", "rows"),
        // Which hierarchy the CGROUP column is of, where there is a choice (`c`).
        match (app.screen, app.model.as_deref()) {
            (Screen::Processes, Some(model))
                if model.host.hierarchies.len() > 1 && cgroup_shown(app) =>
            {
                processes::shown_hierarchy(&list.view(model)).map_or(String::new(), |h| {
                    format!("CGROUP of {} (c: next)", h.label())
                })
            }
            _ => String::new(),
        },
        format!("sort {}", list.sort_title()),
        if list.tree { "tree" } else { "flat" }.to_owned(),
    ];
    parts.retain(|p| !p.is_empty());
    if !list.filter.is_empty() {
        parts.push(format!("filter \"{}\"", list.filter));
        if let Some(e) = &list.filter_error {
            parts.push(format!("(as text: {e})"));
        }
    }
    if !app.search.is_empty() {
        let found = (app.model.as_deref())
            .is_some_and(|model| list.find(model, &app.search, true, false).is_some());
        let none = if found { "" } else { " (no match)" };
        parts.push(format!("search \"{}\"{none}", app.search));
    }
    if app.can_go_back() || list.scope != Scope::All {
        parts.push("Esc back".to_owned());
    }
    // The notice first: what follows is cut on a narrow terminal.
    Line::from(vec![
        Span::styled(text, app.theme.label()),
        notice(app),
        Span::raw(format!("  {}", parts.join(" · "))),
    ])
}

/// Whether the Processes screen has room for its CGROUP column.
fn cgroup_shown(app: &App) -> bool {
    table::shows(app.list(), app.size.width, processes::cgroup_column())
}

/// A new OOM kill said in the title, else nothing.
fn notice(app: &App) -> Span<'static> {
    match &app.oom_notice {
        Some(notice) => Span::styled(format!("  {}", notice.text), app.theme.tone(Tone::Alert)),
        None => Span::raw(""),
    }
}

fn footer(app: &App) -> Line<'static> {
    let theme = &app.theme;
    if let Some(input) = &app.input {
        let prompt = match input.kind {
            InputKind::Search => "Search: ",
            InputKind::Filter => "Filter: ",
        };
        return Line::from(vec![
            Span::styled(prompt, theme.key()),
            Span::raw(input.text.clone()),
            Span::styled("█", theme.key()),
            Span::raw("   Enter keep · Esc cancel"),
        ]);
    }
    let mut spans = Vec::new();
    let pause = if app.paused { "resume" } else { "pause" };
    let keys: &[(&str, &str)] = if let Some(at) = app.replay {
        // What is shown is the past: said first, then how to move through it.
        spans.push(Span::styled(
            format!(
                "replay {} · frame {} of {}  ",
                crate::model::utc(at.time_ms / 1000),
                at.index + 1,
                at.len
            ),
            theme.tone(Tone::Warn),
        ));
        let play = if app.paused { "play" } else { "stop" };
        &[
            ("?", "help"),
            ("q", "quit"),
            ("[ ]", "step"),
            ("T", "time"),
            ("o", "next OOM"),
            ("p", play),
        ]
    } else if app.detail.is_some() {
        &[
            ("?", "help"),
            ("q", "quit"),
            ("↑↓", "links"),
            ("Enter", "follow"),
            ("Esc", "back"),
            ("P", "PID levels"),
            ("p", pause),
        ]
    } else {
        &[
            ("?", "help"),
            ("q", "quit"),
            ("/", "search"),
            ("\\", "filter"),
            ("Enter", "drill in"),
            ("d", "details"),
            ("p", pause),
        ]
    };
    // `? help` and `q quit` first, then what is missing, so a narrow terminal cuts the
    // other key hints rather than these.
    let (always, others) = keys.split_at(2.min(keys.len()));
    for &(key, what) in always {
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    // What just happened, or went wrong, takes the place of the other hints.
    if let Some((text, tone)) = &app.status {
        let used: usize = spans.iter().map(|s| s.content.width()).sum();
        let room = usize::from(app.size.width).saturating_sub(used);
        spans.push(Span::styled(
            table::fit_sentence(text, room),
            theme.tone(*tone),
        ));
        return Line::from(spans);
    }
    if let Some(error) = &app.error {
        spans.push(Span::styled(
            format!("sampling failed: {error}"),
            theme.tone(Tone::Alert),
        ));
        return Line::from(spans);
    }
    if let Some(model) = app.model.as_deref() {
        let hidden = model.unreadable.processes.len();
        if hidden > 0 {
            let hint = if app.root {
                ""
            } else {
                " (run as root to see them)"
            };
            spans.push(Span::styled(
                format!(
                    "{} unreadable: permission denied{hint}  ",
                    crate::text::count(hidden, "process", "processes")
                ),
                theme.tone(Tone::Warn),
            ));
        }
        // The screens made of cgroups (the others show one path per process at most).
        let of_cgroups = !matches!(app.screen, Screen::Namespaces | Screen::Processes);
        if let Some(notice) = model.host.cgroup_notice().filter(|_| of_cgroups) {
            spans.push(Span::styled(format!("{notice}  "), theme.tone(Tone::Warn)));
        }
    }
    for &(key, what) in others {
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    Line::from(spans)
}
