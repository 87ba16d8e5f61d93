//! Everything that can change the App: terminal input, a new model, and the commands keys are
//! bound to. `App::update` takes one and may return a follow-up.

use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use crate::collector::{Control, Description, ReplayAt, Topic};
use crate::model::Model;
use crate::ops::{Applied, Plan, Request};
use crate::tui::panes::Screen;

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// A new model from the collector, or why sampling failed.
    Collected(Result<Box<Model>, String>),
    /// What the collector read for a detail page (a namespace's inside, OOM scores).
    Described(Topic, Description),
    Command(Command),
    /// For the main loop: pass this on to the collector.
    Collector(Control),
    /// For the ops layer: make a plan of this (it reads the system).
    Plan(Request),
    Planned(Request, Result<Plan, String>),
    /// For the ops layer: carry out this confirmed plan (made for the request).
    Execute(Request, Plan),
    Executed(Request, Plan, Result<Vec<Applied>, String>),
    /// For the main loop: give the terminal to `nstop ARGS...` (a shell in other namespaces)
    /// until it exits.
    Run(Vec<String>),
    /// How it ended: its exit status, or why it could not start.
    Ran(Result<u8, String>),
    /// A replay: where the next model is from.
    Replayed(ReplayAt),
    /// A replay jumped: the charts start again.
    Rewind,
    /// A replay: a model from before the next one, for the charts only.
    Past(Box<Model>),
    /// For the main loop: write these settings to the config file.
    SaveConfig(crate::tui::config::Config),
    /// Where they were written, or why not.
    SavedConfig(Result<std::path::PathBuf, String>),
}

/// What a key does, independent of which key it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextScreen,
    PreviousScreen,
    Show(Screen),
    DrillIn,
    /// Everything known about the selection, with links to what it joins.
    Describe,
    /// The PID-namespace view of the selection: nested namespaces, each PID at every level.
    PidTree,
    /// Namespaces screen: show one type only, cycling through them.
    NextType,
    /// Processes screen: the CGROUP column's next hierarchy.
    NextHierarchy,
    /// Signal the selected process (SIGTERM first; the confirmation offers others), or kill
    /// every process of the selected cgroup.
    Signal,
    /// The limits form of the selected cgroup.
    EditLimits,
    /// Freeze or thaw the selected cgroup.
    Freeze,
    /// Move the selected process to a cgroup typed in.
    Move,
    /// Put back what the last limit change replaced.
    Undo,
    /// A shell in the namespaces of the selected process (or namespace).
    Shell,
    /// A shell in new namespaces, chosen in a dialog.
    Unshare,
    /// A replay: the previous or next recorded frame.
    StepBack,
    StepForward,
    /// A replay: the frame at a time typed in.
    JumpTo,
    /// A replay: just after the next OOM kill, on the OOM screen.
    NextOom,
    Back,
    Search,
    NextMatch,
    PreviousMatch,
    Filter,
    SortNext,
    SortInvert,
    ToggleTree,
    ToggleFold,
    Unfold,
    Fold,
    Pause,
    Refresh,
    SaveSettings,
    Help,
    Quit,
}
