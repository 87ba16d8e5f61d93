//! Styles by meaning. Under NO_COLOR (https://no-color.org) only bold, reverse and underline
//! remain, so the selection and headers still show.

use ratatui::style::{Color, Modifier, Style};

use crate::tui::panes::Tone;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless NO_COLOR is set to anything non-empty.
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub fn tone(&self, tone: Tone) -> Style {
        match tone {
            Tone::Plain => Style::new(),
            Tone::Dim => self.fg(Color::DarkGray),
            Tone::Name => self.fg(Color::Cyan),
            Tone::Isolated => self.fg(Color::Magenta),
            Tone::Warn => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Tone::Alert => self.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// A row whose text matches the search.
    pub fn matched(&self) -> Style {
        self.fg(Color::LightYellow)
            .add_modifier(Modifier::UNDERLINED)
    }

    pub fn heading(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Green)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
    }

    pub fn label(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_colour_only_modifiers_remain() {
        let plain = Theme { color: false };
        let coloured = Theme { color: true };
        for tone in [
            Tone::Dim,
            Tone::Name,
            Tone::Isolated,
            Tone::Warn,
            Tone::Alert,
        ] {
            assert_eq!(plain.tone(tone).fg, None, "{tone:?}");
            assert!(coloured.tone(tone).fg.is_some(), "{tone:?}");
        }
        assert!(plain.selected().add_modifier.contains(Modifier::REVERSED));
        assert_eq!(plain.heading().bg, None);
        assert!(plain.heading().add_modifier.contains(Modifier::BOLD));
    }
}
