//! The interactive explorer. Three threads feed one channel — terminal input, the collector's
//! models, and signals — and the main thread turns each into an `Action` for `App::update`,
//! then draws when something changed. The terminal is restored on every way out.

pub mod action;
pub mod app;
pub mod detail;
pub mod keymap;
pub mod list;
pub mod panes;
pub mod theme;
pub mod ui;
pub mod widgets;

use std::io::{self, IsTerminal};
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
use crate::collector::{Collector, Delivery};
use crate::model::history::History;
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

/// Mouse motion is reported but means nothing here: it must not cost a redraw.
fn is_noise(event: &TermEvent) -> bool {
    matches!(event, TermEvent::Mouse(m) if matches!(m.kind, MouseEventKind::Moved | MouseEventKind::Drag(_)))
        || matches!(event, TermEvent::FocusGained | TermEvent::FocusLost)
}

/// Runs the explorer until q, Ctrl-C or a signal; the exit status is 0, or 128 + the signal.
pub fn run(roots: Roots, interval: Duration) -> anyhow::Result<u8> {
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
    std::thread::spawn(move || {
        for signal in signals.forever() {
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
    let collector = Collector::spawn(roots, interval, move |delivery| {
        to_main.send(Event::Collected(delivery)).is_ok()
    });

    let stop_input = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&stop_input);
    let to_main = events;
    let input = std::thread::spawn(move || {
        // Polling lets the thread notice `stop` without a key press.
        while !stop.load(Ordering::Relaxed) {
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
    app.history = History::covering(HISTORY_WINDOW, interval);
    let outcome = (|| -> anyhow::Result<u8> {
        terminal.draw(|frame| ui::draw(frame, &app))?;
        loop {
            let mut batch: Vec<Event> = vec![inbox.recv()?];
            batch.extend(inbox.try_iter());
            // A model that a newer one in the same batch replaces is not worth sorting.
            let is_model = |e: &Event| matches!(e, Event::Collected(Delivery::Model(_)));
            let newest = batch.iter().rposition(is_model);
            let mut redraw = false;
            for (i, event) in batch.into_iter().enumerate() {
                if is_model(&event) && Some(i) != newest {
                    continue;
                }
                let action = match event {
                    Event::Signal(signal) => return Ok(128 + signal as u8),
                    Event::InputFailed(e) => {
                        return Err(anyhow::anyhow!("reading the terminal: {e}"));
                    }
                    Event::Collected(Delivery::Model(model)) => Action::Collected(model),
                    Event::Collected(Delivery::Described(ns, detail)) => {
                        Action::Described(ns, detail)
                    }
                    Event::Terminal(TermEvent::Key(key)) => Action::Key(key),
                    Event::Terminal(TermEvent::Mouse(mouse)) => Action::Mouse(mouse),
                    Event::Terminal(TermEvent::Resize(width, height)) => {
                        Action::Resize(width, height)
                    }
                    Event::Terminal(_) => continue,
                };
                let mut next = Some(action);
                while let Some(action) = next.take() {
                    match action {
                        Action::Collector(control) => collector.send(control),
                        action => {
                            next = app.update(action);
                            redraw |= app.dirty;
                        }
                    }
                }
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
