//! Every key and what it does, from the keymap itself; two columns when one does not fit.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};

use crate::tui::keymap::BINDINGS;
use crate::tui::theme::Theme;

pub struct Help<'a> {
    pub theme: &'a Theme,
}

const MOUSE: [(&str, &str); 2] = [("click", "select a row or a tab"), ("wheel", "scroll")];

impl Widget for Help<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let entries: Vec<(&str, &str)> = BINDINGS
            .iter()
            .map(|b| (b.label, b.help))
            .chain(MOUSE)
            .chain([("Ctrl-U", "clear the search or filter being typed")])
            .collect();
        let one_column = entries.len() as u16 + 2 <= area.height;
        let columns: u16 = if one_column { 1 } else { 2 };
        let per_column = entries.len().div_ceil(usize::from(columns));
        let width = area
            .width
            .saturating_sub(2)
            .min(if one_column { 80 } else { 118 });
        let height = (per_column as u16 + 2).min(area.height);
        let popup = Rect::new(
            area.x + (area.width - width) / 2,
            area.y + (area.height - height) / 2,
            width,
            height,
        );
        Clear.render(popup, buf);
        let block = Block::bordered().title(" Keys · any key closes ");
        let inner = block.inner(popup);
        block.render(popup, buf);
        let column_width = inner.width / columns;
        for (i, (keys, help)) in entries.into_iter().enumerate() {
            let (column, row) = (i / per_column, i % per_column);
            if row as u16 >= inner.height {
                continue;
            }
            let line = Line::from(vec![
                Span::styled(format!("{keys:>7}  "), self.theme.key()),
                Span::raw(help),
            ]);
            let x = inner.x + column as u16 * column_width;
            buf.set_line(
                x,
                inner.y + row as u16,
                &line,
                column_width.saturating_sub(1),
            );
        }
    }
}
