//! Everything that can change the App: terminal input, a new model, and the commands keys are
//! bound to. `App::update` takes one and may return a follow-up.

use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use crate::collector::{Control, Delivery};
use crate::tui::panes::Screen;

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// What the collector delivered.
    Collected(Delivery),
    Command(Command),
    /// For the main loop: pass this on to the collector.
    Collector(Control),
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
    Help,
    Quit,
}
