//! A time chart of the last minutes: braille lines, the time axis in seconds before now (or
//! before an event), the value axis from zero to the highest value drawn.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, LegendPosition, Widget};

use crate::model::human_bytes;
use crate::tui::detail::{Chart as Spec, Unit};
use crate::tui::theme::Theme;

pub struct TimeChart<'a> {
    pub spec: &'a Spec,
    /// Seconds the time axis covers (the history kept so far, at least a minute).
    pub span: f64,
    pub theme: &'a Theme,
}

fn value_label(unit: Unit, value: f64) -> String {
    match unit {
        Unit::Bytes => human_bytes(value),
        Unit::Percent => format!("{value:.0}%"),
    }
}

fn time_label(seconds: f64) -> String {
    if seconds >= 120.0 {
        format!("-{:.0}m", seconds / 60.0)
    } else {
        format!("-{seconds:.0}s")
    }
}

impl Widget for TimeChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (span, end) = match self.spec.until {
            Some((event, before)) => (before, event),
            None => (self.span.max(60.0), "now"),
        };
        let top = self
            .spec
            .plots
            .iter()
            .flat_map(|p| p.points.iter().map(|(_, v)| *v))
            .fold(0.0, f64::max);
        // Round tops, and a floor so a quiet cgroup's noise does not fill the chart.
        let top = match self.spec.unit {
            Unit::Percent if top <= 100.0 => (top / 10.0).floor() * 10.0 + 10.0,
            Unit::Percent => (top / 100.0).floor() * 100.0 + 100.0,
            Unit::Bytes => (top * 1.1).max(1024.0),
        };
        let datasets: Vec<Dataset> = self
            .spec
            .plots
            .iter()
            .map(|p| {
                Dataset::default()
                    .name(p.name.clone())
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(self.theme.tone(p.tone))
                    .data(&p.points)
            })
            .collect();
        let dim = self.theme.tone(crate::tui::panes::Tone::Dim);
        // The plots' names in their colours: a legend that hides nothing.
        let mut title = vec![Span::styled(
            format!(" {} ", self.spec.title),
            self.theme.label(),
        )];
        if !self.spec.legend {
            for p in &self.spec.plots {
                title.push(Span::styled(
                    format!("━{} ", p.name),
                    self.theme.tone(p.tone),
                ));
            }
        }
        // No plot at all is not a wait: the chart's title says why.
        let plots = &self.spec.plots;
        if !plots.is_empty() && plots.iter().all(|p| p.points.len() < 2) {
            title.push(Span::styled("collecting… ", dim));
        }
        Chart::new(datasets)
            .block(Block::bordered().border_style(dim).title(Line::from(title)))
            .x_axis(
                Axis::default()
                    .bounds([-span, 0.0])
                    .labels([time_label(span), end.to_owned()])
                    .style(dim),
            )
            .y_axis(
                Axis::default()
                    .bounds([0.0, top])
                    .labels(["0".to_owned(), value_label(self.spec.unit, top)])
                    .style(dim),
            )
            .legend_position(self.spec.legend.then_some(LegendPosition::TopLeft))
            .hidden_legend_constraints((Constraint::Percentage(90), Constraint::Percentage(100)))
            .render(area, buf);
    }
}
