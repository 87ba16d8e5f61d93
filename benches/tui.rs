//! What the TUI costs per tick and per frame on the live host: a new model re-sorting every
//! screen's rows, and drawing each screen at 120×40 (only the rows on screen are built); the
//! same with the largest detail pages open, which are rebuilt from each model.
//! `cargo bench --bench tui` (as root, after `scripts/populate.sh start 10000` for scale).

use std::hint::black_box;
use std::time::{Duration, Instant};

use nstop::model::Model;
use nstop::sys::{self, Collect, Roots};
use nstop::tui::action::{Action, Command};
use nstop::tui::app::App;
use nstop::tui::panes::Screen;
use nstop::tui::theme::Theme;
use nstop::tui::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let roots = Roots::default();
    let first = sys::sample(&roots, Collect::Everything).expect("sample");
    let second = sys::sample(&roots, Collect::Everything).expect("sample");
    let model = Model::new(&second, Some(&first));
    println!(
        "{} processes, {} namespaces, {} cgroups",
        model.processes.len(),
        model.namespaces.len(),
        model.cgroups.len()
    );
    let mut app = App::new(Theme { color: true }, Rect::new(0, 0, 120, 40));
    let mut models: Vec<Box<Model>> = (0..21).map(|_| Box::new(model.clone())).collect();
    let accept = time(21, || {
        let model = models.pop().expect("one per run");
        black_box(app.update(Action::Collected(Ok(model))));
    });
    println!(
        "new model (every screen re-sorted, history appended): {:.2} ms",
        accept.as_secs_f64() * 1e3
    );
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    for screen in Screen::ALL {
        app.update(Action::Command(Command::Show(screen)));
        let frame = time(51, || {
            terminal.draw(|f| ui::draw(f, &app)).unwrap();
        });
        println!(
            "frame, {:<10} ({:>5} rows): {:.3} ms",
            screen.title(),
            app.list().rows.len(),
            frame.as_secs_f64() * 1e3
        );
    }
    app.update(Action::Command(Command::Show(Screen::Processes)));
    let scroll = time(51, || {
        app.update(Action::Command(Command::PageDown));
        terminal.draw(|f| ui::draw(f, &app)).unwrap();
    });
    println!(
        "page down + frame on Processes: {:.3} ms",
        scroll.as_secs_f64() * 1e3
    );

    // Detail pages are rebuilt with every model: the teaching view of the host's pid namespace
    // (every process) is the largest; a cgroup's detail carries three charts.
    for (screen, command, what) in [
        (Screen::Processes, Command::PidTree, "PID-namespace view"),
        (Screen::Cgroups, Command::Describe, "cgroup detail"),
    ] {
        app.update(Action::Command(Command::Show(screen)));
        app.update(Action::Command(Command::Top));
        app.update(Action::Command(command));
        let lines = app.detail.as_ref().map_or(0, |d| d.page.entries.len());
        let mut models: Vec<Box<Model>> = (0..21).map(|_| Box::new(model.clone())).collect();
        let accept = time(21, || {
            let model = models.pop().expect("one per run");
            black_box(app.update(Action::Collected(Ok(model))));
        });
        let frame = time(51, || {
            terminal.draw(|f| ui::draw(f, &app)).unwrap();
        });
        println!(
            "{what} open ({lines} lines): new model {:.2} ms, frame {:.3} ms",
            accept.as_secs_f64() * 1e3,
            frame.as_secs_f64() * 1e3
        );
        app.update(Action::Command(Command::Back));
    }
}
