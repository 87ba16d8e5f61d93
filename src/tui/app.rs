//! The TUI's state and the one function that changes it. No I/O: the model arrives in an
//! action, and what the collector should do leaves as one.

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use std::path::PathBuf;

use crate::collector::{Control, Description, ReplayAt, Topic};
use crate::model::Model;
use crate::model::history::History;
use crate::model::sample::{NsRef, NsType};
use crate::ops::{self, Request};
use crate::tui::action::{Action, Command};
use crate::tui::detail::{DetailState, Link, Sources, Subject};
use crate::tui::keymap;
use crate::tui::list::ListState;
use crate::tui::panes::{RowKey, Scope, Screen, Tone, cgroups, oom, processes};
use crate::tui::popup::{Asks, LimitForm, Popup, SIGNALS, UnshareForm};
use crate::tui::theme::Theme;
use crate::tui::ui::Areas;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Search,
    Filter,
}

/// A search or filter being typed; Esc puts back what was there before.
#[derive(Debug)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
    before: String,
    selected_before: Option<RowKey>,
}

/// Where Enter came from, for Esc to return to.
#[derive(Debug)]
struct Place {
    screen: Screen,
    key: Option<RowKey>,
    /// What the Processes screen showed, which drilling in replaces.
    processes_scope: Scope,
    processes_filter: String,
    /// The detail that was open, and the line its cursor was on.
    detail: Option<(Subject, usize)>,
}

/// Esc goes back this many drill-ins at most; older places are forgotten.
const BACK_LIMIT: usize = 64;

const SCREENS: usize = Screen::ALL.len();

/// Wheel steps move the cursor this many rows.
const WHEEL_ROWS: isize = 3;

/// Columns a new kill's cgroup takes in the notice.
const NOTICE_PLACE: usize = 32;

/// A kill that arrived while another screen was shown: said in every title until the OOM
/// screen is opened, which then selects it.
#[derive(Debug)]
pub struct OomNotice {
    pub text: String,
    pub seq: u64,
}

#[derive(Debug)]
pub struct App {
    pub model: Option<Box<Model>>,
    pub screen: Screen,
    lists: Vec<ListState>,
    pub input: Option<Input>,
    pub search: String,
    pub help: bool,
    /// The first line of the help shown, when it is taller than the terminal.
    pub help_offset: usize,
    pub paused: bool,
    /// Why the last sample failed, until one succeeds.
    pub error: Option<String>,
    pub theme: Theme,
    /// Running as root: the unreadable-process notice suggests root otherwise.
    pub root: bool,
    /// The terminal's size: layout (and so mouse hits and page length) derive from it.
    pub size: Rect,
    pub quit: bool,
    /// Whether the last action changed what is on screen.
    pub dirty: bool,
    back: Vec<Place>,
    /// The detail view over the screen, when open.
    pub detail: Option<DetailState>,
    /// The last minutes, for the charts.
    pub history: History,
    /// What the collector read inside the detail's namespace.
    described: Option<(Topic, Description)>,
    /// A form, prompt or confirmation over the screen.
    pub popup: Option<Popup>,
    /// How the last change went, until the next key.
    pub status: Option<(String, Tone)>,
    /// The settings loaded from the config files; `W` writes what is on screen over them.
    config: crate::tui::config::Config,
    /// What the last limit change replaced: `u` puts it back.
    undo: Option<Vec<(PathBuf, String)>>,
    /// The namespaces there were before an unshare shell (sorted), until the first model
    /// after it shows which it left behind (no model arrives while the shell runs).
    before_shell: Option<Vec<NsRef>>,
    /// Replaying a recording: where it is.
    pub replay: Option<ReplayAt>,
    /// A kill that arrived while another screen was shown, until the OOM screen is opened.
    pub oom_notice: Option<OomNotice>,
}

impl App {
    pub fn new(theme: Theme, size: Rect) -> App {
        App {
            model: None,
            screen: Screen::Namespaces,
            lists: Screen::ALL.into_iter().map(ListState::new).collect(),
            input: None,
            search: String::new(),
            help: false,
            help_offset: 0,
            paused: false,
            error: None,
            theme,
            root: false,
            size,
            quit: false,
            dirty: true,
            back: Vec::new(),
            detail: None,
            history: History::new(crate::model::history::MAX_SAMPLES),
            described: None,
            popup: None,
            status: None,
            config: Default::default(),
            undo: None,
            before_shell: None,
            replay: None,
            oom_notice: None,
        }
    }

    /// Opens on the configured screen, each screen sorted and drawn as configured.
    pub fn configure(&mut self, config: crate::tui::config::Config) {
        if let Some(screen) = config.screen {
            self.screen = screen;
        }
        for (screen, wanted) in &config.screens {
            let list = &mut self.lists[screen.index()];
            let columns = list.spec().columns;
            if let Some(i) = wanted
                .sort
                .as_deref()
                .and_then(|s| columns.iter().position(|c| c.title == s))
            {
                list.sort = i;
            }
            list.descending = wanted.descending.unwrap_or(list.descending);
            list.tree = wanted.tree.unwrap_or(list.tree);
        }
        if config.color == Some(false) {
            self.theme.color = false;
        }
        self.config = config;
        self.dirty = true;
    }

    /// The loaded settings with what is on screen over them: the screen, each screen's sort
    /// and whether it is a tree.
    fn settings(&self) -> crate::tui::config::Config {
        use crate::tui::config::ScreenConfig;
        let mut config = self.config.clone();
        config.screen = Some(self.screen);
        for list in &self.lists {
            let sort = list.spec().columns[list.sort].title.to_owned();
            let screen = ScreenConfig {
                sort: Some(sort),
                descending: Some(list.descending),
                tree: Some(list.tree),
            };
            config.screens.insert(list.screen, screen);
        }
        config
    }

    pub fn list(&self) -> &ListState {
        &self.lists[self.screen.index()]
    }

    pub fn list_of(&self, screen: Screen) -> &ListState {
        &self.lists[screen.index()]
    }

    fn list_mut(&mut self) -> &mut ListState {
        &mut self.lists[self.screen.index()]
    }

    /// Whether Esc has somewhere to return to.
    pub fn can_go_back(&self) -> bool {
        !self.back.is_empty()
    }

    /// Rows of the current list (or lines of the detail) that fit on screen.
    pub fn page(&self) -> usize {
        let areas = Areas::new(self.size, self.screen);
        let height = match &self.detail {
            Some(detail) => {
                crate::tui::widgets::detail::split(detail, areas.body)
                    .1
                    .height
            }
            None => areas.rows.height,
        };
        usize::from(height).max(1)
    }

    pub fn update(&mut self, action: Action) -> Option<Action> {
        let described = self.wanted_description();
        let next = self.handle(action);
        let wanted = self.wanted_description();
        if wanted != described && next.is_none() {
            return Some(Action::Collector(Control::Describe(wanted)));
        }
        next
    }

    fn handle(&mut self, action: Action) -> Option<Action> {
        self.dirty = true;
        match action {
            Action::Collected(Ok(model)) => self.accept(model),
            // A replay's frame that cannot be read, or no kill to jump to: the frame shown stays.
            Action::Collected(Err(error)) if self.replay.is_some() => self.say(&error, Tone::Warn),
            Action::Collected(Err(error)) => self.error = Some(error),
            Action::Replayed(at) => {
                self.replay = Some(at);
                self.paused = !at.playing;
                if at.kill.is_some() {
                    self.show(Screen::Oom);
                }
            }
            Action::Rewind => self.history.clear(),
            Action::SavedConfig(Ok(path)) => {
                let said = format!("screen, sorts and trees saved to {}", path.display());
                self.say(&said, Tone::Name);
            }
            Action::SavedConfig(Err(why)) => self.say(&format!("not saved: {why}"), Tone::Alert),
            Action::Past(model) => self.history.record(&model),
            Action::Described(topic, description) => {
                let known = self
                    .described
                    .as_ref()
                    .is_some_and(|d| d.0 == topic && d.1 == description);
                if self.wanted_description().as_ref() != Some(&topic) || known {
                    self.dirty = false;
                    return None;
                }
                self.described = Some((topic, description));
                self.refresh_detail();
            }
            Action::Resize(width, height) => {
                self.size = Rect::new(0, 0, width, height);
                self.refresh_detail();
            }
            Action::Key(key) => return self.key(key),
            Action::Mouse(mouse) => self.mouse(mouse),
            Action::Command(command) => return self.command(command),
            Action::Collector(_)
            | Action::Plan(_)
            | Action::Execute(..)
            | Action::Run(_)
            | Action::SaveConfig(_) => self.dirty = false,
            Action::Planned(request, Ok(plan)) => {
                let target = match request {
                    Request::Signal { pid, .. } => (self.model.as_deref())
                        .and_then(|m| m.process(pid))
                        .map(|p| format!("PID {pid} ({})", p.command)),
                    _ => None,
                };
                self.popup = Some(Popup::Confirm {
                    plan,
                    request,
                    target,
                })
            }
            Action::Planned(_, Err(why)) => {
                self.popup = None;
                self.status = Some((why, Tone::Alert));
            }
            Action::Executed(request, plan, result) => {
                self.popup = None;
                self.status = Some(match result {
                    Ok(applied) => {
                        match request {
                            Request::Limits { .. } => {
                                self.undo = Some(ops::undo_of(&plan, &applied))
                            }
                            Request::Restore { .. } => self.undo = None,
                            _ => {}
                        }
                        let n = plan.changes.len();
                        let first = plan
                            .changes
                            .first()
                            .map(ToString::to_string)
                            .unwrap_or_default();
                        let more = if n > 1 {
                            format!(" (+{} more)", n - 1)
                        } else {
                            String::new()
                        };
                        // What a signal did not do (an init that ignores it) is said again.
                        let said = match request {
                            Request::Signal { .. } => plan.warnings.join("; "),
                            _ => String::new(),
                        };
                        let said = if said.is_empty() {
                            said
                        } else {
                            format!(" · {said}")
                        };
                        (format!("done: {first}{more}{said}"), Tone::Name)
                    }
                    Err(why) => (why, Tone::Alert),
                });
                return Some(Action::Collector(Control::RefreshNow));
            }
            Action::Ran(result) => {
                self.status = Some(match result {
                    Ok(code) => (
                        format!("back from the shell (exit status {code})"),
                        Tone::Name,
                    ),
                    Err(why) => (why, Tone::Alert),
                });
                return Some(Action::Collector(Control::RefreshNow));
            }
        }
        self.follow();
        None
    }

    /// What the open detail needs the collector to read.
    fn wanted_description(&self) -> Option<Topic> {
        let detail = self.detail.as_ref()?;
        detail.subject.described(self.model.as_deref())
    }

    fn follow(&mut self) {
        let page = self.page();
        match &mut self.detail {
            Some(detail) => detail.follow(page),
            None => self.list_mut().follow(page),
        }
    }

    /// What `subject`'s page is built from.
    fn sources(&self, subject: &Subject) -> Option<Sources<'_>> {
        let wanted = subject.described(self.model.as_deref());
        Some(Sources {
            model: self.model.as_deref()?,
            history: &self.history,
            described: self
                .described
                .as_ref()
                .filter(|(topic, _)| Some(topic) == wanted.as_ref())
                .map(|(_, d)| d),
            theme: &self.theme,
            width: self.size.width,
        })
    }

    fn refresh_detail(&mut self) {
        if let Some(mut detail) = self.detail.take() {
            if let Some(sources) = self.sources(&detail.subject) {
                detail.refresh(&sources);
            }
            self.detail = Some(detail);
        }
    }

    /// Shows `subject`'s detail, its cursor on line `selected` (else the first link).
    fn open_detail(&mut self, subject: Subject, selected: Option<usize>) {
        let wanted = subject.described(self.model.as_deref());
        if wanted != self.described.as_ref().map(|(topic, _)| topic.clone()) {
            self.described = None;
        }
        let Some(sources) = self.sources(&subject) else {
            return;
        };
        let mut detail = DetailState::new(subject, &sources);
        if let Some(line) = selected {
            detail.selected = line.min(detail.page.entries.len().saturating_sub(1));
        }
        self.detail = Some(detail);
    }

    /// Remembers where we are, for Esc.
    fn push_place(&mut self) {
        let model = self.model.as_deref();
        let place = Place {
            screen: self.screen,
            key: model.and_then(|m| self.list().selected_key(m)),
            processes_scope: self.list_of(Screen::Processes).scope.clone(),
            processes_filter: self.list_of(Screen::Processes).filter.clone(),
            detail: self
                .detail
                .as_ref()
                .map(|d| (d.subject.clone(), d.selected)),
        };
        if self.back.len() == BACK_LIMIT {
            self.back.remove(0);
        }
        self.back.push(place);
    }

    fn accept(&mut self, model: Box<Model>) {
        self.history.record(&model);
        let mut keys: Vec<Option<RowKey>> = self
            .lists
            .iter()
            .map(|l| self.model.as_deref().and_then(|old| l.selected_key(old)))
            .collect();
        self.follow_new_kill(&model, &mut keys[Screen::Oom.index()]);
        for (list, key) in self.lists.iter_mut().zip(keys) {
            list.rebuild_at(&model, key);
        }
        self.model = Some(model);
        self.error = None;
        self.refresh_detail();
        if self.before_shell.is_some() {
            self.show_left_behind();
        }
    }

    /// A kill newer than the last model's: the OOM screen's cursor moves to it unless the user
    /// had moved it off the newest, and every other screen says it arrived.
    fn follow_new_kill(&mut self, model: &Model, oom_cursor: &mut Option<RowKey>) {
        fn newest(m: &Model) -> Option<&crate::model::oom::OomEvent> {
            m.oom_events.iter().max_by_key(|e| e.seq)
        }
        let Some(old) = self.model.as_deref() else {
            return;
        };
        let before = newest(old).map(|e| e.seq);
        let Some(kill) = newest(model).filter(|e| Some(e.seq) > before) else {
            return;
        };
        let on_newest = before.map(|seq| RowKey::Oom { seq });
        if oom_cursor.is_none() || *oom_cursor == on_newest {
            *oom_cursor = Some(RowKey::Oom { seq: kill.seq });
        }
        if self.screen != Screen::Oom {
            let who = kill.comm.as_deref().unwrap_or("a process");
            // The container's name says more, in less room, than its cgroup's path; a path is
            // cut in the middle so the rest of the title keeps some room.
            let place = (kill.container.as_deref())
                .or(oom::cgroup_path(kill))
                .map(|p| crate::tui::widgets::table::fit_path(p, NOTICE_PLACE).into_owned())
                .map_or(String::new(), |p| format!(" in {p}"));
            self.oom_notice = Some(OomNotice {
                text: format!("new OOM kill: {who}{place} (press 6)"),
                seq: kill.seq,
            });
        }
    }

    /// A screen chosen by its key, tab or mouse: a new start, so Esc has no way back from it
    /// (drill-downs from here make their own).
    fn switch_to(&mut self, screen: Screen) {
        self.back.clear();
        self.detail = None;
        self.search.clear();
        self.show(screen);
    }

    fn show(&mut self, screen: Screen) {
        // A search is for the rows it was typed over: it does not follow to another screen.
        if screen != self.screen {
            self.search.clear();
        }
        self.screen = screen;
        if screen != Screen::Oom {
            return;
        }
        // The kill announced is the one the user came for, wherever the cursor was.
        if let (Some(notice), Some(model)) = (self.oom_notice.take(), self.model.as_deref()) {
            let key = RowKey::Oom { seq: notice.seq };
            self.lists[Screen::Oom.index()].select_key(model, &key);
        }
    }

    /// After an unshare shell: the Namespaces screen narrowed to the namespaces that appeared
    /// meanwhile and are still alive (held by processes it left running, or mounts).
    fn show_left_behind(&mut self) {
        let (Some(before), Some(model)) = (self.before_shell.take(), self.model.take()) else {
            return;
        };
        let mut new: Vec<NsRef> = model
            .namespaces
            .iter()
            .map(|n| n.ns_ref())
            .filter(|n| before.binary_search(n).is_err())
            .collect();
        new.sort();
        if new.is_empty() {
            self.say("the namespaces made in the shell ended with it", Tone::Dim);
        } else {
            let n = new.len();
            let (s, are) = if n == 1 { ("", "is") } else { ("s", "are") };
            self.say(
                &format!("{n} namespace{s} made in the shell {are} still alive (Esc: all)"),
                Tone::Name,
            );
            self.detail = None;
            self.show(Screen::Namespaces);
            let list = self.list_mut();
            list.scope = Scope::Among(new);
            list.rebuild_at(&model, None);
            list.select(0);
        }
        self.model = Some(model);
    }

    fn scroll_help(&mut self, by: isize) {
        let last = crate::tui::widgets::help::entries().len().saturating_sub(1);
        self.help_offset = self.help_offset.saturating_add_signed(by).min(last);
    }

    fn key(&mut self, key: KeyEvent) -> Option<Action> {
        // Ctrl-C quits whatever is open; any other key closes the help.
        if keymap::is_interrupt(key) {
            return Some(Action::Command(Command::Quit));
        }
        if self.help {
            // Arrows and pages scroll a help taller than the terminal; any other key closes it.
            match key.code {
                KeyCode::Down | KeyCode::Char('j') => self.scroll_help(1),
                KeyCode::Up | KeyCode::Char('k') => self.scroll_help(-1),
                KeyCode::PageDown => self.scroll_help(10),
                KeyCode::PageUp => self.scroll_help(-10),
                _ => {
                    self.help = false;
                    self.help_offset = 0;
                }
            }
            return None;
        }
        let cleared_status = self.status.take().is_some();
        if self.popup.is_some() {
            return self.popup_key(key);
        }
        if self.input.is_some() {
            self.type_key(key);
            self.follow();
            return None;
        }
        match keymap::command(key) {
            Some(command) => Some(Action::Command(command)),
            None => {
                self.dirty = cleared_status;
                None
            }
        }
    }

    fn type_key(&mut self, key: KeyEvent) {
        let Some(input) = &mut self.input else {
            return;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Enter => {
                self.input = None;
                return;
            }
            KeyCode::Esc => {
                let input = self.input.take().expect("input is open");
                self.apply_input(input.kind, input.before);
                if let (Some(model), Some(key)) = (&self.model, input.selected_before) {
                    self.lists[self.screen.index()].select_key(model, &key);
                }
                return;
            }
            KeyCode::Char('u') if ctrl => input.text.clear(),
            KeyCode::Backspace => {
                input.text.pop();
            }
            KeyCode::Char(c) if !ctrl => input.text.push(c),
            _ => {
                self.dirty = false;
                return;
            }
        }
        let (kind, text) = (input.kind, input.text.clone());
        self.apply_input(kind, text);
    }

    fn apply_input(&mut self, kind: InputKind, text: String) {
        let Some(model) = self.model.take() else {
            self.set_input_text(kind, text);
            return;
        };
        match kind {
            InputKind::Search => {
                self.search = text;
                if let Some(row) = self.list().find(&model, &self.search, true, false) {
                    self.list_mut().select(row);
                }
            }
            InputKind::Filter => {
                let list = self.list_mut();
                list.filter = text;
                list.rebuild(&model);
            }
        }
        self.model = Some(model);
    }

    fn set_input_text(&mut self, kind: InputKind, text: String) {
        match kind {
            InputKind::Search => self.search = text,
            InputKind::Filter => self.list_mut().filter = text,
        }
    }

    fn open_input(&mut self, kind: InputKind) {
        let before = match kind {
            InputKind::Search => self.search.clone(),
            InputKind::Filter => self.list().filter.clone(),
        };
        // A search starts afresh (as in vim and less); a filter is edited in place.
        let text = match kind {
            InputKind::Search => String::new(),
            InputKind::Filter => before.clone(),
        };
        self.input = Some(Input {
            kind,
            text,
            before,
            selected_before: self
                .model
                .as_deref()
                .and_then(|m| self.list().selected_key(m)),
        });
    }

    fn mouse(&mut self, mouse: MouseEvent) {
        let at = Position::new(mouse.column, mouse.row);
        let areas = Areas::new(self.size, self.screen);
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) if self.help => self.help = false,
            _ if self.help => self.dirty = false,
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp if self.detail.is_some() => {
                let delta = if mouse.kind == MouseEventKind::ScrollDown {
                    WHEEL_ROWS
                } else {
                    -WHEEL_ROWS
                };
                if let Some(detail) = &mut self.detail {
                    detail.move_by(delta);
                }
            }
            // While a search or filter is typed, it belongs to this screen.
            MouseEventKind::Down(MouseButton::Left)
                if areas.tabs.contains(at) && self.input.is_none() =>
            {
                if let Some(screen) = crate::tui::ui::tab_at(mouse.column) {
                    self.switch_to(screen);
                }
            }
            MouseEventKind::Down(MouseButton::Left) if self.detail.is_some() => {
                let detail = self.detail.as_mut().expect("checked");
                let lines = crate::tui::widgets::detail::split(detail, areas.body).1;
                let line = detail.offset + usize::from(mouse.row.saturating_sub(lines.y));
                if lines.contains(at) && line < detail.page.entries.len() {
                    detail.selected = line;
                } else {
                    self.dirty = false;
                }
            }
            MouseEventKind::ScrollDown => self.list_mut().move_by(WHEEL_ROWS),
            MouseEventKind::ScrollUp => self.list_mut().move_by(-WHEEL_ROWS),
            MouseEventKind::Down(MouseButton::Left) if areas.rows.contains(at) => {
                let list = self.list_mut();
                let row = list.offset + usize::from(mouse.row - areas.rows.y);
                if row < list.rows.len() {
                    list.select(row);
                }
            }
            _ => self.dirty = false,
        }
    }

    fn command(&mut self, command: Command) -> Option<Action> {
        let page = self.page() as isize;
        if let Some(detail) = &mut self.detail {
            match command {
                Command::Up => detail.step(false),
                Command::Down => detail.step(true),
                Command::PageUp => detail.move_by(-page),
                Command::PageDown => detail.move_by(page),
                Command::Top => detail.selected = 0,
                Command::Bottom => detail.move_by(isize::MAX),
                Command::DrillIn => self.follow_link(),
                Command::Describe
                | Command::Search
                | Command::Filter
                | Command::NextMatch
                | Command::PreviousMatch
                | Command::SortNext
                | Command::SortInvert
                | Command::ToggleTree
                | Command::ToggleFold
                | Command::Unfold
                | Command::Fold
                | Command::NextType
                | Command::NextHierarchy => self.dirty = false,
                // Another screen: a new start (`switch_to`), the detail closed.
                Command::NextScreen | Command::PreviousScreen | Command::Show(_) => {
                    self.detail = None;
                    return self.command(command);
                }
                _ => return self.list_command(command),
            }
            self.follow();
            return None;
        }
        self.list_command(command)
    }

    fn list_command(&mut self, command: Command) -> Option<Action> {
        let page = self.page() as isize;
        match command {
            Command::Up => self.list_mut().move_by(-1),
            Command::Down => self.list_mut().move_by(1),
            Command::PageUp => self.list_mut().move_by(-page),
            Command::PageDown => self.list_mut().move_by(page),
            Command::Top => self.list_mut().select(0),
            Command::Bottom => self.list_mut().select(usize::MAX),
            Command::NextScreen => self.switch_to(Screen::ALL[(self.screen.index() + 1) % SCREENS]),
            Command::PreviousScreen => {
                self.switch_to(Screen::ALL[(self.screen.index() + SCREENS - 1) % SCREENS])
            }
            Command::Show(screen) => self.switch_to(screen),
            Command::DrillIn => self.drill_in(),
            Command::Describe => self.describe_selection(),
            Command::PidTree => self.pid_tree(),
            Command::NextType => self.next_type(),
            Command::NextHierarchy => self.next_hierarchy(),
            Command::Back => self.go_back(),
            Command::Search => self.open_input(InputKind::Search),
            Command::Filter => self.open_input(InputKind::Filter),
            Command::NextMatch | Command::PreviousMatch => {
                let forward = command == Command::NextMatch;
                if let Some(model) = &self.model
                    && let Some(row) = self.list().find(model, &self.search, forward, true)
                {
                    self.lists[self.screen.index()].select(row);
                }
            }
            Command::SortNext => {
                let columns = self.list().spec().columns.len();
                self.rebuild_with(|l| l.sort = (l.sort + 1) % columns);
            }
            Command::SortInvert => self.rebuild_with(|l| l.descending = !l.descending),
            Command::ToggleTree => self.rebuild_with(|l| l.tree = !l.tree),
            Command::ToggleFold => self.fold(None),
            Command::Unfold => self.fold(Some(false)),
            Command::Fold => self.fold(Some(true)),
            Command::Pause => {
                self.paused = !self.paused;
                self.follow();
                return Some(Action::Collector(Control::Pause(self.paused)));
            }
            Command::Refresh => return Some(Action::Collector(Control::RefreshNow)),
            Command::SaveSettings => return Some(Action::SaveConfig(self.settings())),
            Command::Help => self.help = true,
            Command::Quit => self.quit = true,
            Command::Signal => return self.signal(),
            Command::EditLimits => self.edit_limits(),
            Command::Freeze => return self.freeze(),
            Command::Move => self.move_prompt(),
            Command::Undo => return self.undo(),
            Command::Shell => return self.shell(),
            Command::Unshare => {
                let own = (self.model.as_deref())
                    .and_then(|m| m.process(std::process::id() as i32))
                    .and_then(|p| p.security.as_ref());
                self.popup = Some(Popup::Unshare(UnshareForm {
                    own: own.cloned(),
                    ..UnshareForm::default()
                }));
            }
            Command::StepBack => return self.replay_command(Control::Step(-1)),
            Command::StepForward => return self.replay_command(Control::Step(1)),
            Command::NextOom => return self.replay_command(Control::NextOom),
            Command::JumpTo => match self.replay {
                Some(_) => self.ask(Asks::JumpTo),
                None => self.say(ONLY_IN_A_REPLAY, Tone::Warn),
            },
        }
        self.follow();
        None
    }

    /// Keys while a popup is open: typing into a form or prompt, y/n on a confirmation.
    fn popup_key(&mut self, key: KeyEvent) -> Option<Action> {
        let Some(popup) = &mut self.popup else {
            return None;
        };
        let typed = match key.code {
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => Some(c),
            _ => None,
        };
        match popup {
            Popup::Unshare(form) => match key.code {
                KeyCode::Esc => self.popup = None,
                KeyCode::Up | KeyCode::BackTab => form.selected = form.selected.saturating_sub(1),
                KeyCode::Down | KeyCode::Tab => {
                    form.selected = (form.selected + 1).min(form.rows() - 1)
                }
                KeyCode::Char(' ') => form.toggle(),
                KeyCode::Enter => match form.args() {
                    Some(args) => {
                        self.popup = None;
                        self.before_shell = self.model.as_deref().map(|m| {
                            let mut known: Vec<NsRef> =
                                m.namespaces.iter().map(|n| n.ns_ref()).collect();
                            known.sort();
                            known
                        });
                        return Some(Action::Run(args));
                    }
                    None => self.say("check at least one namespace type (Space)", Tone::Warn),
                },
                _ => self.dirty = false,
            },
            Popup::Limits(form) => match key.code {
                KeyCode::Esc => self.popup = None,
                KeyCode::Up | KeyCode::BackTab => form.selected = form.selected.saturating_sub(1),
                KeyCode::Down | KeyCode::Tab => {
                    form.selected = (form.selected + 1).min(form.fields.len() - 1)
                }
                KeyCode::Backspace => {
                    form.fields[form.selected].input.pop();
                }
                KeyCode::Enter => {
                    let assignments = form.assignments();
                    if assignments.is_empty() {
                        self.popup = None;
                        self.status = Some(("no value typed: nothing changed".into(), Tone::Dim));
                        return None;
                    }
                    let request = Request::Limits {
                        spec: form.spec.clone(),
                        assignments,
                    };
                    self.popup = None;
                    return Some(Action::Plan(request));
                }
                _ => match typed {
                    Some(c) => form.fields[form.selected].input.push(c),
                    None => self.dirty = false,
                },
            },
            Popup::Prompt { asks, text } => match key.code {
                KeyCode::Esc => self.popup = None,
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Enter => {
                    let (asks, text) = (*asks, text.trim().to_owned());
                    self.popup = None;
                    return self.answered(asks, text);
                }
                _ => match typed {
                    Some(c) => text.push(c),
                    None => self.dirty = false,
                },
            },
            Popup::Confirm { plan, request, .. } => match (key.code, typed) {
                // Only y: an Enter typed (or pasted) ahead must not confirm unseen.
                (_, Some('y')) => {
                    let (plan, request) = (plan.clone(), request.clone());
                    self.popup = None;
                    return Some(Action::Execute(request, plan));
                }
                (KeyCode::Esc, _) | (_, Some('n')) => {
                    self.popup = None;
                    self.status = Some(("cancelled: nothing changed".into(), Tone::Dim));
                }
                (_, Some('s')) => {
                    let Request::Signal {
                        pid,
                        start_time,
                        signal,
                    } = *request
                    else {
                        self.dirty = false;
                        return None;
                    };
                    let at = SIGNALS.iter().position(|&s| s == signal).unwrap_or(0);
                    let request = Request::Signal {
                        pid,
                        start_time,
                        signal: SIGNALS[(at + 1) % SIGNALS.len()],
                    };
                    return Some(Action::Plan(request));
                }
                _ => self.dirty = false,
            },
        }
        None
    }

    /// The selected cgroup (on a cgroup screen or its detail).
    fn selected_cgroup(&self) -> Option<&crate::model::cgroup::Cgroup> {
        let model = self.model.as_deref()?;
        match self.selected_subject()? {
            Subject::Cgroup { hierarchy, path } => model.cgroup(hierarchy, &path),
            _ => None,
        }
    }

    /// The selected process: (pid, start time).
    fn selected_process(&self) -> Option<(i32, u64)> {
        match self.selected_subject()? {
            Subject::Process { pid, start_time } => Some((pid, start_time)),
            Subject::PidTree {
                focus: Some(pid), ..
            } => self
                .model
                .as_deref()?
                .process(pid)
                .map(|p| (p.pid, p.start_time)),
            Subject::Namespace(ns) => {
                let model = self.model.as_deref()?;
                let p = model.process(model.namespace(ns)?.pid?)?;
                Some((p.pid, p.start_time))
            }
            _ => None,
        }
    }

    fn say(&mut self, text: &str, tone: Tone) {
        self.status = Some((text.to_owned(), tone));
    }

    /// `[controllers:]path` of a cgroup, as the ops layer takes it.
    fn spec_of(
        &self,
        c: &crate::model::cgroup::Cgroup,
        controller: Option<&str>,
    ) -> Option<String> {
        let host = &self.model.as_deref()?.host;
        host.hierarchy(c.hierarchy)?.spec(&c.path, controller)
    }

    fn signal(&mut self) -> Option<Action> {
        if let Some(c) = self.selected_cgroup() {
            let Some(spec) = self.spec_of(c, None) else {
                self.say("this cgroup's hierarchy is gone", Tone::Warn);
                return None;
            };
            return Some(Action::Plan(Request::KillCgroup { spec }));
        }
        match self.selected_process() {
            Some((pid, start_time)) => Some(Action::Plan(Request::Signal {
                pid,
                start_time,
                signal: SIGNALS[0],
            })),
            None => {
                self.say("select a process or a cgroup to signal", Tone::Warn);
                None
            }
        }
    }

    fn edit_limits(&mut self) {
        let form = self
            .selected_cgroup()
            .and_then(|c| LimitForm::of(c, &self.model.as_deref()?.host));
        match form {
            Some(form) => self.popup = Some(Popup::Limits(form)),
            None => self.say(
                "select a cgroup of a hierarchy with memory, cpu or pids limits (cgroup2, or v1 memory/cpu/pids)",
                Tone::Warn,
            ),
        }
    }

    fn freeze(&mut self) -> Option<Action> {
        let Some(c) = self.selected_cgroup() else {
            self.say("select a cgroup to freeze or thaw", Tone::Warn);
            return None;
        };
        let model = self.model.as_deref()?;
        // Its own state file (cgroup2's, or the v1 freezer's), else the freezer cgroup of the
        // same path, else an offer to make that one.
        let request = match self.spec_of(c, Some("freezer")) {
            Some(spec) => Request::Freeze {
                spec,
                frozen: c.frozen != Some(true),
            },
            None => {
                let freezer = (model.host.hierarchies.iter())
                    .find(|h| h.version == 1 && h.controllers.iter().any(|k| k == "freezer"));
                let Some(freezer) = freezer else {
                    self.say(
                        "freezing needs cgroup2 or the v1 freezer hierarchy, and neither is mounted",
                        Tone::Warn,
                    );
                    return None;
                };
                match model.cgroup(freezer.id, &c.path) {
                    Some(twin) => Request::Freeze {
                        spec: format!("freezer:{}", c.path),
                        frozen: twin.frozen != Some(true),
                    },
                    None => Request::FreezeInNewFreezer {
                        spec: self.spec_of(c, None)?,
                    },
                }
            }
        };
        Some(Action::Plan(request))
    }

    fn move_prompt(&mut self) {
        match self.selected_process() {
            Some((pid, start_time)) => self.ask(Asks::MoveTo { pid, start_time }),
            None => self.say("select a process to move", Tone::Warn),
        }
    }

    fn ask(&mut self, asks: Asks) {
        self.popup = Some(Popup::Prompt {
            asks,
            text: String::new(),
        });
    }

    /// What a prompt's Enter does with the line typed.
    fn answered(&mut self, asks: Asks, text: String) -> Option<Action> {
        match asks {
            Asks::MoveTo { pid, start_time } => Some(Action::Plan(Request::Move {
                pid,
                start_time,
                spec: text,
            })),
            Asks::JumpTo => {
                let at = self.replay?;
                match jump_time(&text, at.time_ms) {
                    Some(time_ms) => Some(Action::Collector(Control::Seek(time_ms))),
                    None => {
                        self.say(
                            &format!("'{text}': accepted: 03:00, 03:00:30, 2026-11-23T03:00:00Z, -10m, +30s"),
                            Tone::Alert,
                        );
                        None
                    }
                }
            }
        }
    }

    /// A replay command, or why there is nothing to replay.
    fn replay_command(&mut self, control: Control) -> Option<Action> {
        if self.replay.is_none() {
            self.say(ONLY_IN_A_REPLAY, Tone::Warn);
            return None;
        }
        Some(Action::Collector(control))
    }

    fn undo(&mut self) -> Option<Action> {
        match self.undo.clone() {
            Some(writes) if !writes.is_empty() => Some(Action::Plan(Request::Restore { writes })),
            _ => {
                self.say("no limit change to undo", Tone::Dim);
                None
            }
        }
    }

    fn shell(&mut self) -> Option<Action> {
        let model = self.model.as_deref()?;
        // A namespace row: exactly that namespace, also one no process is in.
        if let Some(Subject::Namespace(ns)) = self.selected_subject() {
            if model.host_namespaces().get(&ns.kind) == Some(&ns.ino) {
                let text = format!("{}:[{}] is the host's: nothing to enter", ns.kind, ns.ino);
                self.say(&text, Tone::Warn);
                return None;
            }
            return Some(Action::Run(vec![
                "enter".into(),
                "--ns".into(),
                ns.ino.to_string(),
                "--ns-type".into(),
                ns.kind.to_string(),
            ]));
        }
        let shares_all = |pid: i32| {
            model.process(pid).is_some_and(|p| {
                !p.namespaces.is_empty() && &p.namespaces == model.host_namespaces()
            })
        };
        match self.selected_process() {
            Some((pid, _)) if shares_all(pid) => {
                self.say(
                    &format!("PID {pid} is in the host's namespaces: nothing to enter"),
                    Tone::Warn,
                );
                None
            }
            Some((pid, start_time)) => Some(Action::Run(vec![
                "enter".into(),
                "-t".into(),
                pid.to_string(),
                "--start-time".into(),
                start_time.to_string(),
            ])),
            None => {
                self.say("select a process or a namespace to enter", Tone::Warn);
                None
            }
        }
    }

    /// The selection's subject: the row under the cursor, or the open detail's.
    fn selected_subject(&self) -> Option<Subject> {
        if let Some(detail) = &self.detail {
            return Some(detail.subject.clone());
        }
        let model = self.model.as_deref()?;
        self.list().selected_key(model).map(Subject::of)
    }

    fn describe_selection(&mut self) {
        match self.selected_subject() {
            Some(subject) => {
                self.push_place();
                self.open_detail(subject, None);
            }
            None => self.dirty = false,
        }
    }

    /// The teaching view of the selection's pid namespace: a process's (on its own line), or
    /// a pid namespace itself.
    fn pid_tree(&mut self) {
        let subject = match (self.selected_subject(), self.model.as_deref()) {
            (Some(Subject::Process { pid, .. }), Some(model)) => model
                .process(pid)
                .and_then(|p| p.pid_ns())
                .map(|ns| Subject::PidTree {
                    ns,
                    focus: Some(pid),
                }),
            (Some(Subject::Namespace(ns)), _) if ns.kind == NsType::Pid => Some(Subject::PidTree {
                ns: ns.ino,
                focus: None,
            }),
            _ => None,
        };
        match subject {
            Some(subject) => {
                self.push_place();
                self.open_detail(subject, None);
            }
            None => self.dirty = false,
        }
    }

    /// Namespaces screen: all types, then each type alone, in turn.
    fn next_type(&mut self) {
        if self.screen != Screen::Namespaces {
            self.dirty = false;
            return;
        }
        // The teaching types first: pid (its tree of levels), user (who owns what).
        const ORDER: [NsType; 8] = [
            NsType::Pid,
            NsType::User,
            NsType::Cgroup,
            NsType::Ipc,
            NsType::Mnt,
            NsType::Net,
            NsType::Time,
            NsType::Uts,
        ];
        let next = match self.list().scope {
            Scope::Kind(kind) => {
                let at = ORDER.iter().position(|&k| k == kind).unwrap_or(ORDER.len());
                ORDER.get(at + 1).copied()
            }
            _ => Some(ORDER[0]),
        };
        self.rebuild_with(|l| l.scope = next.map_or(Scope::All, Scope::Kind));
    }

    fn next_hierarchy(&mut self) {
        let next = match (self.screen, &self.model) {
            (Screen::Processes, Some(model)) => processes::next_hierarchy(&self.list().view(model)),
            _ => None,
        };
        let Some(id) = next else {
            self.dirty = false;
            return;
        };
        self.rebuild_with(|l| l.hierarchy = Some(id));
        let column = processes::cgroup_column();
        if !crate::tui::widgets::table::shows(self.list(), self.size.width, column) {
            self.say(
                "the CGROUP column does not fit at this width: widen the terminal to see it",
                Tone::Warn,
            );
        }
    }

    fn follow_link(&mut self) {
        let Some(link) = self.detail.as_ref().and_then(|d| d.link()).cloned() else {
            self.dirty = false;
            return;
        };
        self.push_place();
        match link {
            Link::Open(subject) => self.open_detail(subject, None),
            Link::Processes(scope) => {
                self.detail = None;
                self.show_processes(scope);
            }
        }
    }

    fn show_processes(&mut self, scope: Scope) {
        let Some(model) = self.model.take() else {
            return;
        };
        self.show(Screen::Processes);
        let list = self.list_mut();
        list.scope = scope;
        list.filter.clear();
        list.rebuild_at(&model, None);
        list.select(0);
        self.model = Some(model);
    }

    fn rebuild_with(&mut self, change: impl FnOnce(&mut ListState)) {
        let index = self.screen.index();
        change(&mut self.lists[index]);
        if let Some(model) = &self.model {
            self.lists[index].rebuild(model);
        }
    }

    /// Folds, unfolds or toggles the node under the cursor; folding a leaf (or a folded node)
    /// moves to its parent, as in a file manager.
    fn fold(&mut self, fold: Option<bool>) {
        let Some(model) = &self.model else {
            return;
        };
        let list = &mut self.lists[self.screen.index()];
        if list.fold(model, fold) || fold != Some(true) || !list.tree {
            return;
        }
        let Some(depth) = list.rows.get(list.selected).map(|r| r.depth) else {
            return;
        };
        if let Some(parent) = list.rows[..list.selected]
            .iter()
            .rposition(|r| r.depth < depth)
        {
            list.select(parent);
        }
    }

    fn drill_in(&mut self) {
        let Some(model) = self.model.as_deref() else {
            return;
        };
        let Some(item) = self.list().selected_item() else {
            return;
        };
        let target = match self.screen {
            Screen::Namespaces => Some(Target::Processes(Scope::Namespace(
                model.namespaces[item].ns_ref(),
            ))),
            Screen::Cgroups => {
                let c = &model.cgroups[item];
                Some(Target::Processes(Scope::Cgroup {
                    hierarchy: c.hierarchy,
                    path: c.path.clone(),
                }))
            }
            Screen::Processes => {
                let view = self.list().view(model);
                processes::cgroup_of(&view, &model.processes[item]).map(Target::Cgroup)
            }
            Screen::Pressure | Screen::Limits => Some(Target::Cgroup(cgroups::key(model, item))),
            Screen::Oom => oom::cgroup_key(model, &model.oom_events[item]).map(Target::Cgroup),
        };
        match target {
            Some(Target::Processes(scope)) => {
                self.push_place();
                self.show_processes(scope);
            }
            Some(Target::Cgroup(key)) => {
                self.push_place();
                self.show(Screen::Cgroups);
                let model = self.model.take().expect("checked above");
                self.list_mut().reveal(&model, &key);
                self.model = Some(model);
            }
            None => self.dirty = false,
        }
    }

    fn go_back(&mut self) {
        if let Some(place) = self.back.pop() {
            self.show(place.screen);
            self.detail = None;
            if let Some((subject, line)) = place.detail {
                self.open_detail(subject, Some(line));
            }
            if let Some(model) = &self.model {
                let processes = &mut self.lists[Screen::Processes.index()];
                if processes.scope != place.processes_scope
                    || processes.filter != place.processes_filter
                {
                    processes.scope = place.processes_scope;
                    processes.filter = place.processes_filter;
                    processes.rebuild_at(model, None);
                }
                if let Some(key) = place.key {
                    self.lists[self.screen.index()].reveal(model, &key);
                }
            }
            return;
        }
        if self.detail.take().is_some() {
            return;
        }
        let Some(model) = self.model.take() else {
            return;
        };
        let list = self.list_mut();
        if !list.filter.is_empty() {
            list.filter.clear();
            list.rebuild(&model);
        } else if list.scope != Scope::All {
            list.scope = Scope::All;
            list.rebuild(&model);
        } else {
            self.search.clear();
        }
        self.model = Some(model);
    }
}

enum Target {
    Processes(Scope),
    Cgroup(RowKey),
}

const ONLY_IN_A_REPLAY: &str = "only in a replay: nstop --replay DIR";

/// Where a replay jumps, in ms since the epoch, from a line typed at frame time `now_ms`: a UTC
/// time, a time of day on the frame's (UTC) day, or an offset from the frame (-10m, +30s).
fn jump_time(text: &str, now_ms: u64) -> Option<u64> {
    if let Some(secs) = crate::model::parse_utc(text) {
        return Some(secs * 1000);
    }
    let age = |t: &str| crate::model::parse_age(t)?.checked_mul(1000);
    if let Some(later) = text.strip_prefix('+') {
        return now_ms.checked_add(age(later)?);
    }
    if let Some(earlier) = text.strip_prefix('-') {
        return Some(now_ms.saturating_sub(age(earlier)?));
    }
    let parts: Vec<u64> = text
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (h, m, s) = match parts[..] {
        [h, m] => (h, m, 0),
        [h, m, s] => (h, m, s),
        _ => return None,
    };
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let day = now_ms / 86_400_000 * 86_400;
    Some((day + h * 3600 + m * 60 + s) * 1000)
}
