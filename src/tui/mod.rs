//! The interactive explorer. Three threads feed one channel — terminal input, the collector's
//! models, and signals — and the main thread turns each into an `Action` for `App::update`,
//! then draws when something changed. The terminal is restored on every way out.

pub mod action;
pub mod app;
pub mod config;
pub mod detail;
pub mod keymap;
pub mod list;
pub mod panes;
pub mod popup;
pub mod theme;
pub mod ui;
pub mod widgets;

use std::io::{self, IsTerminal, Write};
use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event as TermEvent, MouseEventKind,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::layout::Rect;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::cli::UsageError;
use crate::collector::{Control, Delivery};
use crate::model::history::History;
use crate::ops::{self, Applied, LiveOps, Plan, Request};
use crate::sys::{self, Roots};
use action::Action;
use app::App;
use theme::Theme;

/// How far back the charts reach.
const HISTORY_WINDOW: Duration = Duration::from_secs(600);

enum Event {
    Terminal(TermEvent),
    Collected(Delivery),
    Signal(i32),
    InputFailed(io::Error),
}

/// Puts the terminal back as we found it; every step is tried even when one fails (after
/// SIGHUP there may be no terminal left to write to).
fn restore() {
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        Show
    );
    let _ = disable_raw_mode();
}

/// Raw mode, alternate screen and mouse capture while alive; restored on drop and on a panic
/// in any thread (which then ends the process: a half-dead TUI on a restored terminal helps
/// nobody).
struct TerminalMode;

impl TerminalMode {
    fn enter() -> io::Result<TerminalMode> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
            std::process::exit(101);
        }));
        enable_raw_mode()?;
        let mode = TerminalMode;
        execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
        Ok(mode)
    }
}

impl Drop for TerminalMode {
    fn drop(&mut self) {
        restore();
    }
}

/// Makes and carries out plans for the explorer: the live system, or a recording fake.
pub trait Operator {
    fn plan(&mut self, request: &Request) -> Result<Plan, String>;
    fn execute(&mut self, plan: &Plan) -> Result<Vec<Applied>, String>;
}

pub struct LiveOperator {
    pub roots: Roots,
}

impl Operator for LiveOperator {
    fn plan(&mut self, request: &Request) -> Result<Plan, String> {
        ops::plan(request, &self.roots)
    }

    fn execute(&mut self, plan: &Plan) -> Result<Vec<Applied>, String> {
        ops::execute(plan, &mut LiveOps).map_err(|ops::Refused(why)| why)
    }
}

/// Feeds `action` and its follow-ups to the app, making and carrying out plans on the way.
/// What is left is for the main loop: collector controls, terminal hand-overs, saving settings.
pub fn settle(app: &mut App, action: Action, operator: &mut dyn Operator) -> Vec<Action> {
    let mut left = Vec::new();
    let mut next = Some(action);
    // Each step says whether it changed the screen; a later no-op must not hide an earlier
    // change (a key that cleared the status line, then a command that did nothing).
    let mut changed = false;
    while let Some(action) = next.take() {
        next = match action {
            Action::Plan(request) => {
                let plan = operator.plan(&request);
                Some(Action::Planned(request, plan))
            }
            Action::Execute(request, plan) => {
                let result = operator.execute(&plan);
                Some(Action::Executed(request, plan, result))
            }
            Action::Collector(_) | Action::Run(_) | Action::SaveConfig(_) => {
                left.push(action);
                None
            }
            action => {
                let next = app.update(action);
                changed |= app.dirty;
                next
            }
        };
    }
    app.dirty = changed;
    left
}

/// While a child (a shell in other namespaces) owns the terminal, the input thread must not
/// read its keys, and the signals its Ctrl-C raises are not ours.
#[derive(Default)]
struct InputGate {
    /// Asked by the main thread.
    pause: AtomicBool,
    /// Acknowledged by the input thread: it is not inside a read.
    parked: AtomicBool,
    child: AtomicBool,
}

/// Gives the terminal to `nstop ARGS...` (re-executed: setns needs a single-threaded
/// process) until it exits, then takes it back.
fn hand_over(args: &[String], gate: &InputGate) -> Result<u8, String> {
    gate.pause.store(true, Ordering::Relaxed);
    let deadline = std::time::Instant::now() + Duration::from_millis(500);
    while !gate.parked.load(Ordering::Relaxed) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    gate.child.store(true, Ordering::Relaxed);
    restore();
    // The terminal as nstop left it: a child that exits without resetting its own settings
    // must not have them saved as the ones to restore at the end.
    // SAFETY: termios is plain data filled by tcgetattr.
    let mut settings: nix::libc::termios = unsafe { std::mem::zeroed() };
    let saved = unsafe { nix::libc::tcgetattr(nix::libc::STDIN_FILENO, &mut settings) } == 0;
    let started = std::time::Instant::now();
    let ran = std::env::current_exe()
        .map_err(|e| format!("finding nstop's own binary: {e}"))
        .and_then(|exe| {
            std::process::Command::new(exe)
                .args(args)
                .status()
                .map_err(|e| format!("running nstop {}: {e}", args.join(" ")))
        })
        .map(|status| {
            use std::os::unix::process::ExitStatusExt;
            status
                .code()
                .map_or_else(|| 128 + status.signal().unwrap_or(0) as u8, |c| c as u8)
        });
    take_terminal_back();
    if saved {
        // SAFETY: settings read by tcgetattr above.
        unsafe { nix::libc::tcsetattr(nix::libc::STDIN_FILENO, nix::libc::TCSANOW, &settings) };
    }
    // A quick failure (nstop enter refused) printed why: leave it readable.
    if matches!(ran, Ok(code) if code != 0) && started.elapsed() < Duration::from_secs(2) {
        let _ = writeln!(io::stdout(), "nstop: press Enter to return to the explorer");
        let _ = io::stdin().read_line(&mut String::new());
    }
    // Keys typed while the shell ran that it never read are not commands for the explorer.
    // SAFETY: discards the terminal's unread input.
    unsafe { nix::libc::tcflush(nix::libc::STDIN_FILENO, nix::libc::TCIFLUSH) };
    let _ = enable_raw_mode();
    let _ = execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture);
    gate.child.store(false, Ordering::Relaxed);
    gate.pause.store(false, Ordering::Relaxed);
    ran
}

/// An interactive shell makes its own process group the terminal's foreground; if it did not
/// hand it back, nstop would be stopped (SIGTTOU) on its next terminal setting.
fn take_terminal_back() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: SIGTTOU ignored around one tcsetpgrp, then its default put back.
    unsafe {
        let _ = signal(Signal::SIGTTOU, SigHandler::SigIgn);
        nix::libc::tcsetpgrp(nix::libc::STDIN_FILENO, nix::libc::getpgrp());
        let _ = signal(Signal::SIGTTOU, SigHandler::SigDfl);
    }
}

/// Mouse motion is reported but means nothing here: it must not cost a redraw.
fn is_noise(event: &TermEvent) -> bool {
    matches!(event, TermEvent::Mouse(m) if matches!(m.kind, MouseEventKind::Moved | MouseEventKind::Drag(_)))
        || matches!(event, TermEvent::FocusGained | TermEvent::FocusLost)
}

/// Refuses every change: a replay shows the past of a host, maybe another one.
struct ReplayOperator;

const REPLAY_CHANGES_NOTHING: &str =
    "a replay shows a recording: nothing is changed from it (run nstop without --replay)";

impl Operator for ReplayOperator {
    fn plan(&mut self, _: &Request) -> Result<Plan, String> {
        Err(REPLAY_CHANGES_NOTHING.into())
    }

    fn execute(&mut self, _: &Plan) -> Result<Vec<Applied>, String> {
        Err(REPLAY_CHANGES_NOTHING.into())
    }
}

/// Where the explorer's models come from.
pub enum Source {
    Live(Roots),
    /// A recording, from this frame on.
    Replay(crate::store::Recording, usize),
}

/// The explorer's settings as loaded: the file `W` writes to (`--config`, else the user's),
/// and why the files could not be used, when they could not.
pub struct Settings {
    pub config: config::Config,
    pub named: Option<std::path::PathBuf>,
    pub problem: Option<String>,
}

/// Runs the explorer until q, Ctrl-C or a signal; the exit status is 0, or 128 + the signal.
pub fn run(source: Source, interval: Duration, settings: Settings) -> anyhow::Result<u8> {
    if !io::stdin().is_terminal() || !io::stdout().is_terminal() {
        return Err(UsageError(
            "the explorer needs a terminal on stdin and stdout; for scripts use `nstop ns`, `nstop cg` or `nstop snapshot --json`"
                .into(),
        )
        .into());
    }
    let (events, inbox) = mpsc::channel::<Event>();

    // Signals are caught before the terminal changes, so one during set-up restores it too.
    let mut signals = Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT])?;
    let signal_handle = signals.handle();
    let to_main = events.clone();
    let gate = Arc::new(InputGate::default());
    let child_running = Arc::clone(&gate);
    std::thread::spawn(move || {
        for signal in signals.forever() {
            // Ctrl-C and Ctrl-\ in a shell nstop started reach nstop too (one process group):
            // they are the shell's.
            let shells = matches!(signal, SIGINT | SIGQUIT);
            if shells && child_running.child.load(Ordering::Relaxed) {
                continue;
            }
            if to_main.send(Event::Signal(signal)).is_err() {
                break;
            }
        }
    });

    let mode = TerminalMode::enter()?;
    // Never dropped: its Drop shows the cursor and, when the terminal hung up, panics printing
    // that it could not; `restore` shows the cursor instead.
    let mut terminal = ManuallyDrop::new(Terminal::new(CrosstermBackend::new(io::stdout()))?);
    terminal.hide_cursor()?;
    terminal.clear()?;

    let to_main = events.clone();
    let deliver = move |delivery| to_main.send(Event::Collected(delivery)).is_ok();
    // A replay's charts span as many frames as they would have live.
    let frame_interval = match &source {
        Source::Replay(recording, _) => recording.interval(),
        Source::Live(_) => interval,
    };
    let replay = matches!(source, Source::Replay(..));
    let (collector, mut operator): (_, Box<dyn Operator>) = match source {
        Source::Live(roots) => (
            crate::collector::spawn(roots.clone(), interval, deliver),
            Box::new(LiveOperator { roots }),
        ),
        Source::Replay(recording, start) => (
            crate::replayer::spawn(recording, start, HISTORY_WINDOW, interval, deliver),
            Box::new(ReplayOperator),
        ),
    };

    let stop_input = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&stop_input);
    let requeue = events.clone();
    let to_main = events;
    let parked = Arc::clone(&gate);
    let input = std::thread::spawn(move || {
        // Polling lets the thread notice `stop` (and a pause) without a key press.
        while !stop.load(Ordering::Relaxed) {
            if parked.pause.load(Ordering::Relaxed) {
                parked.parked.store(true, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            parked.parked.store(false, Ordering::Relaxed);
            let event = match event::poll(Duration::from_millis(100)) {
                Ok(false) => continue,
                Ok(true) => event::read(),
                Err(e) => Err(e),
            };
            let event = match event {
                Ok(event) if is_noise(&event) => continue,
                Ok(event) => Event::Terminal(event),
                Err(e) => Event::InputFailed(e),
            };
            let failed = matches!(event, Event::InputFailed(_));
            if to_main.send(event).is_err() || failed {
                break;
            }
        }
    });

    let size = terminal.size()?;
    let mut app = App::new(Theme::from_env(), Rect::new(0, 0, size.width, size.height));
    app.root = sys::is_root();
    app.history = History::covering(HISTORY_WINDOW, frame_interval);
    // A replay waits on its frame until told to play.
    app.paused = replay;
    app.configure(settings.config);
    if let Some(problem) = settings.problem {
        app.status = Some((
            format!("{problem} (started with the defaults)"),
            panes::Tone::Warn,
        ));
    }
    let outcome = (|| -> anyhow::Result<u8> {
        terminal.draw(|frame| ui::draw(frame, &app))?;
        loop {
            let mut batch: Vec<Event> = vec![inbox.recv()?];
            batch.extend(inbox.try_iter());
            // A model that a newer one in the same batch replaces is not worth sorting.
            let is_model = |e: &Event| matches!(e, Event::Collected(Delivery::Model(_)));
            let newest = batch.iter().rposition(is_model);
            let mut redraw = false;
            // Models in this batch behind a shell were sampled before it ran: stale.
            let mut shell_ran = false;
            // Keys queued behind the one that opened a confirmation (typed ahead, pasted) are
            // dropped: the plan must be seen before a y can count.
            let mut hold_keys = false;
            for (i, event) in batch.into_iter().enumerate() {
                if is_model(&event) && (Some(i) != newest || shell_ran) {
                    continue;
                }
                if hold_keys && matches!(event, Event::Terminal(TermEvent::Key(_))) {
                    continue;
                }
                let confirming = matches!(app.popup, Some(popup::Popup::Confirm { .. }));
                let action = match event {
                    Event::Signal(signal) => return Ok(128 + signal as u8),
                    Event::InputFailed(e) => {
                        return Err(anyhow::anyhow!("reading the terminal: {e}"));
                    }
                    Event::Collected(Delivery::Model(model)) => Action::Collected(model),
                    Event::Collected(Delivery::Described(topic, description)) => {
                        Action::Described(topic, description)
                    }
                    Event::Collected(Delivery::Replay(at)) => Action::Replayed(at),
                    Event::Collected(Delivery::Rewind) => Action::Rewind,
                    Event::Collected(Delivery::Past(model)) => Action::Past(model),
                    Event::Terminal(TermEvent::Key(key)) => Action::Key(key),
                    Event::Terminal(TermEvent::Mouse(mouse)) => Action::Mouse(mouse),
                    Event::Terminal(TermEvent::Resize(width, height)) => {
                        Action::Resize(width, height)
                    }
                    Event::Terminal(_) => continue,
                };
                let mut pending = vec![action];
                while let Some(action) = pending.pop() {
                    for left in settle(&mut app, action, operator.as_mut()) {
                        match left {
                            Action::Collector(control) => {
                                if matches!(control, Control::RefreshNow) {
                                    crate::collector::injected_panic("main");
                                }
                                collector.send(control);
                            }
                            Action::SaveConfig(config) => {
                                let path = config::user_path(settings.named.as_deref());
                                let saved = match path {
                                    Some(path) => config::save(&path, &config).map(|()| path),
                                    None => Err(
                                        "no config file: neither XDG_CONFIG_HOME nor HOME is set"
                                            .into(),
                                    ),
                                };
                                pending.push(Action::SavedConfig(saved));
                            }
                            Action::Run(_) if replay => {
                                pending.push(Action::Ran(Err(REPLAY_CHANGES_NOTHING.into())));
                            }
                            Action::Run(args) => {
                                let ran = hand_over(&args, &gate);
                                shell_ran = true;
                                // Models sampled while the shell ran are stale: what it left
                                // behind shows in the next one.
                                for event in inbox.try_iter().collect::<Vec<_>>() {
                                    if !is_model(&event) {
                                        let _ = requeue.send(event);
                                    }
                                }
                                terminal.clear()?;
                                pending.push(Action::Ran(ran));
                            }
                            _ => {}
                        }
                    }
                    redraw |= app.dirty;
                }
                hold_keys |= !confirming && matches!(app.popup, Some(popup::Popup::Confirm { .. }));
                if app.quit {
                    return Ok(0);
                }
            }
            if redraw {
                terminal.draw(|frame| ui::draw(frame, &app))?;
            }
        }
    })();

    // The input thread stops reading before the shell gets the terminal back, so keys typed
    // right after quitting reach the shell; it is not waited for beyond that: on a terminal that
    // went away a read may never return, and the process exit ends it.
    stop_input.store(true, Ordering::Relaxed);
    let deadline = std::time::Instant::now() + Duration::from_millis(200);
    while !input.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(mode);
    signal_handle.close();
    // Closing the inbox makes the collector's next delivery fail, which ends it; the join waits
    // for the sample in progress at most.
    drop(inbox);
    drop(collector);
    outcome
}
