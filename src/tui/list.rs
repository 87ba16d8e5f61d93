//! One screen's rows: which items, in which order, nested or flat, and where the cursor is.
//! Rows are indices into the model, rebuilt when the model, sort, filter or folding changes;
//! their cells are made only for the rows on screen.

use std::collections::HashSet;

use crate::filter::{Filter, FilterError, Value};
use crate::model::Model;
use crate::tui::panes::{RowKey, Scope, Screen, Spec, View};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// Index into the model's list of this screen's items.
    pub item: usize,
    pub depth: u16,
    pub has_children: bool,
    /// Shown only as the ancestor of a row that is (tree view with a filter or scope).
    pub context: bool,
}

#[derive(Debug)]
pub struct ListState {
    pub screen: Screen,
    pub rows: Vec<Row>,
    pub selected: usize,
    /// First row on screen.
    pub offset: usize,
    pub sort: usize,
    pub descending: bool,
    pub tree: bool,
    pub filter: String,
    /// Why `filter`, which compares, is matched as text (as of the last rebuild).
    pub filter_error: Option<String>,
    pub scope: Scope,
    /// The Processes screen's choice of hierarchy for its CGROUP column (`c`).
    pub hierarchy: Option<u32>,
    folded: HashSet<RowKey>,
    /// Keys already seen, so `folded_at_start` applies to new nodes only.
    seen: HashSet<RowKey>,
}

impl ListState {
    pub fn new(screen: Screen) -> ListState {
        let spec = screen.spec();
        ListState {
            screen,
            rows: Vec::new(),
            selected: 0,
            offset: 0,
            sort: spec.sort,
            descending: spec.descending,
            tree: spec.tree,
            filter: String::new(),
            filter_error: None,
            scope: Scope::All,
            hierarchy: None,
            folded: HashSet::new(),
            seen: HashSet::new(),
        }
    }

    pub fn spec(&self) -> &'static Spec {
        self.screen.spec()
    }

    /// The sort column's title with its direction: `RSS▼`.
    pub fn sort_title(&self) -> String {
        let columns = self.spec().columns;
        let arrow = if self.descending { '▼' } else { '▲' };
        format!("{}{arrow}", columns[self.sort.min(columns.len() - 1)].title)
    }

    /// The model as this list shows it.
    pub fn view<'m>(&self, model: &'m Model) -> View<'m> {
        View {
            model,
            hierarchy: self.hierarchy,
        }
    }

    pub fn selected_item(&self) -> Option<usize> {
        self.rows.get(self.selected).map(|r| r.item)
    }

    pub fn selected_key(&self, model: &Model) -> Option<RowKey> {
        self.selected_item().map(|i| (self.spec().key)(model, i))
    }

    /// Recomputes the rows from the same model (new sort, filter or folding), cursor kept.
    pub fn rebuild(&mut self, model: &Model) {
        let keep = self.selected_key(model);
        self.rebuild_at(model, keep);
    }

    /// Recomputes the rows and puts the cursor on `keep` when it is still listed, else on the
    /// same row number.
    pub fn rebuild_at(&mut self, model: &Model, keep: Option<RowKey>) {
        let spec = self.spec();
        let len = (spec.len)(model);
        if spec.tree || !self.folded.is_empty() {
            // Fold new nodes as the screen starts them; forget nodes that are gone, so a long
            // session's churn of units and containers does not pile up here.
            let mut keys = HashSet::with_capacity(len);
            for i in 0..len {
                let key = (spec.key)(model, i);
                if !self.seen.contains(&key) && (spec.folded_at_start)(model, i) {
                    self.folded.insert(key.clone());
                }
                keys.insert(key);
            }
            self.folded.retain(|k| keys.contains(k));
            self.seen = keys;
        }
        let (filter, error) = RowFilter::new(spec, &self.filter);
        self.filter_error = error.map(|e| e.to_string());
        let view = self.view(model);
        let shown: Vec<bool> = (0..len)
            .map(|i| (spec.include)(model, i, &self.scope) && filter.shows(spec, &view, i))
            .collect();
        let column = &spec.columns[self.sort.min(spec.columns.len() - 1)];
        let mut order: Vec<usize> = (0..len).collect();
        order.sort_by(|&a, &b| {
            let o = (column.order)(&view, a, b);
            if self.descending { o.reverse() } else { o }
        });
        self.rows = if self.tree {
            self.tree_rows(model, &order, shown)
        } else {
            order
                .into_iter()
                .filter(|&i| shown[i])
                .map(|item| Row {
                    item,
                    depth: 0,
                    has_children: false,
                    context: false,
                })
                .collect()
        };
        self.selected = keep
            .and_then(|key| {
                self.rows
                    .iter()
                    .position(|r| (spec.key)(model, r.item) == key)
            })
            .unwrap_or(self.selected)
            .min(self.rows.len().saturating_sub(1));
    }

    /// Pre-order of the shown items and their ancestors (so a match keeps its context),
    /// siblings in sort order, children of folded nodes left out.
    fn tree_rows(&self, model: &Model, order: &[usize], matched: Vec<bool>) -> Vec<Row> {
        let spec = self.spec();
        let parents = (spec.parents)(model);
        let mut shown = matched.clone();
        for i in 0..shown.len() {
            if matched[i] {
                let mut up = parents[i];
                while let Some(p) = up {
                    if shown[p] {
                        break;
                    }
                    shown[p] = true;
                    up = parents[p];
                }
            }
        }
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); shown.len()];
        let mut roots = Vec::new();
        for &i in order.iter().filter(|&&i| shown[i]) {
            match parents[i] {
                Some(p) if shown[p] => children[p].push(i),
                _ => roots.push(i),
            }
        }
        let mut rows = Vec::with_capacity(order.len());
        let mut stack: Vec<(usize, u16)> = roots.into_iter().rev().map(|i| (i, 0)).collect();
        while let Some((item, depth)) = stack.pop() {
            let has_children = !children[item].is_empty();
            rows.push(Row {
                item,
                depth,
                has_children,
                context: !matched[item],
            });
            if has_children && !self.folded.contains(&(spec.key)(model, item)) {
                stack.extend(children[item].iter().rev().map(|&c| (c, depth + 1)));
            }
        }
        rows
    }

    pub fn is_folded(&self, model: &Model, item: usize) -> bool {
        self.folded.contains(&(self.spec().key)(model, item))
    }

    /// Folds or unfolds the selected node; `None` toggles. Returns whether anything changed.
    pub fn fold(&mut self, model: &Model, fold: Option<bool>) -> bool {
        let Some(row) = self.rows.get(self.selected).copied() else {
            return false;
        };
        if !self.tree || !row.has_children {
            return false;
        }
        let key = (self.spec().key)(model, row.item);
        let fold = fold.unwrap_or(!self.folded.contains(&key));
        let changed = if fold {
            self.folded.insert(key)
        } else {
            self.folded.remove(&key)
        };
        if changed {
            self.rebuild(model);
        }
        changed
    }

    pub fn select_key(&mut self, model: &Model, key: &RowKey) -> bool {
        let spec = self.spec();
        match self
            .rows
            .iter()
            .position(|r| (spec.key)(model, r.item) == *key)
        {
            Some(i) => {
                self.selected = i;
                true
            }
            None => false,
        }
    }

    /// Puts the cursor on `key`, unfolding its ancestors and dropping a filter that hides it.
    pub fn reveal(&mut self, model: &Model, key: &RowKey) {
        let spec = self.spec();
        let Some(item) = (0..(spec.len)(model)).find(|&i| (spec.key)(model, i) == *key) else {
            return;
        };
        if self.tree {
            let parents = (spec.parents)(model);
            let mut up = parents[item];
            // Bounded: a parent cycle in inconsistent data must not hang the UI.
            for _ in 0..parents.len() {
                let Some(p) = up else { break };
                self.folded.remove(&(spec.key)(model, p));
                up = parents[p];
            }
        }
        self.rebuild(model);
        if !self.select_key(model, key) && !self.filter.is_empty() {
            self.filter.clear();
            self.rebuild(model);
            self.select_key(model, key);
        }
    }

    pub fn move_by(&mut self, delta: isize) {
        self.selected = moved(self.selected, delta, self.rows.len());
    }

    pub fn select(&mut self, row: usize) {
        self.selected = row.min(self.rows.len().saturating_sub(1));
    }

    /// Scrolls so the cursor is among the `height` rows on screen.
    pub fn follow(&mut self, height: usize) {
        self.offset = scrolled(self.selected, self.offset, height, self.rows.len());
    }

    /// The next row (forwards or backwards from the cursor, wrapping) whose text contains
    /// `query`, case-insensitively; `from_next` skips the cursor's own row until last, else it
    /// is tried first (typing a search keeps a row that still matches).
    pub fn find(
        &self,
        model: &Model,
        query: &str,
        forward: bool,
        from_next: bool,
    ) -> Option<usize> {
        let n = self.rows.len();
        if n == 0 || query.is_empty() {
            return None;
        }
        let query = query.to_lowercase();
        let start = usize::from(from_next);
        (start..n + start)
            .map(|step| {
                if forward {
                    (self.selected + step) % n
                } else {
                    (self.selected + n - step % n) % n
                }
            })
            .find(|&row| {
                row_text(self.spec(), &self.view(model), self.rows[row].item).contains(&query)
            })
    }
}

/// The cursor `delta` lines on, within `len` lines.
pub fn moved(selected: usize, delta: isize, len: usize) -> usize {
    selected
        .saturating_add_signed(delta)
        .min(len.saturating_sub(1))
}

/// The first line drawn so that `selected` is among the `height` lines shown, moving `offset`
/// as little as possible and never past the last page.
pub fn scrolled(selected: usize, offset: usize, height: usize, len: usize) -> usize {
    let height = height.max(1);
    let offset = if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    };
    offset.min(len.saturating_sub(height))
}

/// What `\` typed: an expression in the language of `nstop ns --filter` when it compares
/// (`NPROCS > 1 && USER != "root"`) and names this screen's columns, else text that any
/// column contains.
enum RowFilter {
    Everything,
    Text(String),
    Expression(Filter),
}

impl RowFilter {
    /// The filter, and the parse error of text that compares (`==`, `=~`, `<`...) but is not
    /// an expression on this screen's columns, which is then matched as text.
    fn new(spec: &Spec, typed: &str) -> (RowFilter, Option<FilterError>) {
        const COMPARISONS: [&str; 6] = ["==", "!=", "=~", "!~", "<", ">"];
        if typed.is_empty() {
            return (RowFilter::Everything, None);
        }
        let text = RowFilter::Text(typed.to_lowercase());
        if !COMPARISONS.iter().any(|op| typed.contains(op)) {
            return (text, None);
        }
        let titles: Vec<&str> = spec.columns.iter().map(|c| c.title).collect();
        match Filter::parse(typed).and_then(|f| f.check_columns(&titles).map(|()| f)) {
            Ok(filter) => (RowFilter::Expression(filter), None),
            Err(e) => (text, Some(e)),
        }
    }

    fn shows(&self, spec: &Spec, model: &View, item: usize) -> bool {
        match self {
            RowFilter::Everything => true,
            RowFilter::Text(text) => row_text(spec, model, item).contains(text),
            RowFilter::Expression(filter) => filter.matches(&mut |name| {
                let column = spec.columns.iter().find(|c| c.title == name)?;
                let text = (column.cell)(model, item).text;
                match text.as_str() {
                    "" | "-" => None,
                    t => Some(t.parse().map(Value::Int).unwrap_or(Value::Text(text))),
                }
            }),
        }
    }
}

/// What search and filter match: every column's text and the tree's name for the item
/// (which may differ: `memory /` in the tree is `memory:/` in the table), lower-cased.
pub fn row_text(spec: &Spec, model: &View, item: usize) -> String {
    let mut text = String::new();
    let cells = spec.columns.iter().map(|c| c.cell).chain([spec.tree_cell]);
    for cell in cells {
        text.push_str(&cell(model, item).text.to_lowercase());
        text.push('\u{1f}');
    }
    text
}
