//! The detail view: its charts side by side on top when there is room, then the page's lines
//! from the scroll offset, the cursor's line reversed.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Widget;

use crate::tui::detail::DetailState;
use crate::tui::theme::Theme;
use crate::tui::widgets::chart::TimeChart;

/// Chart band height, and the body height below which charts give way to lines.
pub const CHART_HEIGHT: u16 = 10;
const CHARTS_MIN_BODY_ROWS: u16 = 22;

/// The band for charts and the lines' area, for drawing and for paging alike.
pub fn split(detail: &DetailState, area: Rect) -> (Rect, Rect) {
    if detail.page.charts.is_empty() || area.height < CHARTS_MIN_BODY_ROWS {
        return (Rect::new(area.x, area.y, area.width, 0), area);
    }
    let [charts, lines] =
        Layout::vertical([Constraint::Length(CHART_HEIGHT), Constraint::Min(0)]).areas(area);
    (charts, lines)
}

pub struct DetailView<'a> {
    pub detail: &'a DetailState,
    pub theme: &'a Theme,
}

impl Widget for DetailView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let page = &self.detail.page;
        let (band, lines) = split(self.detail, area);
        if band.height > 0 {
            let n = page.charts.len() as u32;
            let cells = Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n))).split(band);
            for (chart, cell) in page.charts.iter().zip(cells.iter()) {
                TimeChart {
                    spec: chart,
                    span: page.span,
                    theme: self.theme,
                }
                .render(*cell, buf);
            }
        }
        let shown = page
            .entries
            .iter()
            .enumerate()
            .skip(self.detail.offset)
            .take(usize::from(lines.height));
        for (row, (i, entry)) in shown.enumerate() {
            let y = lines.y + row as u16;
            buf.set_line(lines.x, y, &entry.line, lines.width);
            if i == self.detail.selected {
                buf.set_style(Rect::new(lines.x, y, lines.width, 1), self.theme.selected());
            }
        }
    }
}
