//! Table, raw and JSON output in the style of util-linux (libsmartcols), so lsns scripts keep
//! working.

use std::fmt::Write as _;
use std::io::IsTerminal;

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
    /// Width the column takes at least when it has values (libsmartcols width hints).
    pub min_width: usize,
}

impl ColumnSpec {
    /// A column without a width hint.
    pub const fn new(name: &'static str, right: bool, truncate: bool) -> ColumnSpec {
        ColumnSpec {
            name,
            right,
            truncate,
            min_width: 0,
        }
    }
}

/// The width to fit a table to: the terminal's, unless output goes elsewhere or the user said
/// not to truncate.
pub fn table_width(notruncate: bool) -> Option<usize> {
    (!notruncate && std::io::stdout().is_terminal())
        .then(crate::sys::terminal_width)
        .flatten()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns; `width` is the terminal width to fit when truncating.
    Table { width: Option<usize> },
    /// Space-separated, with blanks, backslashes and non-ASCII bytes hex-escaped.
    Raw,
    /// `{"<key>": [{"col": value, ...}, ...]}`, children nested under `"children"`.
    Json,
}

pub struct Row {
    pub cells: Vec<Cell>,
    /// Index of an earlier row this one is drawn under, when the table is a tree.
    pub parent: Option<usize>,
}

/// Draws rows as a tree: glyphs prefixed to one column's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tree {
    pub column: usize,
    pub ascii: bool,
}

pub struct Table<'a> {
    pub columns: &'a [ColumnSpec],
    pub rows: Vec<Row>,
    pub tree: Option<Tree>,
}

impl Table<'_> {
    pub fn render(&self, format: Format, headings: bool, json_key: &str) -> String {
        match format {
            Format::Json => self.render_json(json_key),
            // util-linux prints nothing at all, not even headings, for no rows.
            _ if self.rows.is_empty() => String::new(),
            Format::Raw => self.render_raw(headings),
            Format::Table { width } => self.render_table(headings, width),
        }
    }

    /// Root rows and each row's children, in insertion order.
    fn children(&self) -> (Vec<usize>, Vec<Vec<usize>>) {
        let mut roots = Vec::new();
        let mut children = vec![Vec::new(); self.rows.len()];
        for (i, row) in self.rows.iter().enumerate() {
            match row.parent.filter(|_| self.tree.is_some()) {
                Some(p) => children[p].push(i),
                None => roots.push(i),
            }
        }
        (roots, children)
    }

    /// Rows in display order (each parent followed by its subtree) with their tree prefixes.
    fn display_order(&self) -> Vec<(usize, String)> {
        let (roots, children) = self.children();
        let ascii = self.tree.is_some_and(|t| t.ascii);
        let (branch, last, pipe) = if ascii {
            ("|-", "`-", "| ")
        } else {
            ("├─", "└─", "│ ")
        };
        let mut out = Vec::with_capacity(self.rows.len());
        // (row, prefix drawn for its ancestors, its own glyph)
        let mut stack: Vec<(usize, String, &str)> = roots
            .iter()
            .rev()
            .map(|&r| (r, String::new(), ""))
            .collect();
        while let Some((row, indent, glyph)) = stack.pop() {
            out.push((row, format!("{indent}{glyph}")));
            let child_indent = match glyph {
                "" => String::new(),
                g if g == last => format!("{indent}  "),
                _ => format!("{indent}{pipe}"),
            };
            let kids = &children[row];
            for (n, &kid) in kids.iter().enumerate().rev() {
                let glyph = if n + 1 == kids.len() { last } else { branch };
                stack.push((kid, child_indent.clone(), glyph));
            }
        }
        out
    }

    fn object(&self, row: usize, children: &[Vec<usize>]) -> Value {
        let mut object: Map<String, Value> = self
            .columns
            .iter()
            .zip(&self.rows[row].cells)
            .map(|(col, cell)| (col.name.to_lowercase(), cell.json.clone()))
            .collect();
        if !children[row].is_empty() {
            let kids = children[row]
                .iter()
                .map(|&k| self.object(k, children))
                .collect();
            object.insert("children".to_string(), Value::Array(kids));
        }
        Value::Object(object)
    }

    fn render_json(&self, key: &str) -> String {
        let (roots, children) = self.children();
        let rows: Vec<Value> = roots.iter().map(|&r| self.object(r, &children)).collect();
        let mut doc = Map::new();
        doc.insert(key.to_string(), Value::Array(rows));
        let mut out = serde_json::to_string_pretty(&Value::Object(doc)).expect("JSON of values");
        out.push('\n');
        out
    }

    /// Cell texts in display order, tree glyphs included.
    fn texts(&self) -> Vec<Vec<String>> {
        self.display_order()
            .into_iter()
            .map(|(row, prefix)| {
                self.rows[row]
                    .cells
                    .iter()
                    .enumerate()
                    .map(|(i, cell)| match self.tree {
                        Some(t) if t.column == i => format!("{prefix}{}", cell.text),
                        _ => cell.text.clone(),
                    })
                    .collect()
            })
            .collect()
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
        for row in self.texts() {
            line(row.iter().map(|c| escape_raw(c)).collect());
        }
        out
    }

    fn render_table(&self, headings: bool, width: Option<usize>) -> String {
        let texts: Vec<Vec<String>> = self
            .texts()
            .into_iter()
            .map(|row| row.iter().map(|c| escape_table(c)).collect())
            .collect();
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, col)| {
                let data = texts
                    .iter()
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0);
                let head = if headings { col.name.len() } else { 0 };
                // libsmartcols: the heading wins over short data, else the hint is a minimum.
                if data < head {
                    head
                } else {
                    data.max(col.min_width)
                }
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
    let total = widths.iter().sum::<usize>() + widths.len().saturating_sub(1);
    let mut excess = total.saturating_sub(width);
    for (i, col) in columns.iter().enumerate().rev() {
        if excess == 0 {
            break;
        }
        if col.truncate {
            let cut = widths[i].saturating_sub(col.name.len()).min(excess);
            widths[i] -= cut;
            excess -= cut;
        }
    }
}

fn write_line(out: &mut String, columns: &[ColumnSpec], widths: &[usize], cells: &[String]) {
    let last = columns.len().saturating_sub(1);
    let start = out.len();
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
    let trimmed = start + out[start..].trim_end_matches(' ').len();
    out.truncate(trimmed);
    out.push('\n');
}

/// libsmartcols raw escaping: every byte that is blank, a backslash, a control character or
/// not ASCII becomes `\xHH`, so a line always splits on spaces.
pub fn escape_raw(text: &str) -> String {
    escape_bytes(text, |b| b == b' ' || b == b'\\' || !b.is_ascii_graphic())
}

/// Table cells: control characters (a tab or newline in a command line) and bidi overrides
/// become `\xHH`.
fn escape_table(text: &str) -> String {
    crate::text::printable(text).into_owned()
}

fn escape_bytes(text: &str, escape: impl Fn(u8) -> bool) -> String {
    if !text.bytes().any(&escape) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() * 2);
    for ch in text.chars() {
        let mut utf8 = [0u8; 4];
        let bytes = ch.encode_utf8(&mut utf8).as_bytes();
        if bytes.iter().any(|&b| escape(b)) {
            for byte in bytes {
                let _ = write!(out, "\\x{byte:02x}");
            }
        } else {
            out.push(ch);
        }
    }
    out
}

/// Tree glyphs follow the locale, as util-linux's do.
pub fn utf8_locale() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: [ColumnSpec; 3] = [
        ColumnSpec::new("NS", true, false),
        ColumnSpec::new("COMMAND", false, true),
        ColumnSpec::new("USER", false, false),
    ];

    fn table(tree: Option<Tree>) -> Table<'static> {
        let row = |ns: u64, cmd: &str, user: &str, parent| Row {
            cells: vec![Cell::num(ns), Cell::text(cmd), Cell::text(user)],
            parent,
        };
        Table {
            columns: &COLS,
            rows: vec![
                row(4026531836, "sleep 100", "root", None),
                row(7, "a", "nobody", Some(0)),
                row(8, "b", "nobody", Some(1)),
                row(9, "c", "root", Some(0)),
            ],
            tree,
        }
    }

    const TREE: Option<Tree> = Some(Tree {
        column: 1,
        ascii: false,
    });

    #[test]
    fn table_aligns_numbers_right_and_text_left() {
        assert_eq!(
            table(None).render(Format::Table { width: None }, true, "x"),
            "        NS COMMAND   USER\n\
             4026531836 sleep 100 root\n         7 a         nobody\n\
             \x20        8 b         nobody\n         9 c         root\n"
        );
    }

    #[test]
    fn tree_draws_glyphs_in_its_column_and_orders_subtrees() {
        assert_eq!(
            table(TREE).render(Format::Table { width: None }, false, "x"),
            "4026531836 sleep 100 root\n         7 ├─a       nobody\n\
             \x20        8 │ └─b     nobody\n         9 └─c       root\n"
        );
    }

    #[test]
    fn table_truncates_only_marked_columns_to_fit() {
        let out = table(None).render(Format::Table { width: Some(22) }, false, "x");
        // COMMAND gives up two characters, down to its heading's width, and no more.
        assert_eq!(out.lines().next(), Some("4026531836 sleep 1 root"));
    }

    #[test]
    fn raw_escapes_blanks_and_tree_glyphs() {
        let out = table(TREE).render(Format::Raw, false, "x");
        assert_eq!(out.lines().next(), Some("4026531836 sleep\\x20100 root"));
        assert_eq!(
            out.lines().nth(1),
            Some("7 \\xe2\\x94\\x9c\\xe2\\x94\\x80a nobody")
        );
    }

    #[test]
    fn json_nests_children_with_typed_values() {
        let v: Value = serde_json::from_str(&table(TREE).render(Format::Json, true, "ns")).unwrap();
        assert_eq!(v["ns"][0]["ns"], 4026531836u64);
        assert_eq!(v["ns"][0]["command"], "sleep 100");
        assert_eq!(v["ns"][0]["children"][0]["children"][0]["ns"], 8);
        assert_eq!(v["ns"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn no_rows_prints_nothing_but_json_prints_an_empty_list() {
        let empty = Table {
            columns: &COLS,
            rows: vec![],
            tree: None,
        };
        assert_eq!(empty.render(Format::Table { width: None }, true, "x"), "");
        assert_eq!(empty.render(Format::Raw, true, "x"), "");
        let v: Value = serde_json::from_str(&empty.render(Format::Json, true, "x")).unwrap();
        assert_eq!(v["x"], serde_json::json!([]));
    }
}
