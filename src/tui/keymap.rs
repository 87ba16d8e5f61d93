//! Keys, as htop and k9s users expect them. The help overlay is drawn from the same table.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::tui::action::Command;
use crate::tui::panes::Screen;

pub struct Binding {
    pub keys: &'static [KeyCode],
    /// How the help overlay spells the keys.
    pub label: &'static str,
    pub command: Command,
    pub help: &'static str,
}

const fn bind(
    keys: &'static [KeyCode],
    label: &'static str,
    command: Command,
    help: &'static str,
) -> Binding {
    Binding {
        keys,
        label,
        command,
        help,
    }
}

use KeyCode::{
    BackTab, Backspace, Char, Down, End, Enter, Esc, F, Home, Left, PageDown, PageUp, Right, Tab,
    Up,
};

pub static BINDINGS: &[Binding] = &[
    bind(&[Up, Char('k')], "↑ k", Command::Up, "previous row"),
    bind(&[Down, Char('j')], "↓ j", Command::Down, "next row"),
    bind(&[PageUp], "PgUp", Command::PageUp, "a page up"),
    bind(&[PageDown], "PgDn", Command::PageDown, "a page down"),
    bind(&[Home, Char('g')], "Home g", Command::Top, "first row"),
    bind(&[End, Char('G')], "End G", Command::Bottom, "last row"),
    bind(&[Tab], "Tab", Command::NextScreen, "next screen"),
    bind(
        &[BackTab],
        "S-Tab",
        Command::PreviousScreen,
        "previous screen",
    ),
    bind(
        &[Char('1')],
        "1",
        Command::Show(Screen::Namespaces),
        "Namespaces",
    ),
    bind(&[Char('2')], "2", Command::Show(Screen::Cgroups), "Cgroups"),
    bind(
        &[Char('3')],
        "3",
        Command::Show(Screen::Processes),
        "Processes",
    ),
    bind(
        &[Char('4')],
        "4",
        Command::Show(Screen::Pressure),
        "Pressure",
    ),
    bind(&[Char('5')], "5", Command::Show(Screen::Limits), "Limits"),
    bind(&[Char('6')], "6", Command::Show(Screen::Oom), "OOM"),
    bind(
        &[Enter],
        "Enter",
        Command::DrillIn,
        "drill in: processes / a process's cgroup; links",
    ),
    bind(
        &[Char('d')],
        "d",
        Command::Describe,
        "details: all that is known, links, charts",
    ),
    bind(
        &[Char('P')],
        "P",
        Command::PidTree,
        "PID levels: a PID in every nested namespace",
    ),
    bind(
        &[Char('y')],
        "y",
        Command::NextType,
        "Namespaces: one type at a time",
    ),
    bind(
        &[Char('c')],
        "c",
        Command::NextHierarchy,
        "Processes: CGROUP of the next hierarchy",
    ),
    bind(
        &[Char('K'), F(9)],
        "K F9",
        Command::Signal,
        "signal the process, or kill the cgroup",
    ),
    bind(
        &[Char('e')],
        "e",
        Command::EditLimits,
        "edit the cgroup's limits",
    ),
    bind(
        &[Char('f')],
        "f",
        Command::Freeze,
        "freeze / thaw the cgroup",
    ),
    bind(
        &[Char('m')],
        "m",
        Command::Move,
        "move the process to another cgroup",
    ),
    bind(
        &[Char('u')],
        "u",
        Command::Undo,
        "undo the last limit change",
    ),
    bind(
        &[Char('U')],
        "U",
        Command::Unshare,
        "shell in new namespaces (choose)",
    ),
    bind(
        &[Char('x')],
        "x",
        Command::Shell,
        "shell in the selection's namespaces",
    ),
    bind(
        &[Esc, Backspace],
        "Esc",
        Command::Back,
        "back where you were, else clear the filter",
    ),
    bind(
        &[Char('/'), F(3)],
        "/ F3",
        Command::Search,
        "search (jumps to the first match)",
    ),
    bind(&[Char('n')], "n", Command::NextMatch, "next match"),
    bind(&[Char('N')], "N", Command::PreviousMatch, "previous match"),
    bind(
        &[Char('\\'), F(4)],
        "\\ F4",
        Command::Filter,
        "filter: show only matching rows",
    ),
    bind(
        &[Char('s'), F(6)],
        "s F6",
        Command::SortNext,
        "sort by the next column",
    ),
    bind(
        &[Char('S')],
        "S",
        Command::SortInvert,
        "invert the sort order",
    ),
    bind(
        &[Char('t'), F(5)],
        "t F5",
        Command::ToggleTree,
        "tree / flat table",
    ),
    bind(
        &[Char(' ')],
        "Space",
        Command::ToggleFold,
        "fold / unfold the node",
    ),
    bind(&[Char('+'), Right], "+ →", Command::Unfold, "unfold"),
    bind(&[Char('-'), Left], "- ←", Command::Fold, "fold"),
    bind(
        &[Char('p')],
        "p",
        Command::Pause,
        "pause / resume sampling (a replay: play)",
    ),
    bind(
        &[Char('W')],
        "W",
        Command::SaveSettings,
        "save the screen, sorts and trees to the config file",
    ),
    bind(
        &[Char('[')],
        "[",
        Command::StepBack,
        "replay: previous frame",
    ),
    bind(
        &[Char(']')],
        "]",
        Command::StepForward,
        "replay: next frame",
    ),
    bind(&[Char('T')], "T", Command::JumpTo, "replay: jump to a time"),
    bind(
        &[Char('o')],
        "o",
        Command::NextOom,
        "replay: the next OOM kill",
    ),
    bind(&[Char('r')], "r", Command::Refresh, "sample now"),
    bind(&[Char('?'), F(1)], "? F1", Command::Help, "this help"),
    bind(
        &[Char('q'), F(10)],
        "q F10",
        Command::Quit,
        "quit (also Ctrl-C)",
    ),
];

/// Ctrl-C: in raw mode it arrives as a key, not as SIGINT.
pub fn is_interrupt(key: KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == Char('c')
}

/// The command a key press is bound to.
pub fn command(key: KeyEvent) -> Option<Command> {
    if is_interrupt(key) {
        return Some(Command::Quit);
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return None;
    }
    BINDINGS
        .iter()
        .find(|b| b.keys.contains(&key.code))
        .map(|b| b.command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_has_one_meaning() {
        let mut seen = Vec::new();
        for binding in BINDINGS {
            for key in binding.keys {
                assert!(!seen.contains(key), "{key:?} bound twice");
                seen.push(*key);
            }
        }
    }

    #[test]
    fn htop_keys() {
        let key = |code| command(KeyEvent::new(code, KeyModifiers::NONE));
        assert_eq!(key(F(10)), Some(Command::Quit));
        assert_eq!(key(Char('j')), Some(Command::Down));
        assert_eq!(key(F(9)), Some(Command::Signal));
        assert_eq!(key(Char('z')), None);
        let ctrl_c = KeyEvent::new(Char('c'), KeyModifiers::CONTROL);
        assert_eq!(command(ctrl_c), Some(Command::Quit));
    }
}
