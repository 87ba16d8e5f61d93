//! Aligned text grids (pressure tables, the limits form): every column as wide as its widest
//! cell or title, so each title sits over its values whatever their widths. The first column
//! is left-aligned (names), the others right-aligned (numbers) unless told otherwise.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use crate::model::cgroup::{Stall, StallLine};
use crate::tui::panes::severity;
use crate::tui::theme::Theme;

/// Space between columns.
const GAP: usize = 2;

pub struct Cell {
    pub text: String,
    pub style: Style,
}

impl Cell {
    pub fn new(text: impl Into<String>, style: Style) -> Cell {
        Cell {
            text: text.into(),
            style,
        }
    }
}

pub struct Grid {
    pub titles: Vec<String>,
    /// Columns after the first that are left-aligned (text rather than numbers).
    pub left: Vec<usize>,
    pub rows: Vec<Vec<Cell>>,
}

impl Grid {
    pub fn new(titles: &[&str]) -> Grid {
        Grid {
            titles: titles.iter().map(|&t| t.to_owned()).collect(),
            left: Vec::new(),
            rows: Vec::new(),
        }
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.titles.iter().map(|t| t.width()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.text.width());
                }
            }
        }
        widths
    }

    fn line(&self, cells: &[Cell], widths: &[usize], indent: usize) -> Line<'static> {
        let mut spans = vec![Span::raw(" ".repeat(indent))];
        for (i, (cell, &width)) in cells.iter().zip(widths).enumerate() {
            let pad = " ".repeat(width.saturating_sub(cell.text.width()));
            let gap = if i == 0 { 0 } else { GAP };
            let text = if i == 0 || self.left.contains(&i) {
                format!("{:gap$}{}{pad}", "", cell.text)
            } else {
                format!("{:gap$}{pad}{}", "", cell.text)
            };
            spans.push(Span::styled(text, cell.style));
        }
        Line::from(spans)
    }

    /// The title line then one line per row, each `indent` columns in; the last column
    /// is padded too, so a highlighted row is one even bar.
    pub fn lines(&self, title_style: Style, indent: usize) -> Vec<Line<'static>> {
        let widths = self.widths();
        let titles: Vec<Cell> = self
            .titles
            .iter()
            .map(|t| Cell::new(t.clone(), title_style))
            .collect();
        std::iter::once(self.line(&titles, &widths, indent))
            .chain(self.rows.iter().map(|row| self.line(row, &widths, indent)))
            .collect()
    }
}

/// The some and full averages of each resource's stall, as /proc/pressure and a cgroup's
/// *.pressure files give them, under a first column titled `first`.
pub fn pressure(first: &str, stalls: &[(&str, Option<&Stall>)], theme: &Theme) -> Grid {
    let mut grid = Grid::new(&[first, "some 10s", "60s", "300s", "full 10s", "60s", "300s"]);
    for &(name, stall) in stalls {
        let mut row = vec![Cell::new(name, Style::default())];
        for line in [
            stall.and_then(|s| s.some.as_ref()),
            stall.and_then(|s| s.full.as_ref()),
        ] {
            let averages = line.map(|l: &StallLine| [l.avg10, l.avg60, l.avg300]);
            for i in 0..3 {
                let value = averages.map(|a| a[i]);
                row.push(Cell::new(
                    value.map_or("-".to_owned(), |v| format!("{v:.2}")),
                    theme.tone(severity(value, 10.0, 40.0)),
                ));
            }
        }
        grid.rows.push(row);
    }
    grid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn titles_sit_over_their_values_whatever_their_widths() {
        let mut grid = Grid::new(&["name", "a", "long title"]);
        grid.rows.push(vec![
            Cell::new("cpu", Style::default()),
            Cell::new("123456.78", Style::default()),
            Cell::new("1", Style::default()),
        ]);
        let lines: Vec<String> = grid.lines(Style::default(), 2).iter().map(text).collect();
        assert_eq!(lines[0], "  name          a  long title");
        assert_eq!(lines[1], "  cpu   123456.78           1");
        // Every value ends where its title ends.
        assert_eq!(
            lines[0].find("a  ").unwrap() + 1,
            lines[1].find("8 ").unwrap() + 1
        );
    }

    #[test]
    fn left_columns_pad_after_the_text() {
        let mut grid = Grid::new(&["limit", "now", "new"]);
        grid.left = vec![1, 2];
        grid.rows.push(vec![
            Cell::new("memory.max", Style::default()),
            Cell::new("512.0 MiB", Style::default()),
            Cell::new("1G", Style::default()),
        ]);
        let lines: Vec<String> = grid.lines(Style::default(), 0).iter().map(text).collect();
        assert_eq!(lines[0], "limit       now        new");
        assert_eq!(lines[1], "memory.max  512.0 MiB  1G ");
    }
}
