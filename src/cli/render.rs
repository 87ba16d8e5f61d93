//! Table, raw and JSON output in the style of util-linux (libsmartcols), so lsns scripts keep
//! working.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// One value: what the table shows and what JSON carries.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub text: String,
    pub json: Value,
}

impl Cell {
    pub fn null() -> Cell {
        Cell {
            text: String::new(),
            json: Value::Null,
        }
    }

    pub fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        Cell {
            json: Value::String(s.clone()),
            text: s,
        }
    }

    pub fn num(n: impl Into<serde_json::Number> + ToString + Copy) -> Cell {
        Cell {
            text: n.to_string(),
            json: Value::Number(n.into()),
        }
    }

    pub fn opt<T>(value: Option<T>, make: impl FnOnce(T) -> Cell) -> Cell {
        value.map_or_else(Cell::null, make)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub right: bool,
    /// May be cut to fit the terminal (long free text such as COMMAND).
    pub truncate: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns; `width` is the terminal width to fit when truncating.
    Table { width: Option<usize> },
    /// Space-separated, with spaces and control characters hex-escaped.
    Raw,
    /// `{"<key>": [{"col": value, ...}, ...]}`.
    Json,
}

pub struct Table<'a> {
    pub columns: &'a [ColumnSpec],
    pub rows: Vec<Vec<Cell>>,
}

impl Table<'_> {
    pub fn render(&self, format: Format, headings: bool, json_key: &str) -> String {
        match format {
            Format::Json => self.render_json(json_key),
            Format::Raw => self.render_raw(headings),
            Format::Table { width } => self.render_table(headings, width),
        }
    }

    fn render_json(&self, key: &str) -> String {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let object: Map<String, Value> = self
                    .columns
                    .iter()
                    .zip(row)
                    .map(|(col, cell)| (col.name.to_lowercase(), cell.json.clone()))
                    .collect();
                Value::Object(object)
            })
            .collect();
        let mut doc = Map::new();
        doc.insert(key.to_string(), Value::Array(rows));
        let mut out = serde_json::to_string_pretty(&Value::Object(doc)).expect("JSON of values");
        out.push('\n');
        out
    }

    fn render_raw(&self, headings: bool) -> String {
        let mut out = String::new();
        let mut line = |cells: Vec<String>| {
            out.push_str(&cells.join(" "));
            out.push('\n');
        };
        if headings {
            line(self.columns.iter().map(|c| c.name.to_string()).collect());
        }
        for row in &self.rows {
            line(row.iter().map(|c| escape_raw(&c.text)).collect());
        }
        out
    }

    fn render_table(&self, headings: bool, width: Option<usize>) -> String {
        // Multi-line values (several nsfs paths) are shown comma-separated on one line.
        let texts: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| row.iter().map(|c| c.text.replace('\n', ",")).collect())
            .collect();
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, col)| {
                let head = if headings { col.name.len() } else { 0 };
                texts
                    .iter()
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(head)
            })
            .collect();
        if let Some(width) = width {
            fit_to_width(self.columns, &mut widths, width);
        }
        let mut out = String::new();
        if headings {
            let names: Vec<String> = self.columns.iter().map(|c| c.name.to_string()).collect();
            write_line(&mut out, self.columns, &widths, &names);
        }
        for row in &texts {
            write_line(&mut out, self.columns, &widths, row);
        }
        out
    }
}

/// Shrinks truncatable columns (never below their heading) until the line fits.
fn fit_to_width(columns: &[ColumnSpec], widths: &mut [usize], width: usize) {
    let total = |w: &[usize]| w.iter().sum::<usize>() + w.len().saturating_sub(1);
    let mut excess = total(widths).saturating_sub(width);
    for (i, col) in columns.iter().enumerate().rev() {
        if excess == 0 {
            break;
        }
        if col.truncate {
            let spare = widths[i].saturating_sub(col.name.len());
            let cut = spare.min(excess);
            widths[i] -= cut;
            excess -= cut;
        }
    }
}

fn write_line(out: &mut String, columns: &[ColumnSpec], widths: &[usize], cells: &[String]) {
    let last = columns.len().saturating_sub(1);
    for (i, ((col, &width), cell)) in columns.iter().zip(widths).zip(cells).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let cell: String = cell.chars().take(width).collect();
        if col.right {
            let _ = write!(out, "{cell:>width$}");
        } else if i == last {
            out.push_str(&cell);
        } else {
            let _ = write!(out, "{cell:<width$}");
        }
    }
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
    out.push('\n');
}

/// libsmartcols raw escaping: bytes that would break a space-separated line become `\xHH`.
pub fn escape_raw(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch == ' ' || ch == '\\' || ch.is_control() {
            for byte in ch.to_string().bytes() {
                let _ = write!(out, "\\x{byte:02x}");
            }
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: [ColumnSpec; 3] = [
        ColumnSpec {
            name: "NS",
            right: true,
            truncate: false,
        },
        ColumnSpec {
            name: "COMMAND",
            right: false,
            truncate: true,
        },
        ColumnSpec {
            name: "USER",
            right: false,
            truncate: false,
        },
    ];

    fn table() -> Table<'static> {
        Table {
            columns: &COLS,
            rows: vec![
                vec![
                    Cell::num(4026531836u64),
                    Cell::text("sleep 100"),
                    Cell::text("root"),
                ],
                vec![Cell::num(7u64), Cell::null(), Cell::text("nobody")],
            ],
        }
    }

    #[test]
    fn table_aligns_numbers_right_and_text_left() {
        assert_eq!(
            table().render(Format::Table { width: None }, true, "x"),
            "        NS COMMAND   USER\n\
             4026531836 sleep 100 root\n\
             \x20        7           nobody\n"
        );
    }

    #[test]
    fn table_truncates_only_marked_columns_to_fit() {
        let out = table().render(Format::Table { width: Some(22) }, false, "x");
        assert_eq!(out, "4026531836 sleep  root\n         7        nobody\n");
    }

    #[test]
    fn raw_escapes_spaces() {
        assert_eq!(
            table().render(Format::Raw, false, "x"),
            "4026531836 sleep\\x20100 root\n7  nobody\n"
        );
    }

    #[test]
    fn json_uses_lowercase_keys_and_typed_values() {
        let v: Value =
            serde_json::from_str(&table().render(Format::Json, true, "namespaces")).unwrap();
        assert_eq!(v["namespaces"][0]["ns"], 4026531836u64);
        assert_eq!(v["namespaces"][0]["command"], "sleep 100");
        assert_eq!(v["namespaces"][1]["command"], Value::Null);
    }
}
