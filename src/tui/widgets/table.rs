//! A screen's list: column titles, then only the rows that fit, their cells made on the spot.
//! Columns that do not fit are dropped by priority; the flexible one takes the rest.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::Widget;

use crate::model::Model;
use crate::tui::list::{ListState, row_text};
use crate::tui::panes::{Cell, Column, Tone};
use crate::tui::theme::Theme;

pub struct ListView<'a> {
    pub list: &'a ListState,
    pub model: &'a Model,
    pub theme: &'a Theme,
    pub search: &'a str,
    /// Where the column titles go (the rows go in the widget's own area).
    pub head: Rect,
}

/// The flexible column is never narrower than this while other columns can be dropped.
const MIN_FLEX: u16 = 16;

/// Which columns to draw and how wide, at `width` cells; `wider` adds room to one fixed-width
/// column (the tree's indentation).
pub fn fit(columns: &[Column], width: u16, wider: (usize, u16)) -> Vec<(usize, u16)> {
    let width_of = |i: usize| match columns[i].width {
        0 => 0,
        w if i == wider.0 => w + wider.1,
        w => w,
    };
    let mut kept: Vec<usize> = (0..columns.len()).collect();
    loop {
        let fixed: u16 = kept.iter().map(|&i| width_of(i) + 1).sum();
        if fixed + MIN_FLEX <= width {
            break;
        }
        let droppable = kept
            .iter()
            .enumerate()
            .filter(|(_, i)| columns[**i].drop > 0)
            .max_by_key(|(position, i)| (columns[**i].drop, *position));
        match droppable {
            Some((position, _)) => {
                kept.remove(position);
            }
            None => break,
        }
    }
    let fixed: u16 = kept
        .iter()
        .filter(|&&i| columns[i].width > 0)
        .map(|&i| width_of(i) + 1)
        .sum();
    let flex = width.saturating_sub(fixed);
    kept.into_iter()
        .map(|i| match width_of(i) {
            0 => (i, flex),
            w => (i, w),
        })
        .collect()
}

/// The columns a list shows at `width`, with their widths: the tree column is wider by the
/// deepest row's indent.
pub fn layout(list: &ListState, width: u16) -> Vec<(usize, u16)> {
    let indent = if list.tree {
        let deepest = list.rows.iter().map(|r| r.depth).max().unwrap_or(0);
        2 * deepest + 2
    } else {
        0
    };
    let spec = list.spec();
    fit(spec.columns, width, (spec.tree_column, indent))
}

/// Whether a list shows column `column` at `width`.
pub fn shows(list: &ListState, width: u16, column: usize) -> bool {
    layout(list, width).iter().any(|&(i, _)| i == column)
}

/// A sentence too wide for `width`: its longest path is cut in the middle by what is too much
/// (not below 12 columns), so the words after it stay.
pub fn fit_sentence(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    let excess = text.width().saturating_sub(width);
    let longest = text
        .split(' ')
        .filter(|word| word.contains('/'))
        .max_by_key(|word| word.width());
    match longest {
        Some(path) if excess > 0 => {
            let room = path.width().saturating_sub(excess).max(12);
            text.replacen(path, &fit_path(path, room), 1)
        }
        _ => text.to_owned(),
    }
}

/// A path too wide for its cell, cut in the middle so that its leaf stays:
/// `/process_api/…/leaf`, and `cgroup2:/a/…/leaf` keeps its `hierarchy:` label too. Other
/// text is cut at the end, where the cell ends.
pub fn fit_path(text: &str, width: usize) -> Cow<'_, str> {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    let Some(slash) = text.find('/') else {
        return Cow::Borrowed(text);
    };
    let (label, path) = text.split_at(slash);
    // `cgroup2:/a/b`, `[OOM×4] memory:/a/b`: the label before the path is kept whole.
    let labelled = label.is_empty() || label.ends_with(':');
    if !labelled || path.contains(' ') || text.width() <= width {
        return Cow::Borrowed(text);
    }
    let leaf = &text[text.rfind('/').unwrap_or(0)..];
    // What is left for the head once `…` and the leaf (with its '/') are placed.
    let Some(room) = width
        .checked_sub(leaf.width() + 1)
        .filter(|&r| r > label.width())
    else {
        // A name before the path (`docker web  memory:/…`, two spaces apart) says more than
        // the leaf's end: the cell cuts it at its end. Badges (`[OOM×3] memory:`) give way.
        if label.contains("  ") {
            return Cow::Borrowed(text);
        }
        // Not even the leaf fits: its end, after `…`.
        let mut kept: Vec<char> = Vec::new();
        let mut used = 1;
        for c in leaf.chars().rev() {
            used += c.width().unwrap_or(0);
            if used > width {
                break;
            }
            kept.push(c);
        }
        return Cow::Owned(format!("…{}", kept.into_iter().rev().collect::<String>()));
    };
    let mut head = String::new();
    let mut used = 0;
    for c in text.chars() {
        used += c.width().unwrap_or(0);
        if used > room {
            break;
        }
        head.push(c);
    }
    Cow::Owned(format!("{head}…{leaf}"))
}

fn put(buf: &mut Buffer, x: u16, y: u16, width: u16, text: &str, right: bool, style: Style) {
    let text = fit_path(text, usize::from(width));
    let text = text.as_ref();
    let shown = Span::raw(text).width().min(usize::from(width)) as u16;
    let x = if right { x + width - shown } else { x };
    buf.set_stringn(x, y, text, usize::from(width), style);
}

impl Widget for ListView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let list = self.list;
        let spec = list.spec();
        let view = list.view(self.model);
        let layout = layout(list, area.width);

        let heading = self.theme.heading();
        buf.set_style(self.head, heading);
        let mut x = self.head.x;
        for &(i, width) in &layout {
            let column = &spec.columns[i];
            let title = if i == list.sort {
                list.sort_title()
            } else {
                column.title.to_owned()
            };
            put(buf, x, self.head.y, width, &title, column.right, heading);
            x += width + 1;
        }

        if list.rows.is_empty() {
            let message = if list.filter.is_empty() {
                spec.empty
            } else {
                "No row matches the filter (Esc clears it)"
            };
            buf.set_stringn(
                area.x,
                area.y,
                message,
                usize::from(area.width),
                self.theme.tone(Tone::Dim),
            );
            return;
        }
        let query = self.search.to_lowercase();
        let visible = list
            .rows
            .iter()
            .enumerate()
            .skip(list.offset)
            .take(usize::from(area.height));
        for (y, (index, row)) in (area.y..).zip(visible) {
            let line = Rect::new(area.x, y, area.width, 1);
            let selected = index == list.selected;
            if selected {
                buf.set_style(line, self.theme.selected());
            } else if !query.is_empty() && row_text(spec, &view, row.item).contains(&query) {
                buf.set_style(line, self.theme.matched());
            }
            let mut x = area.x;
            for &(i, width) in &layout {
                let column = &spec.columns[i];
                let cell = if list.tree && i == spec.tree_column {
                    let Cell { text, tone } = (spec.tree_cell)(&view, row.item);
                    let mark = match (row.has_children, list.is_folded(self.model, row.item)) {
                        (true, true) => "▸ ",
                        (true, false) => "▾ ",
                        (false, _) => "  ",
                    };
                    let indent = "  ".repeat(usize::from(row.depth));
                    Cell::new(format!("{indent}{mark}{text}"), tone)
                } else {
                    (column.cell)(&view, row.item)
                };
                let tone = if row.context { Tone::Dim } else { cell.tone };
                let mut style = self.theme.tone(tone);
                if selected {
                    style = style.patch(self.theme.selected());
                }
                let right = column.right && !(list.tree && i == spec.tree_column);
                put(buf, x, y, width, &cell.text, right, style);
                x += width + 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::panes::Screen;

    #[test]
    fn paths_are_cut_in_the_middle_and_keep_their_leaf() {
        let path = "/process_api/6fd7346c909ee9db85f686af76520af7/nstop-test-123-0";
        assert_eq!(fit_path(path, 80), path);
        assert_eq!(fit_path(path, 30), "/process_api…/nstop-test-123-0");
        assert_eq!(fit_path(path, 30).chars().count(), 30);
        assert_eq!(fit_path(path, 10), "…est-123-0");
        // Commands and other text are left to the cell's end.
        assert_eq!(
            fit_path("/usr/bin/python3 -c x", 5),
            "/usr/bin/python3 -c x"
        );
        assert_eq!(fit_path("docker 1e2e", 4), "docker 1e2e");
        assert_eq!(fit_path("net:[4026531833]", 4), "net:[4026531833]");
        // A hierarchy's label stays with the path.
        let labelled = format!("cgroup2:{path}");
        assert_eq!(
            fit_path(&labelled, 38),
            "cgroup2:/process_api…/nstop-test-123-0"
        );
        assert_eq!(fit_path(&labelled, 24), "…/nstop-test-123-0");
        let badged = format!("[OOM×4] memory:{path}");
        assert_eq!(
            fit_path(&badged, 46),
            "[OOM×4] memory:/process_api/…/nstop-test-123-0"
        );
        assert_eq!(
            fit_path("/usr/bin/python3 -c x:/y", 5),
            "/usr/bin/python3 -c x:/y"
        );
    }

    #[test]
    fn a_sentence_keeps_its_end_and_cuts_its_path() {
        let said = "cgroup memory:/process_api/20aed757fda6dae2e93f3cd920b62f4a/walk2-e: no process to freeze";
        let fitted = fit_sentence(said, 60);
        assert!(
            fitted.ends_with("/walk2-e: no process to freeze"),
            "{fitted}"
        );
        assert!(fitted.chars().count() <= 60, "{fitted}");
        assert_eq!(fit_sentence("done", 60), "done");
    }

    #[test]
    fn narrow_terminals_drop_columns_by_priority() {
        let columns = Screen::Cgroups.spec().columns;
        let wide = fit(columns, 160, (0, 0));
        assert_eq!(wide.len(), columns.len());
        let narrow = fit(columns, 80, (0, 0));
        assert!(narrow.len() < columns.len());
        let total: u16 = narrow.iter().map(|(_, w)| w + 1).sum();
        assert!(total <= 81, "{narrow:?}");
        assert!(
            narrow
                .iter()
                .any(|&(i, w)| columns[i].width == 0 && w >= MIN_FLEX)
        );
        // Never-dropped columns stay.
        for (i, column) in columns.iter().enumerate() {
            if column.drop == 0 {
                assert!(narrow.iter().any(|&(k, _)| k == i), "{}", column.title);
            }
        }
    }
}
