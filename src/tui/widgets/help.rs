//! Every key and what it does, from the keymap itself; two columns when one does not fit.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};

use crate::tui::keymap::BINDINGS;
use crate::tui::theme::Theme;

pub struct Help<'a> {
    pub theme: &'a Theme,
    /// The first entry shown when one column is taller than the terminal.
    pub offset: usize,
}

const MOUSE: [(&str, &str); 2] = [("click", "select a row or a tab"), ("wheel", "scroll")];

/// Every key and what it does, as the help lists them.
pub fn entries() -> Vec<(&'static str, &'static str)> {
    BINDINGS
        .iter()
        .map(|b| (b.label, b.help))
        .chain(MOUSE)
        .chain([("Ctrl-U", "clear the search or filter being typed")])
        .collect()
}

impl Widget for Help<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let entries = entries();
        // Two columns where they fit and one does not; else one column that scrolls.
        let fits = |columns: usize| entries.len().div_ceil(columns) + 2 <= usize::from(area.height);
        let one_column = fits(1) || !fits(2);
        let columns: u16 = if one_column { 1 } else { 2 };
        let per_column = entries.len().div_ceil(usize::from(columns));
        let rows = usize::from(area.height.saturating_sub(2));
        let offset = self.offset.min(per_column.saturating_sub(rows));
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
        let title = if per_column > rows {
            let last = (offset + rows).min(per_column);
            format!(
                " Keys {}–{last} of {per_column} · ↑↓ PgUp PgDn scroll · other keys close ",
                offset + 1
            )
        } else {
            " Keys · any key closes ".to_owned()
        };
        let block = Block::bordered().title(title);
        let inner = block.inner(popup);
        block.render(popup, buf);
        let column_width = inner.width / columns;
        for (i, (keys, help)) in entries.into_iter().enumerate() {
            let (column, row) = (i / per_column, i % per_column);
            let Some(row) = row
                .checked_sub(offset)
                .filter(|&r| r < usize::from(inner.height))
            else {
                continue;
            };
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

#[cfg(test)]
mod tests {
    /// The README's key table is the help's list, row for row.
    #[test]
    fn the_readme_lists_every_key_the_help_lists() {
        let readme = include_str!("../../../README.md");
        let table: String = super::entries()
            .iter()
            .map(|(keys, help)| format!("| {keys} | {help} |\n"))
            .collect();
        let table = format!("| keys | does |\n|---|---|\n{table}");
        assert!(
            readme.contains(&table),
            "the README's key table should read:\n{table}"
        );
    }
}
