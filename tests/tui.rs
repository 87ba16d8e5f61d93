//! The TUI on fixture models: key sequences through `App::update` (selection, sort, filter,
//! search, drill-down, back), and insta snapshots of every screen drawn on a `TestBackend`.
//! The fixtures are static trees, so PIDs and inodes are stable and need no masking.

use std::path::Path;

use nstop::collector::{Control, Description, Topic};
use nstop::model::Model;
use nstop::model::isolation::{HostMount, MountWalls, Walls};
use nstop::ops::{Applied, Change, Plan, Request};
use nstop::sys::{self, Collect, Roots};
use nstop::tui::Operator;
use nstop::tui::action::Action;
use nstop::tui::app::App;
use nstop::tui::panes::{RowKey, Scope, Screen};
use nstop::tui::popup::Popup;
use nstop::tui::theme::Theme;
use nstop::tui::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

const V2: &str = "tests/fixtures/cg-v2";
const HOST_NS: &str = "tests/fixtures/host-ns";
const HYBRID: &str = "tests/fixtures/cg-hybrid";
const V1: &str = "tests/fixtures/cg-v1";

fn model(dir: &str) -> Model {
    let sample = sys::sample(&Roots::under(Path::new(dir)), Collect::Everything);
    Model::new(&sample.expect("read fixture"), None)
}

fn app_sized(dir: &str, width: u16, height: u16) -> App {
    let mut app = App::new(Theme { color: false }, Rect::new(0, 0, width, height));
    app.root = true;
    app.update(Action::Collected(Ok(Box::new(model(dir)))));
    app
}

fn app(dir: &str) -> App {
    app_sized(dir, 120, 40)
}

/// The ops layer as the explorer sees it: plans made for real against a fixture tree (nothing
/// there is live), signals planned without pinning (the fixture's PIDs are not running), and
/// every executed plan recorded instead of applied, each write reading back "before".
#[derive(Default)]
struct Recorder {
    requests: Vec<Request>,
    executed: Vec<Plan>,
}

impl Operator for Recorder {
    fn plan(&mut self, request: &Request) -> Result<Plan, String> {
        self.requests.push(request.clone());
        match request {
            Request::Signal {
                pid,
                start_time,
                signal,
            } => Ok(Plan {
                action: format!("kill {pid}"),
                changes: vec![Change::Signal {
                    pid: *pid,
                    start_time: *start_time,
                    signal: *signal,
                }],
                warnings: Vec::new(),
            }),
            request => nstop::ops::plan(request, &Roots::under(Path::new(V2))),
        }
    }

    fn execute(&mut self, plan: &Plan) -> Result<Vec<Applied>, String> {
        self.executed.push(plan.clone());
        Ok(plan
            .changes
            .iter()
            .map(|_| Applied {
                before: Some("before".into()),
                after: None,
            })
            .collect())
    }
}

/// Feeds keys; returns what was meant for the collector. A string is typed key by key;
/// named keys are written `<Enter>`, `<Esc>`, `<Tab>`, `<Down>`, `<PgDn>`, `<Space>`.
fn press(app: &mut App, keys: &str) -> Vec<Control> {
    press_with(app, keys, &mut Recorder::default())
        .into_iter()
        .filter_map(|a| match a {
            Action::Collector(control) => Some(control),
            _ => None,
        })
        .collect()
}

/// `press` with an ops layer; returns what is left for the main loop (collector controls,
/// terminal hand-overs).
fn press_with(app: &mut App, keys: &str, operator: &mut dyn Operator) -> Vec<Action> {
    let mut left = Vec::new();
    let mut rest = keys;
    while !rest.is_empty() {
        let code = if rest.starts_with('<') {
            let end = rest.find('>').expect("closing >");
            let name = &rest[1..end];
            rest = &rest[end + 1..];
            match name {
                "Enter" => KeyCode::Enter,
                "Esc" => KeyCode::Esc,
                "Tab" => KeyCode::Tab,
                "Down" => KeyCode::Down,
                "Up" => KeyCode::Up,
                "PgDn" => KeyCode::PageDown,
                "Space" => KeyCode::Char(' '),
                "F10" => KeyCode::F(10),
                other => panic!("unknown key <{other}>"),
            }
        } else {
            let c = rest.chars().next().unwrap();
            rest = &rest[c.len_utf8()..];
            KeyCode::Char(c)
        };
        let key = Action::Key(KeyEvent::new(code, KeyModifiers::NONE));
        left.extend(nstop::tui::settle(app, key, operator));
    }
    left
}

fn render(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(app.size.width, app.size.height)).unwrap();
    terminal.draw(|frame| ui::draw(frame, app)).unwrap();
    terminal.backend().to_string()
}

fn selected(app: &App) -> RowKey {
    app.list()
        .selected_key(app.model.as_deref().unwrap())
        .expect("a selection")
}

fn selected_pid(app: &App) -> i32 {
    match selected(app) {
        RowKey::Process { pid, .. } => pid,
        other => panic!("not a process: {other:?}"),
    }
}

/// The app shows `screen`'s list, no detail over it.
fn on_list(app: &App, screen: Screen) {
    assert_eq!(app.screen, screen);
    assert!(app.detail.is_none(), "a detail is open");
}

fn listed_pids(app: &App) -> Vec<i32> {
    let model = app.model.as_deref().unwrap();
    app.list()
        .rows
        .iter()
        .map(|r| model.processes[r.item].pid)
        .collect()
}

#[test]
fn moving_the_cursor() {
    let mut app = app(V2);
    assert_eq!(app.screen, Screen::Namespaces);
    assert_eq!(app.list().selected, 0);
    press(&mut app, "jjj");
    assert_eq!(app.list().selected, 3);
    press(&mut app, "k");
    assert_eq!(app.list().selected, 2);
    press(&mut app, "G");
    assert_eq!(app.list().selected, app.list().rows.len() - 1);
    press(&mut app, "g<PgDn>");
    assert_eq!(app.list().selected, app.page());
    // Past the end stays at the end; the screen scrolls to keep the cursor in view.
    press(&mut app, "<PgDn><PgDn><PgDn><PgDn>");
    let list = app.list();
    assert_eq!(list.selected, list.rows.len() - 1);
    assert!(list.offset + app.page() > list.selected && list.offset <= list.selected);
}

/// A key that changes nothing asks for no frame, unless it cleared the status line.
#[test]
fn a_cleared_status_line_is_redrawn() {
    let mut app = app(V2);
    press(&mut app, "z");
    assert!(!app.dirty, "an unbound key changes nothing");
    app.status = Some(("moved 2 processes".into(), nstop::tui::panes::Tone::Plain));
    press(&mut app, "z");
    assert_eq!(app.status, None);
    assert!(app.dirty, "the status line went away");
}

#[test]
fn screens_by_number_and_tab() {
    let mut app = app(V2);
    press(&mut app, "2");
    assert_eq!(app.screen, Screen::Cgroups);
    press(&mut app, "<Tab><Tab>");
    assert_eq!(app.screen, Screen::Pressure);
    press(&mut app, "<Tab><Tab><Tab>");
    assert_eq!(app.screen, Screen::Namespaces);
    press(&mut app, "5");
    assert_eq!(app.screen, Screen::Limits);
    press(&mut app, "6");
    assert_eq!(app.screen, Screen::Oom);
}

#[test]
fn sort_by_column_and_invert() {
    let mut app = app(V2);
    press(&mut app, "3");
    // Processes start by CPU % (unknown without a second sample), so PID order.
    let pids = listed_pids(&app);
    assert!(pids.windows(2).all(|w| w[0] < w[1]), "{pids:?}");
    // s: RSS, largest first.
    press(&mut app, "s");
    let model = app.model.as_deref().unwrap();
    let rss: Vec<u64> = app
        .list()
        .rows
        .iter()
        .map(|r| model.processes[r.item].rss_bytes)
        .collect();
    assert!(rss.windows(2).all(|w| w[0] >= w[1]), "{rss:?}");
    press(&mut app, "S");
    let model = app.model.as_deref().unwrap();
    let rss: Vec<u64> = app
        .list()
        .rows
        .iter()
        .map(|r| model.processes[r.item].rss_bytes)
        .collect();
    assert!(rss.windows(2).all(|w| w[0] <= w[1]), "{rss:?}");
    assert!(!app.list().descending);
}

#[test]
fn filter_narrows_and_esc_restores() {
    let mut app = app(V2);
    press(&mut app, "3\\nginx");
    let pids = listed_pids(&app);
    assert_eq!(pids, vec![2231, 2290], "nginx master and worker");
    press(&mut app, "<Enter>");
    assert!(app.input.is_none());
    assert_eq!(app.list().filter, "nginx");
    assert_eq!(listed_pids(&app), vec![2231, 2290]);
    // Esc with nowhere to go back to clears the filter.
    press(&mut app, "<Esc>");
    assert!(app.list().filter.is_empty());
    assert!(listed_pids(&app).len() > 20);
    // Esc while typing puts back what was there.
    press(&mut app, "\\redis<Esc>");
    assert!(app.list().filter.is_empty());
    assert!(listed_pids(&app).len() > 20);
}

/// `\\` takes the expressions of `nstop ns --filter` on the screen's own columns; text that
/// does not compare keeps matching any column.
#[test]
fn filter_takes_an_expression_on_the_screen_columns() {
    let mut app = app(V2);
    press(
        &mut app,
        "3\\PID >= 2231 && not (PID > 2290) && COMMAND =~ \"nginx\"<Enter>",
    );
    assert_eq!(listed_pids(&app), vec![2231, 2290]);
    press(
        &mut app,
        "<Esc>\\USER == \"root\" and not (PID >= 2290)<Enter>",
    );
    let pids = listed_pids(&app);
    assert!(
        !pids.is_empty() && pids.iter().all(|&p| p < 2290),
        "{pids:?}"
    );
    for pid in &pids {
        let user = app
            .model
            .as_ref()
            .unwrap()
            .process(*pid)
            .unwrap()
            .user
            .clone();
        assert_eq!(user.as_deref(), Some("root"), "PID {pid}");
    }
    // (`<` would start a named key here.) Not an expression on these columns: matched as
    // text, and the title says why.
    press(&mut app, "<Esc>\\NPROCS > 1<Enter>");
    assert!(listed_pids(&app).is_empty());
    assert!(render(&app).contains("as text: column 1: unknown column NPROCS"));
    press(&mut app, "<Esc>1\\NPROCS > 1 && TYPE == \"net\"<Enter>");
    let model = app.model.clone().unwrap();
    let want: Vec<u64> = model
        .namespaces
        .iter()
        .filter(|n| n.kind == NsType::Net && n.nprocs() > 1)
        .map(|n| n.ns)
        .collect();
    assert!(!want.is_empty());
    let listed: Vec<u64> = app
        .list()
        .rows
        .iter()
        .map(|r| model.namespaces[r.item].ns)
        .collect();
    assert_eq!(listed, want);
}

#[test]
fn search_jumps_to_matches_forwards_and_back() {
    let mut app = app(V2);
    press(&mut app, "3/httpd");
    assert_eq!(selected_pid(&app), 3320, "first httpd");
    press(&mut app, "<Enter>n");
    assert_eq!(selected_pid(&app), 4012, "second httpd");
    press(&mut app, "n");
    assert_eq!(selected_pid(&app), 3320, "wraps around");
    press(&mut app, "N");
    assert_eq!(selected_pid(&app), 4012, "backwards wraps too");
    // Search does not hide rows.
    assert!(listed_pids(&app).len() > 20);
}

#[test]
fn search_finds_a_namespace_by_inode() {
    let mut app = app(V2);
    press(&mut app, "/4026532697<Enter>");
    let RowKey::Namespace(ns) = selected(&app) else {
        panic!("namespace row");
    };
    assert_eq!((ns.ino, ns.kind.name()), (4026532697, "uts"));
    let page = app.page();
    let list = app.list();
    assert!(list.selected >= list.offset && list.selected < list.offset + page);
    assert!(render(&app).contains("4026532697"));
}

#[test]
fn drill_into_a_namespace_and_back() {
    let mut app = app(V2);
    press(&mut app, "/4026532410<Enter>");
    let before = app.list().selected;
    press(&mut app, "<Enter>");
    assert_eq!(app.screen, Screen::Processes);
    assert!(matches!(app.list().scope, Scope::Namespace(ns) if ns.ino == 4026532410));
    assert_eq!(listed_pids(&app), vec![2231, 2290]);
    assert!(render(&app).contains("Processes in net:[4026532410]"));
    press(&mut app, "<Esc>");
    assert_eq!(app.screen, Screen::Namespaces);
    assert_eq!(app.list().selected, before);
    // The processes screen is whole again.
    assert_eq!(app.list_of(Screen::Processes).scope, Scope::All);
}

#[test]
fn from_cgroup_to_processes_to_cgroup_and_back() {
    let mut app = app(V2);
    press(&mut app, "2/docker 1e2e<Enter>");
    let docker = selected(&app);
    assert!(matches!(&docker, RowKey::Cgroup { path, .. } if path.contains("docker-1e2e")));
    press(&mut app, "<Enter>");
    assert_eq!(app.screen, Screen::Processes);
    assert_eq!(listed_pids(&app), vec![2231, 2290]);
    press(&mut app, "j<Enter>");
    assert_eq!(app.screen, Screen::Cgroups);
    assert_eq!(selected(&app), docker, "a process leads to its cgroup");
    press(&mut app, "<Esc>");
    assert_eq!(app.screen, Screen::Processes);
    assert_eq!(selected_pid(&app), 2290);
    press(&mut app, "<Esc>");
    assert_eq!(app.screen, Screen::Cgroups);
    assert_eq!(selected(&app), docker);
}

#[test]
fn a_cgroup_hidden_by_folding_is_revealed() {
    let mut app = app(V2);
    press(&mut app, "2");
    let all = app.list().rows.len();
    // Fold the root: one row left; Space again unfolds.
    press(&mut app, "<Space>");
    assert_eq!(app.list().rows.len(), 1);
    press(&mut app, "<Space>");
    assert_eq!(app.list().rows.len(), all);
    press(&mut app, "<Space>3/redis<Enter><Enter>");
    assert_eq!(app.screen, Screen::Cgroups);
    assert!(
        matches!(selected(&app), RowKey::Cgroup { path, .. } if path.contains("docker") || path.contains("libpod") || path.contains("containerd"))
    );
    assert!(app.list().rows.len() > 1, "its ancestors unfolded");
}

#[test]
fn tree_and_flat() {
    let mut app = app(V2);
    press(&mut app, "3t");
    assert!(app.list().tree);
    let model = app.model.as_deref().unwrap();
    let rows = &app.list().rows;
    // init first, every child right under an ancestor with a smaller depth.
    assert_eq!(model.processes[rows[0].item].pid, 1);
    for (i, row) in rows.iter().enumerate().skip(1) {
        let parent = model.processes[row.item].ppid;
        let above = rows[..i]
            .iter()
            .rev()
            .find(|r| r.depth < row.depth)
            .map(|r| model.processes[r.item].pid);
        if row.depth > 0 {
            assert_eq!(above, Some(parent), "row {i}");
        }
    }
    let count = rows.len();
    press(&mut app, "t");
    assert!(count == app.list().rows.len() && !app.list().tree);
}

#[test]
fn pause_and_refresh_go_to_the_collector() {
    let mut app = app(V2);
    assert_eq!(press(&mut app, "p"), vec![Control::Pause(true)]);
    assert!(app.paused);
    assert!(render(&app).contains("PAUSED"));
    assert_eq!(press(&mut app, "p"), vec![Control::Pause(false)]);
    assert_eq!(press(&mut app, "r"), vec![Control::RefreshNow]);
}

#[test]
fn a_new_model_keeps_the_selection_on_the_same_item() {
    let mut app = app(V2);
    press(&mut app, "3/redis<Enter>");
    let pid = selected_pid(&app);
    let mut next = model(V2);
    // A process before it exits: the cursor follows redis, not the row number.
    next.processes.retain(|p| p.pid != 1);
    app.update(Action::Collected(Ok(Box::new(next))));
    assert_eq!(selected_pid(&app), pid);
    app.update(Action::Collected(Err("reading /proc: gone".into())));
    assert!(render(&app).contains("sampling failed: reading /proc: gone"));
    assert_eq!(selected_pid(&app), pid, "the last model stays");
}

#[test]
fn help_lists_every_key_and_any_key_closes_it() {
    // Tall enough for every key at once (40 rows scroll the last ones).
    let mut app = app_sized(V2, 120, 56);
    press(&mut app, "?");
    assert!(app.help);
    let screen = render(&app);
    for binding in nstop::tui::keymap::BINDINGS {
        assert!(screen.contains(binding.help), "{}", binding.help);
    }
    // q closes the help, it does not quit.
    press(&mut app, "q");
    assert!(!app.help && !app.quit);
    press(&mut app, "<F10>");
    assert!(app.quit);
    // Ctrl-C quits even with the help or a search open.
    for open in ["?", "/sea"] {
        let mut fresh = self::app(V2);
        press(&mut fresh, open);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let next = fresh.update(Action::Key(ctrl_c)).expect("a command");
        fresh.update(next);
        assert!(fresh.quit, "{open}");
    }
}

#[test]
fn a_v1_cgroup_under_oom_is_marked_wherever_it_is_listed() {
    let mut model = model(V1);
    let c = model
        .cgroups
        .iter_mut()
        .find(|c| c.path.starts_with("/docker/1d08") && c.memory.is_some())
        .expect("the docker memory cgroup");
    c.memory.as_mut().unwrap().under_oom = Some(true);
    let mut app = App::new(Theme { color: false }, Rect::new(0, 0, 120, 40));
    app.update(Action::Collected(Ok(Box::new(model))));
    press(&mut app, "5");
    let oom = render(&app);
    assert!(
        oom.contains("[under OOM] [OOM×1] docker 1d08f128163c  memory:/docker/1d08"),
        "{oom}"
    );
    press(&mut app, "2/under oom<Enter>");
    let tree = render(&app);
    assert!(tree.contains("[under OOM] [OOM×1] docker 1d08f"), "{tree}");
}

fn mouse(kind: MouseEventKind, column: u16, row: u16) -> Action {
    Action::Mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

#[test]
fn mouse_selects_scrolls_and_switches_tabs() {
    let mut app = app(V2);
    let rows = ui::Areas::new(app.size, app.screen).rows;
    app.update(mouse(
        MouseEventKind::Down(MouseButton::Left),
        5,
        rows.y + 4,
    ));
    assert_eq!(app.list().selected, 4);
    app.update(mouse(MouseEventKind::ScrollDown, 5, rows.y));
    assert_eq!(app.list().selected, 7);
    app.update(mouse(MouseEventKind::ScrollUp, 5, rows.y));
    assert_eq!(app.list().selected, 4);
    // Tabs are " 1 Namespaces " and a space (columns 0-14), then " 2 Cgroups " from 15.
    let tabs = ui::Areas::new(app.size, app.screen).tabs;
    app.update(mouse(MouseEventKind::Down(MouseButton::Left), 14, tabs.y));
    assert_eq!(app.screen, Screen::Namespaces);
    app.update(mouse(MouseEventKind::Down(MouseButton::Left), 15, tabs.y));
    assert_eq!(app.screen, Screen::Cgroups);
    // Not while a filter is being typed: it belongs to this screen.
    press(&mut app, "\\sys");
    app.update(mouse(MouseEventKind::Down(MouseButton::Left), 0, tabs.y));
    assert_eq!(app.screen, Screen::Cgroups);
    press(&mut app, "<Esc>");
    // Motion changes nothing and asks for no redraw.
    app.update(mouse(MouseEventKind::Moved, 1, 1));
    assert!(!app.dirty);
}

#[test]
fn resize_changes_the_page() {
    let mut app = app(V2);
    let tall = app.page();
    app.update(Action::Resize(80, 24));
    assert_eq!(app.page(), tall - 16);
}

#[test]
fn any_terminal_size_draws_without_panicking() {
    for dir in [V2, HOST_NS] {
        let mut app = app(dir);
        for screen in ["1", "2", "3", "4", "5", "6"] {
            press(&mut app, screen);
            for help in [false, true] {
                app.help = help;
                // Around the minimum (60×16) and each layout boundary, and common sizes.
                for height in [0, 1, 2, 5, 13, 15, 16, 17, 24, 40] {
                    for width in [0, 1, 10, 59, 60, 61, 80, 120] {
                        app.update(Action::Resize(width, height));
                        let backend = TestBackend::new(width, height);
                        let mut terminal = Terminal::new(backend).unwrap();
                        terminal.draw(|frame| ui::draw(frame, &app)).unwrap();
                    }
                }
            }
        }
    }
    // Detail pages (with charts), the PID-namespace view and every popup, at every size.
    let sizes = [
        (0, 0),
        (1, 1),
        (59, 15),
        (60, 16),
        (61, 21),
        (80, 22),
        (80, 24),
        (120, 40),
    ];
    let draw_all = |app: &mut App, what: &str| {
        for (width, height) in sizes {
            app.update(Action::Resize(width, height));
            let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
            terminal
                .draw(|frame| ui::draw(frame, app))
                .unwrap_or_else(|e| panic!("{what} at {width}×{height}: {e}"));
        }
        app.update(Action::Resize(120, 40));
    };
    let mut ops = Recorder::default();
    let mut v2 = App::new(Theme { color: true }, Rect::new(0, 0, 120, 40));
    v2.update(Action::Collected(Ok(Box::new(with_a_kill(model(V2))))));
    for (keys, what) in [
        ("2/docker 1e2e<Enter>d", "cgroup detail"),
        ("e", "limits form"),
        ("256M<Enter>", "confirmation"),
        ("n3/nginx<Enter>d", "process detail"),
        ("m", "move prompt"),
        ("<Esc>U", "unshare dialog"),
        ("<Esc>6d", "OOM diagnosis"),
    ] {
        press_with(&mut v2, keys, &mut ops);
        draw_all(&mut v2, what);
    }
    let mut host = app(HOST_NS);
    for (keys, what) in [
        ("3/sleep 600<Enter>P", "PID-namespace view"),
        ("<Esc>1/4026541646<Enter>d", "namespace detail"),
    ] {
        press(&mut host, keys);
        draw_all(&mut host, what);
    }
    let mut app = app(V2);
    app.update(Action::Resize(40, 10));
    assert!(render(&app).contains("needs a terminal of at least 60×16"));
}

fn snapshot(name: &str, app: &App) {
    insta::assert_snapshot!(name, render(app));
}

#[test]
fn screens_render() {
    let mut app = app(V2);
    snapshot("namespaces", &app);
    press(&mut app, "t");
    snapshot("namespaces_tree", &app);
    press(&mut app, "t");
    press(&mut app, "2");
    snapshot("cgroups_tree", &app);
    press(&mut app, "tssss");
    snapshot("cgroups_flat_by_memory", &app);
    press(&mut app, "3");
    snapshot("processes", &app);
    press(&mut app, "t");
    snapshot("processes_tree", &app);
    press(&mut app, "4");
    snapshot("pressure", &app);
    press(&mut app, "5");
    snapshot("limits", &app);
    press(&mut app, "6");
    snapshot("oom_empty", &app);
    press(&mut app, "1/4026532410<Enter><Enter>");
    snapshot("processes_in_a_namespace", &app);
}

#[test]
fn small_terminal_and_help() {
    let mut app = app_sized(V2, 80, 24);
    press(&mut app, "2");
    snapshot("cgroups_80x24", &app);
    press(&mut app, "?");
    snapshot("help_80x24", &app);
    // Taller than 24 rows: it scrolls, and every key can be read (issue 21: u, U and Ctrl-U
    // were cut off).
    let mut seen = render(&app);
    for _ in 0..nstop::tui::keymap::BINDINGS.len() {
        press(&mut app, "<Down>");
        assert!(app.help, "arrows scroll, they do not close it");
        seen += &render(&app);
    }
    for binding in nstop::tui::keymap::BINDINGS {
        assert!(seen.contains(binding.help), "{} never shown", binding.help);
    }
    assert!(seen.contains("clear the search or filter being typed"));
    press(&mut app, "x");
    assert!(!app.help, "another key closes it");
}

#[test]
fn namespaces_without_processes_name_their_holder() {
    let app = app(HOST_NS);
    let screen = render(&app);
    assert!(screen.contains("[held by "), "{screen}");
    snapshot("namespaces_held", &app);
}

#[test]
fn hybrid_host_lists_every_hierarchy_cgroup2_first() {
    let mut app = app(HYBRID);
    press(&mut app, "2");
    let screen = render(&app);
    assert!(screen.contains("cgroup hybrid"));
    let first = screen.find("cgroup2 /").expect("cgroup2 listed");
    assert!(first < screen.find("memory /").expect("memory listed"));
    snapshot("cgroups_hybrid", &app);
}

#[test]
fn v1_hierarchies_that_only_repeat_membership_start_folded() {
    let mut app = app(V1);
    press(&mut app, "2");
    let screen = render(&app);
    assert!(screen.contains("cgroup v1"));
    assert!(screen.contains("▾ memory /"), "{screen}");
    // Listed after the hierarchies with values.
    press(&mut app, "G");
    let screen = render(&app);
    for folded in ["devices /", "systemd /", "cpuset /"] {
        assert!(
            screen.contains(&format!("▸ {folded}")),
            "{folded}: {screen}"
        );
    }
    // Search finds a root by its name in the tree; unfolding it shows its children.
    press(&mut app, "g/cpuset /<Enter>");
    let RowKey::Cgroup { path, .. } = selected(&app) else {
        panic!("a cgroup");
    };
    assert_eq!(path, "/");
    press(&mut app, "/devices /<Enter>+");
    let screen = render(&app);
    assert!(screen.contains("▾ devices /"), "{screen}");
}

// Detail views, the teaching view, joins through links and the back stack.

use nstop::model::sample::{ClockOffset, IdMap, Interface, NsDetail, NsRef, NsType};
use nstop::tui::detail::{Link, Subject};

fn detail_title(app: &App) -> String {
    app.detail
        .as_ref()
        .expect("a detail is open")
        .page
        .title
        .clone()
}

/// Every line of the open detail's page, not only those on screen.
fn page_text(app: &App) -> String {
    let detail = app.detail.as_ref().expect("a detail is open");
    let lines: Vec<String> = detail
        .page
        .entries
        .iter()
        .map(|e| e.line.to_string())
        .collect();
    lines.join("\n")
}

/// Moves the detail's cursor to the first link whose line contains `text`.
fn select_link(app: &mut App, text: &str) {
    let detail = app.detail.as_mut().expect("a detail is open");
    let line = detail
        .page
        .entries
        .iter()
        .position(|e| e.link.is_some() && e.line.to_string().contains(text))
        .unwrap_or_else(|| panic!("no link with {text:?}"));
    detail.selected = line;
}

#[test]
fn details_of_each_namespace_kind() {
    let net = NsDetail::Net {
        interfaces: vec![
            Interface {
                index: 1,
                name: "lo".into(),
                up: true,
                state: "UNKNOWN".into(),
                mtu: Some(65536),
                mac: None,
                addresses: vec!["127.0.0.1/8".into(), "::1/128".into()],
            },
            Interface {
                index: 4,
                name: "eth0".into(),
                up: false,
                state: "DOWN".into(),
                mtu: Some(1500),
                mac: Some("02:42:ac:11:00:02".into()),
                addresses: vec![],
            },
        ],
    };
    let cases = [
        ("net", 4026541646, Some(net)),
        (
            "user",
            4026541786,
            Some(NsDetail::User {
                uid_map: vec![IdMap {
                    inside: 0,
                    outside: 65534,
                    count: 1,
                }],
                gid_map: vec![],
                setgroups: Some("allow".into()),
                seen_from: Some(4026531837),
            }),
        ),
        (
            "uts",
            4026541784,
            Some(NsDetail::Uts {
                hostname: "class-demo".into(),
                domainname: "(none)".into(),
            }),
        ),
        (
            "time",
            4026541785,
            Some(NsDetail::Time {
                monotonic: ClockOffset {
                    seconds: 86400,
                    nanoseconds: 0,
                },
                boottime: ClockOffset::default(),
            }),
        ),
        (
            "mnt",
            4026531832,
            Some(NsDetail::Mnt {
                root_source: "/dev/vda".into(),
                root_fstype: "ext4".into(),
                root: "/".into(),
                mounts: 42,
            }),
        ),
        ("pid", 4026541644, None),
        ("ipc", 4026531839, None),
    ];
    for (kind, ino, inside) in cases {
        let mut app = app(HOST_NS);
        let ns = NsRef {
            kind: kind.parse().unwrap(),
            ino,
        };
        let controls = press(&mut app, &format!("/{ino}<Enter>d"));
        assert_eq!(detail_title(&app), format!("{kind}:[{ino}]"));
        // The collector is asked to look inside where there is something to read.
        let wants = inside.is_some().then_some(ns);
        assert_eq!(
            controls.last().cloned(),
            wants.map(|ns| Control::Describe(Some(Topic::Namespace(ns))))
        );
        if let Some(inside) = inside {
            assert!(render(&app).contains("reading…"));
            app.update(Action::Described(
                Topic::Namespace(ns),
                Description::Inside(Ok(inside)),
            ));
        }
        snapshot(&format!("detail_{kind}"), &app);
        // Esc closes it and tells the collector to stop reading.
        let controls = press(&mut app, "<Esc>");
        assert!(app.detail.is_none());
        assert_eq!(controls.is_empty(), wants.is_none());
    }
}

#[test]
fn a_refused_look_inside_is_said_plainly() {
    let mut app = app(HOST_NS);
    press(&mut app, "/4026541784<Enter>d");
    let uts = NsRef {
        kind: NsType::Uts,
        ino: 4026541784,
    };
    app.update(Action::Described(
        Topic::Namespace(uts),
        Description::Inside(Err(
            "uts:[4026541784] can no longer be opened (gone, or permission denied)".into(),
        )),
    ));
    assert!(render(&app).contains("could not look inside: uts:[4026541784] can no longer"));
    // A late answer about another namespace is ignored.
    let other = NsRef {
        kind: NsType::Uts,
        ino: 1,
    };
    app.update(Action::Described(
        Topic::Namespace(other),
        Description::Inside(Ok(NsDetail::Ipc)),
    ));
    assert!(render(&app).contains("could not look inside"));
}

/// The Processes screen with the host-ns fixture's innermost sleep (PID 17162, 3 levels down)
/// selected: of its two sleeps, the nested one.
fn select_nested_sleep(app: &mut App) {
    press(app, "3/sleep 600<Enter>");
    while selected_pid(app) != 17162 {
        press(app, "n");
    }
}

#[test]
fn process_detail_joins_its_namespaces_and_cgroups() {
    let mut app = app(HOST_NS);
    select_nested_sleep(&mut app);
    let controls = press(&mut app, "d");
    assert_eq!(detail_title(&app), "PID 17162 sleep");
    // The page asks the collector for the walls around it, and says so until they come.
    assert_eq!(controls, [Control::Describe(Some(Topic::Process(17162)))]);
    let page = page_text(&app);
    assert!(page.contains("reading mounts and devices…"), "{page}");
    let walls = Walls {
        mounts: Some(MountWalls {
            host: Vec::new(),
            writable_sysctls: Some("/proc/sys".into()),
        }),
        devices_list: Some("a *:* rwm\n".into()),
        device_programs: None,
    };
    app.update(Action::Described(
        Topic::Process(17162),
        Description::Walls(Ok(walls)),
    ));
    let page = page_text(&app);
    for said in [
        "ALERT every device is allowed",
        "ALERT can write sysctls at /proc/sys as the host's root",
    ] {
        assert!(page.contains(said), "{said} in {page}");
    }
    assert!(!page.contains("reading mounts"), "{page}");
    let screen = render(&app);
    assert!(screen.contains(
        "host PID 17162 = PID 3 in pid:[4026541643] = PID 2 in pid:[4026541644] = PID 1 in pid:[4026541645]"
    ));
    snapshot("detail_process", &app);
    // To its pid namespace, to that namespace's parent, then back twice.
    select_link(&mut app, "pid:[4026541645]");
    press(&mut app, "<Enter>");
    assert_eq!(detail_title(&app), "pid:[4026541645]");
    select_link(&mut app, "pid:[4026541644]");
    press(&mut app, "<Enter>");
    assert_eq!(detail_title(&app), "pid:[4026541644]");
    press(&mut app, "<Esc>");
    assert_eq!(detail_title(&app), "pid:[4026541645]");
    press(&mut app, "<Esc>");
    assert_eq!(detail_title(&app), "PID 17162 sleep");
    let detail = app.detail.as_ref().unwrap();
    assert!(
        detail.link().unwrap()
            == &Link::Open(Subject::Namespace(NsRef {
                kind: NsType::Pid,
                ino: 4026541645
            })),
        "the cursor is back on the link it followed"
    );
    press(&mut app, "<Esc>");
    assert!(app.detail.is_none());
    assert_eq!(app.screen, Screen::Processes);
    assert_eq!(selected_pid(&app), 17162);
}

#[test]
fn teaching_view_shows_every_pid_at_every_level() {
    let mut app = app(HOST_NS);
    select_nested_sleep(&mut app);
    press(&mut app, "P");
    assert_eq!(detail_title(&app), "PID namespaces: pid:[4026541645]");
    let screen = render(&app);
    for line in [
        "17156  unshare",
        "17158 › 1  unshare",
        "17159 › 2 › 1  unshare",
        "17162 › 3 › 2 › 1  sleep 600  ◀",
    ] {
        assert!(screen.contains(line), "{line}\n{screen}");
    }
    snapshot("pid_tree_from_a_process", &app);
    // From the host's pid namespace: the whole nesting, each level indented.
    press(&mut app, "<Esc>1/4026531836<Enter>P");
    assert_eq!(detail_title(&app), "PID namespaces: pid:[4026531836]");
    snapshot("pid_tree_of_the_host", &app);
}

/// The teaching view lists a namespace's processes by their PIDs in it, its init first,
/// whatever their host PIDs.
#[test]
fn the_teaching_view_lists_a_namespace_by_the_pids_inside_it() {
    let mut m = model(HOST_NS);
    let init = m.process(17158).expect("level 1's init").clone();
    let mut later = init.clone();
    (later.pid, later.ppid, later.nspid) = (17100, 17158, vec![17100, 5]);
    later.command = "sleep 5".into();
    m.processes.push(later);
    m.processes.sort_by_key(|p| p.pid);
    let mut app = App::new(Theme { color: false }, Rect::new(0, 0, 120, 40));
    app.update(Action::Collected(Ok(Box::new(m))));
    press(&mut app, "1/4026541643<Enter>P");
    let page = page_text(&app);
    let init = page.find("17158 › 1").expect("the init");
    let later = page.find("17100 › 5").expect("the later process");
    assert!(init < later, "{page}");
}

/// At 80 columns the sentence of a PID's levels wraps between its phrases, each whole, in
/// the teaching view and the process's detail; a path too wide for a field is cut in the
/// middle, keeping its leaf.
#[test]
fn at_80_columns_pages_wrap_and_cut_paths_in_the_middle() {
    let mut app = app_sized(HOST_NS, 80, 24);
    select_nested_sleep(&mut app);
    for key in ["P", "<Esc>d"] {
        press(&mut app, key);
        let page = page_text(&app);
        let phrases = [
            "host PID 17162",
            "= PID 3 in pid:[4026541643]",
            "= PID 2 in pid:[4026541644]",
            "= PID 1 in pid:[4026541645]",
        ];
        for phrase in phrases {
            assert!(page.contains(phrase), "{phrase} in\n{page}");
        }
        let sentence = page.lines().filter(|l| l.contains("= PID"));
        assert!(sentence.clone().count() > 1, "{page}");
        assert!(sentence.clone().all(|l| l.chars().count() <= 80), "{page}");
    }
    snapshot("detail_process_80x24", &app);
    let mut app = app_sized(V2, 80, 24);
    press(&mut app, "2/docker-1e2e<Enter>d");
    let page = page_text(&app);
    // The leaf stays whole wherever the path is cut.
    let leaf = "docker-1e2e793e926d876fdfe63d8e43ecd7f65a38337bc950184e93c1fd67820e63ac.scope";
    assert!(!page.contains(&format!("/system.slice/{leaf}")), "{page}");
    // The pressure grid: each column's title ends where its values end.
    let lines: Vec<&str> = page.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.contains("some 10s"))
        .expect("a pressure grid");
    let title_end = lines[head].find("some 10s").unwrap() + "some 10s".len();
    let cpu = lines[head + 1];
    assert!(cpu.trim_start().starts_with("cpu"), "{page}");
    let value = cpu[..title_end].trim_end();
    assert_eq!(
        value.len(),
        title_end,
        "a value ends under its title:\n{}\n{cpu}",
        lines[head]
    );
    press(&mut app, "G");
    snapshot("detail_cgroup_80x24_end", &app);
}

#[test]
fn links_lead_to_lists_and_esc_comes_back_to_the_detail() {
    let mut app = app(V2);
    press(&mut app, "/4026532410<Enter>d");
    select_link(&mut app, "(list them)");
    press(&mut app, "<Enter>");
    assert!(app.detail.is_none());
    assert_eq!(app.screen, Screen::Processes);
    assert_eq!(listed_pids(&app), vec![2231, 2290]);
    // From a listed process to its details, then to its cgroup.
    press(&mut app, "d");
    assert_eq!(detail_title(&app), "PID 2231 nginx");
    select_link(&mut app, "docker-1e2e");
    press(&mut app, "<Enter>");
    assert!(detail_title(&app).contains("docker-1e2e"));
    // The cgroup lists its processes' namespaces: the way back to the one we started from.
    assert!(page_text(&app).contains("net:[4026532410]"));
    press(&mut app, "<Esc><Esc><Esc>");
    assert_eq!(detail_title(&app), "net:[4026532410]");
    press(&mut app, "<Esc>");
    assert_eq!(app.screen, Screen::Namespaces);
    assert_eq!(app.list_of(Screen::Processes).scope, Scope::All);
}

#[test]
fn cgroup_detail_charts_its_history() {
    let mut app = app(V2);
    let base = model(V2);
    let docker = base
        .cgroups
        .iter()
        .position(|c| c.path.contains("docker-1e2e"))
        .unwrap();
    // Ten samples a second apart, memory climbing towards the limit, pressure rising.
    for t in 0..10u64 {
        let mut m = model(V2);
        m.host.system.as_mut().unwrap().uptime_secs = Some(1000.0 + t as f64);
        let memory = m.cgroups[docker].memory.as_mut().unwrap();
        memory.current = Some((100 + 40 * t) << 20);
        memory.percent_of_max = None;
        let pressure = m.cgroups[docker].pressure.as_mut().unwrap();
        pressure
            .memory
            .as_mut()
            .unwrap()
            .some
            .as_mut()
            .unwrap()
            .avg10 = t as f64 * 5.0;
        app.update(Action::Collected(Ok(Box::new(m))));
    }
    let controls = press(&mut app, "2/docker 1e2e<Enter>d");
    let topic = Topic::Cgroup {
        hierarchy: 0,
        path: DOCKER.into(),
        walls: true,
    };
    assert_eq!(controls, [Control::Describe(Some(topic.clone()))]);
    let page = page_text(&app);
    assert!(page.contains("reading mounts and devices…"), "{page}");
    // The collector's oom_score readings rank who would die next; the walls it read say
    // what the container sees of the host.
    let host_root = HostMount {
        host_path: "/".into(),
        at: "/host".into(),
        writable: true,
        fstype: "ext4".into(),
    };
    let walls = Walls {
        mounts: Some(MountWalls {
            host: vec![host_root],
            writable_sysctls: None,
        }),
        devices_list: None,
        device_programs: Some(1),
    };
    app.update(Action::Described(
        topic,
        Description::Cgroup {
            oom_scores: vec![(2290, 310), (2231, 667)],
            walls: Ok(walls),
        },
    ));
    let page = page_text(&app);
    assert!(!page.contains("reading mounts"), "{page}");
    assert!(
        page.contains("ALERT the host's / is mounted writable at /host"),
        "{page}"
    );
    let first = page.find("oom_score 667").expect("ranked");
    assert!(first < page.find("oom_score 310").unwrap(), "{page}");
    assert!(page.contains("PID 2231  nginx"), "{page}");
    let screen = render(&app);
    assert!(screen.contains("memory "), "{screen}");
    assert!(screen.contains("pressure"), "{screen}");
    snapshot("detail_cgroup", &app);
}

#[test]
fn namespaces_one_type_at_a_time() {
    let mut app = app(HOST_NS);
    press(&mut app, "t");
    let mut seen = Vec::new();
    for _ in 0..NsType::ALL.len() {
        press(&mut app, "y");
        let Scope::Kind(kind) = app.list().scope else {
            panic!("a type is shown")
        };
        let model = app.model.as_deref().unwrap();
        assert!(
            app.list()
                .rows
                .iter()
                .filter(|r| !r.context)
                .all(|r| model.namespaces[r.item].kind == kind)
        );
        seen.push(kind);
        if kind == NsType::Pid {
            snapshot("namespaces_pid_tree", &app);
        }
    }
    // The teaching types first (issue 21), then the rest; each once.
    assert_eq!(seen[..2], [NsType::Pid, NsType::User]);
    let mut all = seen.clone();
    all.sort();
    let mut expected = NsType::ALL.to_vec();
    expected.sort();
    assert_eq!(all, expected);
    press(&mut app, "y");
    assert_eq!(app.list().scope, Scope::All);
}

#[test]
fn mouse_in_a_detail_and_a_tab_click_that_leaves_it() {
    let mut app = app(HOST_NS);
    press(&mut app, "/4026531836<Enter>d");
    // The detail's lines start right under the title (no charts on a namespace page).
    let body = ui::Areas::new(app.size, app.screen).body;
    let line = |app: &App| app.detail.as_ref().unwrap().selected;
    app.update(mouse(
        MouseEventKind::Down(MouseButton::Left),
        5,
        body.y + 2,
    ));
    assert_eq!(line(&app), 2);
    let text = app.detail.as_ref().unwrap().page.entries[2]
        .line
        .to_string();
    assert!(
        render(&app)
            .lines()
            .nth(usize::from(body.y) + 2)
            .unwrap()
            .contains(text.trim())
    );
    app.update(mouse(MouseEventKind::ScrollDown, 5, body.y));
    assert_eq!(line(&app), 5);
    // A click on another tab leaves the detail for a new start there, as its key does.
    let tabs = ui::Areas::new(app.size, app.screen).tabs;
    app.update(mouse(MouseEventKind::Down(MouseButton::Left), 15, tabs.y));
    on_list(&app, Screen::Cgroups);
    press(&mut app, "<Esc>");
    on_list(&app, Screen::Cgroups);
}

#[test]
fn the_cursor_stays_on_its_link_when_lines_come_and_go() {
    let mut app = app(HOST_NS);
    press(&mut app, "/4026531836<Enter>d");
    select_link(&mut app, "PID 17255");
    let before = app.detail.as_ref().unwrap().link().cloned();
    // The next sample lost a process listed above it.
    let mut next = model(HOST_NS);
    next.processes.retain(|p| p.pid != 17145);
    for n in &mut next.namespaces {
        n.pids.retain(|&pid| pid != 17145);
    }
    app.update(Action::Collected(Ok(Box::new(next))));
    let detail = app.detail.as_ref().unwrap();
    assert_eq!(detail.link().cloned(), before);
    assert!(
        detail.page.entries[detail.selected]
            .line
            .to_string()
            .contains("PID 17255")
    );
}

// Changes: forms, confirmations and the ops layer behind them (recorded, not applied).

const DOCKER: &str =
    "/system.slice/docker-1e2e793e926d876fdfe63d8e43ecd7f65a38337bc950184e93c1fd67820e63ac.scope";

#[test]
fn a_limit_is_typed_confirmed_applied_and_undone() {
    let mut app = app(V2);
    let mut ops = Recorder::default();
    press_with(&mut app, "2/docker 1e2e<Enter>e", &mut ops);
    assert!(matches!(app.popup, Some(Popup::Limits(_))));
    snapshot("limits_form", &app);
    // Typing goes into the form, not to the screen's keys.
    press_with(&mut app, "256M<Enter>", &mut ops);
    assert_eq!(
        ops.requests,
        [Request::Limits {
            spec: format!("cgroup2:{DOCKER}"),
            assignments: vec!["memory.max=256M".into()],
        }]
    );
    assert!(ops.executed.is_empty(), "nothing is done before y");
    let screen = render(&app);
    let file = format!("{V2}/sys/fs/cgroup{DOCKER}/memory.max");
    assert!(screen.contains("write \"268435456\" to"), "{screen}");
    assert!(
        screen.contains("is below the 504M that"),
        "the warning about usage: {screen}"
    );
    snapshot("limits_confirm", &app);
    let left = press_with(&mut app, "y", &mut ops);
    assert_eq!(ops.executed.len(), 1);
    assert_eq!(
        ops.executed[0].changes,
        [Change::Write {
            path: file.clone().into(),
            value: "268435456".into()
        }]
    );
    assert!(matches!(left[..], [Action::Collector(Control::RefreshNow)]));
    assert!(render(&app).contains("done: write"));
    // u puts back what the write replaced, after the same confirmation.
    press_with(&mut app, "u", &mut ops);
    assert!(render(&app).contains("undo the last limit change?"));
    press_with(&mut app, "y", &mut ops);
    assert_eq!(
        ops.executed[1].changes,
        [Change::Write {
            path: file.into(),
            value: "before".into()
        }]
    );
    press_with(&mut app, "u", &mut ops);
    assert!(render(&app).contains("no limit change to undo"));
}

#[test]
fn cancelled_or_refused_changes_do_nothing() {
    let mut app = app(V2);
    let mut ops = Recorder::default();
    press_with(&mut app, "2/docker 1e2e<Enter>e512M<Enter>n", &mut ops);
    assert!(app.popup.is_none());
    assert!(render(&app).contains("cancelled: nothing changed"));
    // A bad value is refused by the plan, with what is accepted, before any confirmation.
    press_with(&mut app, "e<Down>99999%<Enter>", &mut ops);
    assert!(app.popup.is_none());
    let screen = render(&app);
    assert!(
        screen.contains("memory.high: '99999%' is not a size"),
        "{screen}"
    );
    // Esc leaves a form without a plan.
    press_with(&mut app, "e1G<Esc>", &mut ops);
    assert!(app.popup.is_none());
    assert!(ops.executed.is_empty());
}

#[test]
fn signals_freeze_move_and_shell_are_asked_for_by_what_is_selected() {
    let mut app = app(V2);
    let mut ops = Recorder::default();
    press_with(&mut app, "3/nginx<Enter>", &mut ops);
    let pid = selected_pid(&app);
    press_with(&mut app, "K", &mut ops);
    // The confirmation names the command, not only the PID.
    assert!(render(&app).contains(&format!("Send SIGTERM to PID {pid} (nginx")));
    press_with(&mut app, "s", &mut ops);
    assert!(render(&app).contains(&format!("Send SIGKILL to PID {pid} (nginx")));
    press_with(&mut app, "y", &mut ops);
    assert!(matches!(
        ops.executed[0].changes[..],
        [Change::Signal { signal: 9, pid: p, .. }] if p == pid
    ));
    // A move's target is typed; the fixture has no such cgroup, and the plan says so.
    press_with(&mut app, "mmemory:/nowhere<Enter>", &mut ops);
    assert!(
        matches!(&ops.requests.last(), Some(Request::Move { spec, .. }) if spec == "memory:/nowhere")
    );
    assert!(render(&app).contains("no hierarchy has 'memory'"));
    // A shell in its namespaces is for the main loop: nstop enter, re-executed.
    let left = press_with(&mut app, "x", &mut ops);
    assert!(
        matches!(&left[..], [Action::Run(args)] if args[..3] == ["enter", "-t", &pid.to_string()] && args[3] == "--start-time")
    );
    // Freezing is for cgroups.
    press_with(&mut app, "2/docker 1e2e<Enter>f", &mut ops);
    assert!(matches!(
        ops.requests.last(),
        Some(Request::Freeze { frozen: true, spec }) if spec == &format!("cgroup2:{DOCKER}")
    ));
    assert!(render(&app).contains("cgroup.freeze"));
}

#[test]
fn unshare_dialog_runs_a_shell_and_then_lists_what_it_left_alive() {
    let mut app = app(HOST_NS);
    let mut ops = Recorder::default();
    press_with(&mut app, "U", &mut ops);
    snapshot("unshare_dialog", &app);
    // Nothing checked: nothing to run.
    assert!(press_with(&mut app, "<Enter>", &mut ops).is_empty());
    // uts is the last of the eight types; "map root to me" comes next.
    let keys = "<Down>".repeat(7) + "<Space><Down><Space><Enter>";
    let left = press_with(&mut app, &keys, &mut ops);
    assert!(
        matches!(&left[..], [Action::Run(args)] if args == &["unshare", "--uts", "--map-root-user"]),
        "{left:?}"
    );
    // The shell has ended; the next model has a uts namespace the first did not.
    app.update(Action::Ran(Ok(0)));
    let mut after = model(HOST_NS);
    let mut extra = after
        .namespaces
        .iter()
        .find(|n| n.kind == NsType::Uts)
        .unwrap()
        .clone();
    extra.ns = 4026599999;
    after.namespaces.push(extra);
    after.namespaces.sort_by_key(|n| (n.ns, n.kind));
    app.update(Action::Collected(Ok(Box::new(after))));
    assert_eq!(app.screen, Screen::Namespaces);
    assert_eq!(app.list().rows.len(), 1);
    assert!(render(&app).contains("1 namespace made in the shell is still alive"));
    press(&mut app, "<Esc>");
    assert!(app.list().rows.len() > 1, "Esc shows all again");
}

/// The OOM report made on this machine, moved into the v2 fixture's docker cgroup.
fn with_a_kill(mut model: Model) -> Model {
    let log = include_str!("fixtures/oom/kmsg-v1-memcg.txt");
    let mut events = nstop::model::oom::parse_reports(log.lines().map(nstop::model::oom::log_line));
    for e in &mut events {
        e.oom_memcg = Some(DOCKER.into());
        e.task_memcg = Some(DOCKER.into());
        e.time = Some("2026-11-26T14:28:02Z".into());
        e.container = Some("docker 1e2e793e926d".into());
    }
    for (seq, e) in events.iter_mut().enumerate() {
        e.seq = seq as u64 + 1;
    }
    model.oom_events = std::sync::Arc::new(events);
    model
}

#[test]
fn oom_kills_are_a_timeline_with_a_diagnosis_and_a_way_to_the_cgroup() {
    let mut app = App::new(Theme { color: false }, Rect::new(0, 0, 120, 40));
    app.update(Action::Collected(Ok(Box::new(with_a_kill(model(V2))))));
    press(&mut app, "6");
    assert_eq!(app.list().rows.len(), 1);
    let screen = render(&app);
    assert!(
        screen.contains("2026-11-26 14:28:02 cgroup    python3 (13897)"),
        "{screen}"
    );
    snapshot("oom_timeline", &app);
    press(&mut app, "d");
    let page = page_text(&app);
    let words = page.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("killed python3 (pid 13897): cgroup /system.slice/docker-1e2e"),
        "{page}"
    );
    assert!(words.contains("reached its memory limit 30M"), "{page}");
    // The sentence wraps at the terminal's width, between words.
    let widest = page.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 120 && widest > 80, "{page}");
    snapshot("oom_diagnosis", &app);
    // From the diagnosis to the cgroup, and from the timeline straight there with Enter.
    select_link(&mut app, "docker-1e2e");
    press(&mut app, "<Enter>");
    assert!(detail_title(&app).contains("docker-1e2e"));
    press(&mut app, "<Esc><Esc>");
    assert_eq!(app.screen, Screen::Oom);
    press(&mut app, "<Enter>");
    assert_eq!(app.screen, Screen::Cgroups);
    assert!(matches!(selected(&app), RowKey::Cgroup { path, .. } if path == DOCKER));
    // The cgroup carries its kill count as a badge wherever it is listed.
    assert!(
        render(&app).contains("[OOM×2] docker 1e2e793e926d"),
        "{}",
        render(&app)
    );
}

/// The diagnosis's history: the pressure before the kill, memory's climb into it (a chart
/// whose time axis ends at the kill), and the limit hits since the cgroup's previous kill.
#[test]
fn the_diagnosis_says_what_pressure_and_memory_did_before() {
    let mut app = App::new(Theme { color: false }, Rect::new(0, 0, 120, 40));
    let base = model(V2);
    let docker = base.cgroups.iter().position(|c| c.path == DOCKER).unwrap();
    // Twenty samples a second apart; memory stalls fully at 45% over the last five.
    for t in 0..20u64 {
        let mut m = with_a_kill(model(V2));
        m.host.system.as_mut().unwrap().uptime_secs = Some(1000.0 + t as f64);
        let memory = m.cgroups[docker]
            .pressure
            .as_mut()
            .unwrap()
            .memory
            .as_mut()
            .unwrap();
        memory.full.as_mut().unwrap().avg10 = if t >= 15 { 45.0 } else { 1.0 };
        // Flat at 8 MiB, then 1 MiB more each second from t = 9 on.
        let used = m.cgroups[docker].memory.as_mut().unwrap();
        used.current = Some((8 + t.saturating_sub(9)) << 20);
        used.max = Some(30 << 20);
        // An earlier kill of the same cgroup, 60 limit hits before this one's 94.
        let kill = m.oom_events[0].clone();
        let mut earlier = kill.clone();
        earlier.failcnt = Some(34);
        earlier.time = Some("2026-11-26T14:20:00Z".into());
        earlier.monotonic_usec = Some(500_000_000);
        let mut kill = kill;
        (earlier.seq, kill.seq) = (1, 2);
        kill.failcnt = Some(94);
        kill.monotonic_usec = Some(1_019_500_000);
        m.oom_events = std::sync::Arc::new(vec![earlier, kill]);
        app.update(Action::Collected(Ok(Box::new(m))));
    }
    press(&mut app, "6d");
    let page = page_text(&app);
    assert!(page.contains("climb              +1M/s for 10 s"), "{page}");
    assert!(
        page.contains(
            "60 times since the previous kill here (at 2026-11-26 14:20:00) · 94 times in all"
        ),
        "{page}"
    );
    let screen = render(&app);
    assert!(screen.contains("memory before the kill"), "{screen}");
    assert!(screen.contains("kill"), "{screen}");
    snapshot("oom_diagnosis_with_history", &app);
    // At 80 columns a long value wraps under itself, none of it cut (the total was).
    app.update(Action::Resize(80, 24));
    let page = page_text(&app);
    assert!(page.lines().all(|l| l.chars().count() <= 80), "{page}");
    let words = page.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("(at 2026-11-26 14:20:00) · 94 times in all"),
        "{page}"
    );
    // The sentence wraps on the page: compare it joined.
    let joined = page.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        joined.contains("memory pressure full avg10 up to 45% for 5 s before"),
        "{page}"
    );
    assert!(joined.contains("stalled fully avg10 up to 45.0%"), "{page}");
}

/// A kernel without PSI: the Pressure screen says so instead of showing zeros; inside a cgroup
/// namespace the footer says how paths read.
#[test]
fn kernel_differences_are_said_on_screen() {
    let mut m = model(V2);
    m.host.pressure = None;
    m.cgroups.iter_mut().for_each(|c| c.pressure = None);
    m.host.hierarchies[0].root = "/..".into();
    let mut app = App::new(Theme { color: false }, Rect::new(0, 0, 200, 40));
    app.root = true;
    app.update(Action::Collected(Ok(Box::new(m))));
    press(&mut app, "4");
    let screen = render(&app);
    for said in [
        "This kernel reports no pressure (no /proc/pressure: CONFIG_PSI off or psi=0)",
        "No cgroup has pressure files",
        "inside a cgroup namespace: cgroup2 mounted from above it",
    ] {
        assert!(screen.contains(said), "{said} in\n{screen}");
    }
}

/// A replay: the footer says which frame of which time; [ ] T o ask the replayer to move, a
/// time typed in becomes a seek, a jump to a kill lands on the OOM screen. Live, these keys say
/// they are for replays.
#[test]
fn replay_keys_move_through_the_recording() {
    use nstop::collector::ReplayAt;
    let mut live = app(V2);
    assert!(press(&mut live, "o").is_empty());
    assert!(render(&live).contains("only in a replay: nstop --replay DIR"));

    let mut app = app(V2);
    // 2026-11-23T18:36:51Z, frame 8 of 20.
    let time_ms = 1_795_459_011_000;
    let at = |kill| ReplayAt {
        index: 7,
        len: 20,
        time_ms,
        kill,
        playing: false,
    };
    app.update(Action::Replayed(at(None)));
    assert!(render(&app).contains("replay 2026-11-23T18:36:51Z · frame 8 of 20"));
    assert_eq!(press(&mut app, "["), [Control::Step(-1)]);
    assert_eq!(press(&mut app, "]"), [Control::Step(1)]);
    assert_eq!(press(&mut app, "o"), [Control::NextOom]);
    assert_eq!(
        press(&mut app, "T18:30<Enter>"),
        [Control::Seek(1_795_458_600_000)]
    );
    assert_eq!(
        press(&mut app, "T-10m<Enter>"),
        [Control::Seek(time_ms - 600_000)]
    );
    assert_eq!(
        press(&mut app, "T2026-11-23T00:00:00Z<Enter>"),
        [Control::Seek(1_795_392_000_000)]
    );
    assert!(press(&mut app, "Tsoon<Enter>").is_empty());
    assert!(render(&app).contains("'soon': accepted: 03:00"));
    app.update(Action::Replayed(at(Some(1))));
    assert_eq!(app.screen, Screen::Oom);
    // The charts start again after a jump.
    app.update(Action::Rewind);
    assert_eq!(app.history.span(), 0.0);
}

/// Host text that would move the cursor, clear the screen or reverse what follows on a
/// terminal: none of it reaches the frame, on any screen.
#[test]
fn control_and_bidi_characters_never_reach_the_terminal() {
    let mut model = model(V2);
    for (i, p) in model.processes.iter_mut().enumerate() {
        p.command = format!("evil\u{202E}txt.exe\u{1b}[2J\u{7}\u{9b}{i}\u{200F}");
        p.comm = "c\u{2066}omm\u{1b}".into();
    }
    let mut app = App::new(Theme { color: false }, Rect::new(0, 0, 160, 40));
    app.root = true;
    app.update(Action::Collected(Ok(Box::new(model))));
    // Each screen, and the detail page of its first row.
    for keys in [
        "1",
        "1d",
        "2",
        "2d",
        "3",
        "3d",
        "<Esc>3<Enter>",
        "4",
        "5",
        "6",
    ] {
        press(&mut app, "<Esc><Esc>");
        press(&mut app, keys);
        let screen = keys;
        let mut terminal = Terminal::new(TestBackend::new(160, 40)).unwrap();
        terminal.draw(|frame| ui::draw(frame, &app)).unwrap();
        for cell in &terminal.backend().buffer().content {
            assert!(
                !cell.symbol().chars().any(nstop::text::unprintable),
                "screen {screen}: {:?}",
                cell.symbol()
            );
        }
    }
    press(&mut app, "3");
    let text = render(&app);
    assert!(
        text.contains("eviltxt.exe[2J"),
        "the text around them stays: {text}"
    );
}

/// `x` on a namespace row enters exactly that namespace, also one only a bind mount holds
/// (it said "select a process or a namespace"); on one of the host's it says there is nothing
/// to enter.
#[test]
fn x_on_a_namespace_row_enters_exactly_that_namespace() {
    let mut app = app(HOST_NS);
    let mut ops = Recorder::default();
    press_with(&mut app, "1/nstop-fx<Enter>", &mut ops);
    assert!(matches!(selected(&app), RowKey::Namespace(ns) if ns.ino == 4026541646));
    let left = press_with(&mut app, "x", &mut ops);
    assert!(
        matches!(&left[..], [Action::Run(args)] if args == &["enter", "--ns", "4026541646", "--ns-type", "net"]),
        "{left:?}"
    );
    press_with(&mut app, "/kthreadd<Enter>", &mut ops);
    let left = press_with(&mut app, "x", &mut ops);
    assert!(left.is_empty(), "{left:?}");
    assert!(render(&app).contains("is the host's: nothing to enter"));
}

/// `with_a_kill` with one more kill, numbered `seq`, a minute after the one before.
fn with_kills(upto: u64) -> Model {
    let mut model = with_a_kill(model(V2));
    let mut events = (*model.oom_events).clone();
    let first = events[0].clone();
    for seq in 2..=upto {
        let mut e = first.clone();
        e.seq = seq;
        e.pid = Some(20000 + seq as i32);
        e.time = Some(format!("2026-11-26T14:{:02}:02Z", 28 + seq));
        events.push(e);
    }
    model.oom_events = std::sync::Arc::new(events);
    model
}

/// A kill that arrives while the OOM screen's cursor is on the newest moves it there, and every
/// other screen says it arrived until the OOM screen is opened; a cursor the user moved to an
/// older kill stays (issue 21: `d` opened an older kill of another cgroup).
#[test]
fn a_new_kill_is_selected_and_announced() {
    let mut app = App::new(Theme { color: false }, Rect::new(0, 0, 160, 40));
    app.update(Action::Collected(Ok(Box::new(with_kills(1)))));
    press(&mut app, "6");
    assert!(matches!(selected(&app), RowKey::Oom { seq: 1 }));
    press(&mut app, "1");
    app.update(Action::Collected(Ok(Box::new(with_kills(2)))));
    let screen = render(&app);
    assert!(
        screen.contains("new OOM kill: python3 in docker 1e2e793e926d (press 6)"),
        "{screen}"
    );
    press(&mut app, "6");
    assert!(matches!(selected(&app), RowKey::Oom { seq: 2 }));
    assert!(
        !render(&app).contains("new OOM kill"),
        "said until the OOM screen is open"
    );
    // The user goes to the older kill: a newer one does not take the cursor away.
    press(&mut app, "<Down>");
    assert!(matches!(selected(&app), RowKey::Oom { seq: 1 }));
    app.update(Action::Collected(Ok(Box::new(with_kills(3)))));
    assert!(matches!(selected(&app), RowKey::Oom { seq: 1 }));
    assert!(
        !render(&app).contains("new OOM kill"),
        "on the OOM screen the row says it"
    );
    // Announced elsewhere, at 80 columns and on a detail page too: 6 then goes to it, though
    // the cursor was moved off the newest (walked: `d` explained an older kill).
    app.update(Action::Resize(80, 24));
    press(&mut app, "3d");
    app.update(Action::Collected(Ok(Box::new(with_kills(4)))));
    let screen = render(&app);
    assert!(screen.contains("new OOM kill: python3"), "{screen}");
    press(&mut app, "6");
    assert!(matches!(selected(&app), RowKey::Oom { seq: 4 }));
}

/// Esc goes back along the drill-down of the screen in view only: a screen chosen by its key
/// starts afresh (issue 21: Esc jumped to a detail from minutes earlier).
#[test]
fn esc_does_not_leave_a_screen_chosen_by_its_key() {
    let mut app = app(HOST_NS);
    press(&mut app, "d");
    assert!(app.detail.is_some());
    press(&mut app, "2<Esc>");
    on_list(&app, Screen::Cgroups);
    press(&mut app, "<Esc><Esc>");
    on_list(&app, Screen::Cgroups);
    // Within the screen, Esc still comes back from a drill-down.
    press(&mut app, "d<Esc>");
    on_list(&app, Screen::Cgroups);
}

/// `f` on a v1 cgroup outside the freezer hierarchy: where the freezer has no cgroup of its
/// path, an offer to make one and move its processes there (`cg freeze --create-freezer`);
/// where it has one, that one is frozen or thawed as its state says. It said freezing needs
/// a freezer although one is mounted (issue 21).
#[test]
fn freezing_a_v1_memory_cgroup_goes_to_the_freezer_hierarchy() {
    let mut app = app(HYBRID);
    let mut ops = Recorder::default();
    press_with(&mut app, "2/process_api<Enter>f", &mut ops);
    assert!(matches!(selected(&app), RowKey::Cgroup { path, .. } if path == "/process_api"));
    assert!(
        matches!(ops.requests.last(), Some(Request::FreezeInNewFreezer { spec }) if spec == "memory:/process_api"),
        "{:?}",
        ops.requests
    );
    // The freezer hierarchy with a frozen /process_api: `f` thaws it.
    let mut m = model(HYBRID);
    let freezer = m
        .host
        .hierarchies
        .iter()
        .find(|h| h.label() == "freezer")
        .expect("a freezer hierarchy")
        .id;
    let memory = m.cgroups.iter().find(|c| c.path == "/process_api").unwrap();
    let mut twin = memory.clone();
    (twin.hierarchy, twin.frozen) = (freezer, Some(true));
    m.cgroups.push(twin);
    app.update(Action::Collected(Ok(Box::new(m))));
    press_with(&mut app, "f", &mut ops);
    assert!(
        matches!(ops.requests.last(), Some(Request::Freeze { spec, frozen: false }) if spec == "freezer:/process_api"),
        "{:?}",
        ops.requests
    );
}

/// The Pressure screen's chart of the most stalled cgroups says why it has nothing to draw,
/// where it said "collecting…" for ever (issue 21).
#[test]
fn the_stalled_cgroups_chart_says_why_it_is_empty() {
    let mut app = app(HYBRID);
    press(&mut app, "4");
    let screen = render(&app);
    assert!(screen.contains("none stalled now"), "{screen}");
    let chart = screen
        .lines()
        .find(|l| l.contains("most stalled cgroups"))
        .unwrap();
    assert!(!chart.contains("collecting"), "{chart}");
}

/// The header's CPU share is of all CPUs and says so; the CPU% columns are of one core
/// (issue 21: 197.6% in a column beside 91% in the header, neither labelled).
#[test]
fn the_header_cpu_share_says_it_is_of_all_cpus() {
    let mut m = model(V2);
    let system = m.host.system.as_mut().unwrap();
    system.cpu_percent = Some(91.0);
    let cpus = system.cpus;
    let mut app = App::new(Theme { color: false }, Rect::new(0, 0, 160, 40));
    app.update(Action::Collected(Ok(Box::new(m))));
    let screen = render(&app);
    assert!(
        screen.contains(&format!("91.0% of {cpus} CPUs")),
        "{screen}"
    );
}

/// On a hybrid host the CGROUP column is of the hierarchy with memory, not cgroup2 (where
/// everything here is `/`), the title says so, and Enter goes to that cgroup (issue 21).
#[test]
fn on_a_hybrid_host_processes_show_their_memory_cgroup() {
    let mut app = app_sized(HYBRID, 160, 40);
    press(&mut app, "3");
    let screen = render(&app);
    assert!(screen.contains("CGROUP of memory"), "{screen}");
    press(&mut app, "/30171<Enter>");
    let pid = selected_pid(&app);
    let model = app.model.as_deref().unwrap();
    let memory = model
        .host
        .hierarchies
        .iter()
        .find(|h| h.label() == "memory")
        .unwrap()
        .id;
    let own = model
        .process(pid)
        .unwrap()
        .cgroups
        .iter()
        .find(|c| c.hierarchy == memory);
    let own = own.expect("a memory cgroup").path.to_string();
    assert_ne!(own, "/");
    let leaf = own.rsplit('/').next().unwrap().to_owned();
    let screen = render(&app);
    assert!(
        screen
            .lines()
            .any(|l| l.contains(&pid.to_string()) && l.contains(&leaf)),
        "{leaf} in\n{screen}"
    );
    press(&mut app, "<Enter>");
    assert_eq!(app.screen, Screen::Cgroups);
    assert!(
        matches!(selected(&app), RowKey::Cgroup { hierarchy, path } if hierarchy == memory && path == own),
        "{:?}",
        selected(&app)
    );
    // `c` takes the column through every hierarchy in mount order and round to memory again;
    // the title names the one shown and Enter goes to the process's cgroup there.
    let hierarchies: Vec<(u32, String)> = app
        .model
        .as_deref()
        .unwrap()
        .host
        .hierarchies
        .iter()
        .map(|h| (h.id, h.label()))
        .collect();
    let own_in = |app: &App, id: u32| {
        let p = app.model.as_deref().unwrap().process(pid).unwrap();
        let c = p.cgroups.iter().find(|c| c.hierarchy == id);
        c.map(|c| c.path.to_string())
    };
    let mut seen = Vec::new();
    for _ in 0..hierarchies.len() {
        press(&mut app, "3c");
        assert_eq!(selected_pid(&app), pid);
        let screen = render(&app);
        let (id, label) = hierarchies
            .iter()
            .find(|(_, label)| screen.contains(&format!("CGROUP of {label} (c: next)")))
            .unwrap_or_else(|| panic!("a hierarchy named in\n{screen}"));
        seen.push(label.clone());
        let Some(path) = own_in(&app, *id) else {
            continue;
        };
        press(&mut app, "<Enter>");
        assert!(
            matches!(selected(&app), RowKey::Cgroup { hierarchy, path: p } if hierarchy == *id && p == path),
            "{label}: {:?}",
            selected(&app)
        );
    }
    assert_eq!(seen.last().map(String::as_str), Some("memory"), "{seen:?}");
    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), hierarchies.len(), "{seen:?}");
}

/// A confirmation whose lines wrap (a long cgroup path at 80 columns) is tall enough for all
/// of them: its keys were cut off (walked, issue 21).
#[test]
fn a_confirmation_that_wraps_still_shows_its_keys() {
    let mut app = app_sized(V2, 80, 24);
    let mut ops = Recorder::default();
    press_with(&mut app, "2/docker-1e2e<Enter>e", &mut ops);
    press_with(&mut app, "48M<Enter>", &mut ops);
    // Where the path breaks depends on the width: every width from 60 to 130 columns.
    for width in 60..=130 {
        app.update(Action::Resize(width, 24));
        let screen = render(&app);
        assert!(screen.contains("This will:"), "{screen}");
        assert!(screen.contains("y do it"), "{width} columns:\n{screen}");
    }
}

/// What the walk of issue 21 found in titles and the footer: a search that matches nothing
/// says so, and does not follow Enter to another screen; the title names the CGROUP column's
/// hierarchy only where the column is shown; a status keeps `? help  q quit` before it.
#[test]
fn titles_and_footer_say_only_what_is_so() {
    let mut app = app_sized(HYBRID, 160, 40);
    press(&mut app, "3/zzzz-no-such<Enter>");
    let title = |app: &App| render(app).lines().nth(4).unwrap_or_default().to_owned();
    assert!(
        title(&app).contains("search \"zzzz-no-such\" (no match)"),
        "{}",
        title(&app)
    );
    press(&mut app, "<Esc>/30171<Enter>");
    assert!(!title(&app).contains("no match"), "{}", title(&app));
    assert!(title(&app).contains("CGROUP of memory"), "{}", title(&app));
    press(&mut app, "<Enter>");
    assert_eq!(app.screen, Screen::Cgroups);
    assert!(!title(&app).contains("search"), "{}", title(&app));
    press(&mut app, "3");
    app.update(Action::Resize(80, 24));
    assert!(!title(&app).contains("CGROUP of"), "{}", title(&app));
    // `c` there says why nothing seems to change.
    press(&mut app, "c");
    let footer = render(&app).lines().last().unwrap_or_default().to_owned();
    assert!(
        footer.contains("the CGROUP column does not fit"),
        "{footer}"
    );
    // A status message: the footer still starts with help and quit.
    let mut ops = Recorder::default();
    press_with(&mut app, "K", &mut ops);
    press_with(&mut app, "n", &mut ops);
    let footer = render(&app).lines().last().unwrap_or_default().to_owned();
    assert!(
        footer.starts_with("\"? help  q quit  cancelled"),
        "{footer}"
    );
}

/// `U` says what a shell in new namespaces keeps of nstop's own privileges (issue 24).
#[test]
fn the_unshare_form_says_what_the_shell_keeps() {
    use nstop::model::sample::{CapSets, SecuritySample};
    use nstop::model::security::Security;
    let mut m = model(V2);
    let mut own = m.processes[0].clone();
    own.pid = std::process::id() as i32;
    let sample = SecuritySample {
        caps: CapSets {
            effective: 0x1ff_ffff_ffff,
            ..CapSets::default()
        },
        seccomp: Some(0),
        ..SecuritySample::default()
    };
    own.security = Some(Security::new(&sample, None));
    m.processes.push(own);
    m.processes.sort_by_key(|p| p.pid);
    let mut app = App::new(Theme { color: false }, Rect::new(0, 0, 120, 40));
    app.update(Action::Collected(Ok(Box::new(m))));
    press(&mut app, "U");
    let screen = render(&app);
    assert!(
        screen.contains("the shell keeps nstop's capabilities (all (41)), seccomp (disabled) and LSM label (none)"),
        "{screen}"
    );
    // A new user namespace gives the shell capabilities of its own.
    press(
        &mut app,
        "<Down><Down><Down><Down><Down><Down><Down><Down> ",
    );
    let screen = render(&app);
    assert!(
        screen.contains("its capabilities are the new user"),
        "{screen}"
    );
}
