//! Row filters in the expression language of util-linux's libsmartcols
//! (`scols-filter(5)`), the language `lsns -Q/--filter` and `lsblk -Q` accept since
//! util-linux 2.40.
//!
//! Hand-written because no crate implements the scols filter language. It follows the
//! libsmartcols scanner, grammar and evaluator so that an expression selects the same rows
//! here as in `lsns -Q`:
//!
//! - Operands: column names (`[A-Za-z][A-Za-z0-9_.%:/-]*`, matched case-insensitively),
//!   unsigned integers with optional binary suffixes (`4K`, `2MiB`), floats (`1.5`), strings
//!   in `"…"` or `'…'` (no escapes, no line breaks, surrounding blanks trimmed), `true` and
//!   `false`.
//! - Operators: `==` `!=` `<` `<=` `>` `>=` (or `eq` `ne` `lt` `le` `gt` `ge`), `=~` and `!~`
//!   (unanchored regex search; the right side must be a string), `!`/`not`, `&&`/`and`,
//!   `||`/`or` and parentheses. Word operators are all lower or all upper case.
//! - Precedence is the scols grammar's, which is not C's: `and` and `or` share the lowest
//!   level and associate left (`a or b and c` is `(a or b) and c`), and `!` shares the
//!   comparison level (`!A == B` is `(!A) == B`).
//! - A bare operand is true when it is non-empty and non-zero.
//! - Both sides of a comparison are converted to one type (see [`Value`]), so
//!   `NETNSID == '7'` compares text and `USER == 5` tries to read USER as a number.
//!
//! Deliberate departures, all where scols would misbehave or abort:
//! - characters the scanner does not know (`=`, `&`, an unterminated quote) are errors,
//!   where flex echoes them to stdout and skips them;
//! - integer literals above `u64::MAX` are errors rather than saturating;
//! - a cell that cannot be converted (`USER == 5` on `root`) makes the row not match, where
//!   `lsns` aborts the whole listing;
//! - `=~` whose left side is neither a column nor a string is a parse error, where scols
//!   fails during evaluation;
//! - regexes use the `regex` crate's syntax, close to the POSIX ERE of `regcomp`;
//! - an empty cell is typed as text and stays empty when converted (scols gives it its
//!   column's type, and converting an empty number or boolean cell makes it 0, false or
//!   "0"); blank text counts as empty; cells may hold negative integers;
//! - an expression of only blanks matches every row, like an empty one.

use std::borrow::Cow;
use std::fmt;

use regex::Regex;

/// The most operands and operators scols accepts in one expression. It also bounds the
/// recursion of evaluation, which follows the tree.
const MAX_NODES: usize = 256;
/// Parentheses add no nodes, so their nesting is bounded separately (like the scols parser
/// stack) to keep parsing from exhausting the stack.
const MAX_NESTING: usize = 256;

/// A cell value handed to [`Filter::matches`].
///
/// A comparison converts both sides to the type of the literal (or sub-expression) rather
/// than the column's, and to float when the other side is an integer; so give numeric
/// columns as [`Value::Int`] or [`Value::Float`] and the rest as [`Value::Text`]. Text that
/// does not read as the wanted number makes the row not match.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Compared exactly with other integers, including 64-bit ids beyond 2^53.
    Int(i128),
    Float(f64),
    Text(String),
    Bool(bool),
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Int(n.into())
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n.into())
    }
}

#[cfg(test)]
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

/// Why an expression was rejected, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// 0-based character column in the expression; its length when the expression ended
    /// too early.
    pub position: usize,
    pub message: String,
}

impl FilterError {
    fn new(position: usize, message: impl Into<String>) -> Self {
        FilterError {
            position,
            message: message.into(),
        }
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counted from 1, as editors and compilers count columns.
        write!(f, "column {}: {}", self.position + 1, self.message)
    }
}

impl std::error::Error for FilterError {}

/// A parsed filter expression.
#[derive(Clone, Debug)]
pub struct Filter {
    /// `None` for an empty expression, which matches every row.
    root: Option<Node>,
    columns: Vec<ColumnRef>,
}

#[derive(Clone, Debug)]
struct ColumnRef {
    name: String,
    /// Where the column is first written, for "unknown column" errors.
    position: usize,
}

#[derive(Clone, Debug)]
enum Node {
    Literal(Value),
    /// Index into `Filter::columns`.
    Column(usize),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Compare(CmpOp, Box<Node>, Box<Node>),
    Regex {
        subject: Subject,
        pattern: Regex,
        negate: bool,
    },
}

/// What a regex is matched against: the only operands scols can turn into text for it.
#[derive(Clone, Debug)]
enum Subject {
    Column(usize),
    Text(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn holds<T: PartialOrd>(self, a: &T, b: &T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }
}

impl Filter {
    /// Parses an expression. An empty (or blank) expression matches every row.
    pub fn parse(expr: &str) -> Result<Filter, FilterError> {
        let chars: Vec<char> = expr.chars().collect();
        let (tokens, lex_error) = lex(&chars);
        if tokens.is_empty() && lex_error.is_none() {
            return Ok(Filter {
                root: None,
                columns: Vec::new(),
            });
        }
        let mut parser = Parser {
            tokens,
            lex_error,
            next: 0,
            end: chars.len(),
            columns: Vec::new(),
            nodes: 0,
            nesting: 0,
        };
        let root = parser.parse_logic()?;
        if let Some(tok) = parser.peek()? {
            return Err(if matches!(tok.tok, Tok::RParen) {
                FilterError::new(
                    tok.pos,
                    "expected an operator or end of expression, found `)` without a matching `(`",
                )
            } else {
                parser.expected(format!(
                    "an operator or end of expression{}",
                    parser.after_previous()
                ))
            });
        }
        Ok(Filter {
            root: Some(root.node),
            columns: parser.columns,
        })
    }

    /// Column names the expression refers to, upper-cased, deduplicated, in order of first
    /// use: the names [`Filter::matches`] asks for (callers check them with `check_columns`).
    #[cfg(test)]
    fn columns(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// Rejects the first column not in `accepted` (any case) with an error pointing at it
    /// and listing what is accepted.
    pub fn check_columns(&self, accepted: &[&str]) -> Result<(), FilterError> {
        match self
            .columns
            .iter()
            .find(|c| !accepted.iter().any(|a| a.eq_ignore_ascii_case(&c.name)))
        {
            Some(c) => Err(FilterError::new(
                c.position,
                format!(
                    "unknown column {} (accepted: {})",
                    c.name,
                    accepted.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// Whether a row matches. `value(column)` gives the row's value of a column the
    /// expression names (upper-cased, as in [`Filter::columns`]), or `None` for an empty
    /// cell. It is asked at most once per column, and only if evaluation gets there.
    pub fn matches(&self, value: &mut dyn FnMut(&str) -> Option<Value>) -> bool {
        let Some(root) = &self.root else {
            return true;
        };
        let mut row = Row {
            fetch: value,
            columns: &self.columns,
            cells: vec![None; self.columns.len()],
        };
        // A value that cannot be converted aborts `lsns`; a viewer should only drop the row.
        eval(root, &mut row).unwrap_or(false)
    }
}

// ---------------------------------------------------------------------------------------
// Scanner

#[derive(Clone, Debug)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Cmp(CmpOp),
    Regex {
        negate: bool,
    },
    Literal(Value),
    Column(String),
    /// Kept as a token so the parser can say what it expected instead.
    Unknown(char),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    pos: usize,
    text: String,
}

/// Splits the expression into tokens. A lexical error ends the list and is kept aside, so
/// that a syntax error earlier in the text is reported first.
fn lex(chars: &[char]) -> (Vec<Token>, Option<FilterError>) {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        match lex_one(chars, i) {
            Ok((tok, len)) => {
                tokens.push(Token {
                    tok,
                    pos: i,
                    text: chars[i..i + len].iter().collect(),
                });
                i += len;
            }
            Err(e) => return (tokens, Some(e)),
        }
    }
    (tokens, None)
}

/// The token at `i` and its length in characters.
fn lex_one(chars: &[char], i: usize) -> Result<(Tok, usize), FilterError> {
    Ok(match (chars[i], chars.get(i + 1).copied()) {
        ('"' | '\'', _) => lex_string(chars, i)?,
        ('0'..='9', _) => lex_number(chars, i)?,
        ('a'..='z' | 'A'..='Z', _) => lex_word(chars, i),
        ('&', Some('&')) => (Tok::And, 2),
        ('|', Some('|')) => (Tok::Or, 2),
        ('=', Some('=')) => (Tok::Cmp(CmpOp::Eq), 2),
        ('!', Some('=')) => (Tok::Cmp(CmpOp::Ne), 2),
        ('<', Some('=')) => (Tok::Cmp(CmpOp::Le), 2),
        ('>', Some('=')) => (Tok::Cmp(CmpOp::Ge), 2),
        ('=', Some('~')) => (Tok::Regex { negate: false }, 2),
        ('!', Some('~')) => (Tok::Regex { negate: true }, 2),
        ('<', _) => (Tok::Cmp(CmpOp::Lt), 1),
        ('>', _) => (Tok::Cmp(CmpOp::Gt), 1),
        ('!', _) => (Tok::Not, 1),
        ('(', _) => (Tok::LParen, 1),
        (')', _) => (Tok::RParen, 1),
        (c, _) => (Tok::Unknown(c), 1),
    })
}

fn lex_string(chars: &[char], start: usize) -> Result<(Tok, usize), FilterError> {
    let quote = chars[start];
    let body = &chars[start + 1..];
    // As in the scols scanner there are no escapes (a backslash stays, which regexes
    // need) and a string cannot span lines.
    match body.iter().position(|&c| c == quote || c == '\n') {
        Some(end) if body[end] == quote => {
            let text: String = body[..end].iter().collect();
            let value = Value::Text(trim_blanks(&text).to_owned());
            Ok((Tok::Literal(value), end + 2))
        }
        stop => Err(FilterError::new(
            start,
            format!(
                "expected a closing `{quote}` for this string, found end of {}",
                if stop.is_some() { "line" } else { "expression" }
            ),
        )),
    }
}

fn lex_number(chars: &[char], start: usize) -> Result<(Tok, usize), FilterError> {
    let digits = |from: usize| {
        chars[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let text = |end: usize| chars[start..end].iter().collect::<String>();
    let int_end = start + digits(start);

    let fraction = match chars.get(int_end) {
        Some('.') => digits(int_end + 1),
        _ => 0,
    };
    if fraction > 0 {
        let end = int_end + 1 + fraction;
        let f = text(end)
            .parse()
            .map_err(|_| FilterError::new(start, format!("invalid number {}", text(end))))?;
        return Ok((Tok::Literal(Value::Float(f)), end - start));
    }

    // Binary size suffixes, upper case only as in the scanner: `4K`, `4KiB` = 4096.
    let power = chars.get(int_end).and_then(|&c| "KMGTPEZY".find(c));
    let mut end = int_end + usize::from(power.is_some());
    if power.is_some() && chars.get(end..end + 2) == Some(&['i', 'B'][..]) {
        end += 2;
    }
    let n = text(int_end)
        .parse::<u64>()
        .ok()
        .and_then(|n| (0..power.map_or(0, |p| p + 1)).try_fold(n, |n, _| n.checked_mul(1024)));
    match n {
        Some(n) => Ok((Tok::Literal(Value::Int(n.into())), end - start)),
        None => Err(FilterError::new(
            start,
            format!("number {} is larger than {}", text(end), u64::MAX),
        )),
    }
}

fn lex_word(chars: &[char], start: usize) -> (Tok, usize) {
    let len = 1 + chars[start + 1..]
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || "_.%:/-".contains(c))
        .count();
    let word: String = chars[start..start + len].iter().collect();
    (keyword(&word).unwrap_or(Tok::Column(word)), len)
}

fn keyword(word: &str) -> Option<Tok> {
    // The scanner knows each keyword in all lower or all upper case only, so `And` is a
    // column name.
    let lower = word.to_ascii_lowercase();
    if word != lower && word != word.to_ascii_uppercase() {
        return None;
    }
    Some(match lower.as_str() {
        "and" => Tok::And,
        "or" => Tok::Or,
        "not" => Tok::Not,
        "eq" => Tok::Cmp(CmpOp::Eq),
        "ne" => Tok::Cmp(CmpOp::Ne),
        "lt" => Tok::Cmp(CmpOp::Lt),
        "le" => Tok::Cmp(CmpOp::Le),
        "gt" => Tok::Cmp(CmpOp::Gt),
        "ge" => Tok::Cmp(CmpOp::Ge),
        "true" => Tok::Literal(Value::Bool(true)),
        "false" => Tok::Literal(Value::Bool(false)),
        _ => return None,
    })
}

/// Trims what C's `isspace` calls blank, as scols does to strings and to cell text.
fn trim_blanks(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b')
}

fn describe(token: &Token) -> String {
    match token.tok {
        Tok::Unknown('=') => "`=` (comparison is `==`)".to_owned(),
        Tok::Unknown('&') => "`&` (logical and is `&&`)".to_owned(),
        Tok::Unknown('|') => "`|` (logical or is `||`)".to_owned(),
        _ => format!("`{}`", token.text),
    }
}

// ---------------------------------------------------------------------------------------
// Parser

struct Parser {
    tokens: Vec<Token>,
    lex_error: Option<FilterError>,
    next: usize,
    /// Where errors about a missing token point: one past the last character.
    end: usize,
    columns: Vec<ColumnRef>,
    nodes: usize,
    nesting: usize,
}

struct Parsed {
    node: Node,
    /// Index of the node's first token, for errors about it.
    token: usize,
}

impl Parser {
    /// The next token; `None` at the end, or the lexical error that stopped the scanner.
    fn peek(&self) -> Result<Option<&Token>, FilterError> {
        match (self.tokens.get(self.next), &self.lex_error) {
            (Some(tok), _) => Ok(Some(tok)),
            (None, Some(e)) => Err(e.clone()),
            (None, None) => Ok(None),
        }
    }

    fn after_previous(&self) -> String {
        self.next
            .checked_sub(1)
            .map(|i| format!(" after `{}`", self.tokens[i].text))
            .unwrap_or_default()
    }

    fn expected(&self, what: String) -> FilterError {
        match self.peek() {
            Ok(Some(tok)) => {
                FilterError::new(tok.pos, format!("expected {what}, found {}", describe(tok)))
            }
            Ok(None) => FilterError::new(
                self.end,
                format!("expected {what}, found end of expression"),
            ),
            Err(e) => e,
        }
    }

    fn count_node(&mut self, pos: usize) -> Result<(), FilterError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(FilterError::new(
                pos,
                format!("expression has more than {MAX_NODES} operands and operators"),
            ));
        }
        Ok(())
    }

    /// `and` and `or` share the lowest precedence and associate left, as in the scols
    /// grammar: `a or b and c` is `(a or b) and c`.
    fn parse_logic(&mut self) -> Result<Parsed, FilterError> {
        let mut lhs = self.parse_comparison()?;
        while let Some(tok) = self.peek()? {
            let and = match tok.tok {
                Tok::And => true,
                Tok::Or => false,
                _ => break,
            };
            let pos = tok.pos;
            self.next += 1;
            self.count_node(pos)?;
            let rhs = self.parse_comparison()?;
            let (l, r) = (Box::new(lhs.node), Box::new(rhs.node));
            lhs.node = if and { Node::And(l, r) } else { Node::Or(l, r) };
        }
        Ok(lhs)
    }

    /// Comparisons associate left and take unary operands, `!` being at their level.
    fn parse_comparison(&mut self) -> Result<Parsed, FilterError> {
        let mut lhs = self.parse_unary()?;
        while let Some(tok) = self.peek()? {
            let (cmp, negate) = match tok.tok {
                Tok::Cmp(cmp) => (Some(cmp), false),
                Tok::Regex { negate } => (None, negate),
                _ => break,
            };
            let (pos, op) = (tok.pos, tok.text.clone());
            self.next += 1;
            self.count_node(pos)?;
            let token = lhs.token;
            let node = match cmp {
                Some(cmp) => {
                    let rhs = self.parse_unary()?;
                    Node::Compare(cmp, Box::new(lhs.node), Box::new(rhs.node))
                }
                None => self.parse_regex(lhs, &op, negate)?,
            };
            lhs = Parsed { node, token };
        }
        Ok(lhs)
    }

    fn parse_regex(&mut self, lhs: Parsed, op: &str, negate: bool) -> Result<Node, FilterError> {
        let subject = match lhs.node {
            Node::Column(i) => Subject::Column(i),
            Node::Literal(Value::Text(s)) => Subject::Text(s),
            _ => {
                return Err(FilterError::new(
                    self.tokens[lhs.token].pos,
                    format!("the left side of `{op}` must be a column or a string"),
                ));
            }
        };
        let rhs = self.parse_unary()?;
        let token = &self.tokens[rhs.token];
        let Node::Literal(Value::Text(pattern)) = rhs.node else {
            return Err(FilterError::new(
                token.pos,
                format!(
                    "expected a quoted regular expression after `{op}`, found {}",
                    describe(token)
                ),
            ));
        };
        let pattern = Regex::new(&pattern).map_err(|e| {
            let text = e.to_string();
            // regex errors draw the pattern with a caret; the `error:` line says it alone.
            let problem = text
                .lines()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or(&text);
            FilterError::new(
                token.pos,
                format!("invalid regular expression {}: {problem}", token.text),
            )
        })?;
        Ok(Node::Regex {
            subject,
            pattern,
            negate,
        })
    }

    fn parse_unary(&mut self) -> Result<Parsed, FilterError> {
        match self.peek()? {
            Some(tok) if matches!(tok.tok, Tok::Not) => {
                let (token, pos) = (self.next, tok.pos);
                self.next += 1;
                self.count_node(pos)?;
                let inner = self.parse_unary()?;
                Ok(Parsed {
                    node: Node::Not(Box::new(inner.node)),
                    token,
                })
            }
            _ => self.parse_primary(),
        }
    }

    fn parse_primary(&mut self) -> Result<Parsed, FilterError> {
        let Some(tok) = self.peek()?.cloned() else {
            return Err(self.expected(format!("a value{}", self.after_previous())));
        };
        let token = self.next;
        let node = match tok.tok {
            Tok::Literal(value) => {
                self.next += 1;
                self.count_node(tok.pos)?;
                Node::Literal(value)
            }
            Tok::Column(name) => {
                self.next += 1;
                self.count_node(tok.pos)?;
                Node::Column(self.column_index(name, tok.pos))
            }
            Tok::LParen => {
                self.next += 1;
                self.nesting += 1;
                if self.nesting > MAX_NESTING {
                    return Err(FilterError::new(
                        tok.pos,
                        format!("parentheses nested deeper than {MAX_NESTING}"),
                    ));
                }
                let inner = self.parse_logic()?;
                if !matches!(
                    self.peek()?,
                    Some(Token {
                        tok: Tok::RParen,
                        ..
                    })
                ) {
                    return Err(
                        self.expected(format!("`)` to close the `(` at column {}", tok.pos))
                    );
                }
                self.next += 1;
                self.nesting -= 1;
                inner.node
            }
            _ => return Err(self.expected(format!("a value{}", self.after_previous()))),
        };
        Ok(Parsed { node, token })
    }

    fn column_index(&mut self, written: String, pos: usize) -> usize {
        // lsns looks column names up case-insensitively.
        let name = written.to_ascii_uppercase();
        match self.columns.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                self.columns.push(ColumnRef {
                    name,
                    position: pos,
                });
                self.columns.len() - 1
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation

/// A conversion failed (text that is not a number); the row does not match.
struct Unconvertible;

struct Row<'r> {
    fetch: &'r mut dyn FnMut(&str) -> Option<Value>,
    columns: &'r [ColumnRef],
    /// `None` until asked for.
    cells: Vec<Option<Option<Value>>>,
}

impl Row<'_> {
    fn load(&mut self, column: usize) {
        let fetch = &mut self.fetch;
        let name = &self.columns[column].name;
        self.cells[column].get_or_insert_with(|| fetch(name));
    }

    /// A loaded cell; blank text is empty, as lsns leaves cells without data unset.
    fn cell(&self, column: usize) -> Option<Scalar<'_>> {
        let value = self.cells[column].as_ref()?.as_ref()?;
        Some(Scalar::of(value)).filter(|s| !matches!(s, Scalar::Text(t) if t.is_empty()))
    }
}

fn eval(node: &Node, row: &mut Row) -> Result<bool, Unconvertible> {
    Ok(match node {
        Node::Literal(value) => Scalar::of(value).truthy(),
        Node::Column(i) => {
            row.load(*i);
            row.cell(*i).is_some_and(Scalar::truthy)
        }
        Node::Not(inner) => !eval(inner, row)?,
        Node::And(a, b) => eval(a, row)? && eval(b, row)?,
        Node::Or(a, b) => eval(a, row)? || eval(b, row)?,
        Node::Compare(op, l, r) => {
            let (l, r) = (prepare(l, row)?, prepare(r, row)?);
            compare(*op, l.operand(row), r.operand(row))?
        }
        Node::Regex {
            subject,
            pattern,
            negate,
        } => {
            let text = match subject {
                Subject::Text(s) => Cow::Borrowed(s.as_str()),
                Subject::Column(i) => {
                    row.load(*i);
                    // scols matches an empty cell as "".
                    row.cell(*i).map_or(Cow::Borrowed(""), Scalar::into_text)
                }
            };
            pattern.is_match(&text) != *negate
        }
    })
}

/// One side of a comparison, evaluated so far that reading its value needs no more
/// mutable access to the row.
enum Side<'n> {
    Literal(&'n Value),
    Column(usize),
    Computed(bool),
}

fn prepare<'n>(node: &'n Node, row: &mut Row) -> Result<Side<'n>, Unconvertible> {
    Ok(match node {
        Node::Literal(value) => Side::Literal(value),
        Node::Column(i) => {
            row.load(*i);
            Side::Column(*i)
        }
        other => Side::Computed(eval(other, row)?),
    })
}

impl<'n> Side<'n> {
    fn operand<'a>(&self, row: &'a Row) -> Operand<'a>
    where
        'n: 'a,
    {
        match *self {
            Side::Literal(value) => Operand {
                column: false,
                value: Some(Scalar::of(value)),
            },
            Side::Column(i) => Operand {
                column: true,
                value: row.cell(i),
            },
            Side::Computed(b) => Operand {
                column: false,
                value: Some(Scalar::Bool(b)),
            },
        }
    }
}

struct Operand<'a> {
    column: bool,
    /// `None` for an empty cell.
    value: Option<Scalar<'a>>,
}

/// Values during evaluation. Derived ordering compares within a variant, and both sides of
/// a comparison are cast to one variant first; NaN compares like C's floats.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
enum Scalar<'a> {
    Int(i128),
    Float(f64),
    Text(Cow<'a, str>),
    Bool(bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Text,
    Bool,
}

impl<'a> Scalar<'a> {
    fn of(value: &'a Value) -> Self {
        match value {
            Value::Int(n) => Scalar::Int(*n),
            Value::Float(f) => Scalar::Float(*f),
            Value::Text(s) => Scalar::Text(Cow::Borrowed(trim_blanks(s))),
            Value::Bool(b) => Scalar::Bool(*b),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Scalar::Int(_) => Kind::Int,
            Scalar::Float(_) => Kind::Float,
            Scalar::Text(_) => Kind::Text,
            Scalar::Bool(_) => Kind::Bool,
        }
    }

    fn truthy(self) -> bool {
        match self {
            Scalar::Int(n) => n != 0,
            Scalar::Float(f) => f != 0.0,
            Scalar::Text(s) => !s.is_empty(),
            Scalar::Bool(b) => b,
        }
    }

    fn into_text(self) -> Cow<'a, str> {
        match self {
            Scalar::Int(n) => n.to_string().into(),
            Scalar::Float(f) => format_g(f).into(),
            Scalar::Text(s) => s,
            Scalar::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
        }
    }

    /// Converts the way scols casts parameters; only reading a number from text can fail.
    fn cast(self, kind: Kind) -> Result<Self, Unconvertible> {
        Ok(match (kind, self) {
            (Kind::Text, s) => Scalar::Text(s.into_text()),
            (Kind::Int, Scalar::Text(s)) => Scalar::Int(s.parse().map_err(|_| Unconvertible)?),
            (Kind::Int, Scalar::Float(f)) => Scalar::Int(f as i128),
            (Kind::Int, Scalar::Bool(b)) => Scalar::Int(b.into()),
            (Kind::Float, Scalar::Text(s)) => Scalar::Float(s.parse().map_err(|_| Unconvertible)?),
            (Kind::Float, Scalar::Int(n)) => Scalar::Float(n as f64),
            (Kind::Float, Scalar::Bool(b)) => Scalar::Float(f64::from(u8::from(b))),
            // scols says yes to "1", "true" in any case, and what rpmatch(3) takes for yes.
            (Kind::Bool, Scalar::Text(s)) => Scalar::Bool(
                s == "1" || s.eq_ignore_ascii_case("true") || s.starts_with(['y', 'Y']),
            ),
            (Kind::Bool, Scalar::Int(n)) => Scalar::Bool(n > 0),
            (Kind::Bool, Scalar::Float(f)) => Scalar::Bool(f > 0.0),
            (_, same) => same,
        })
    }
}

/// The type scols compares in: a literal's or sub-expression's beats a column's, else the
/// left side's, and float beats integer. An empty cell has no type of its own; it counts as
/// text, the type of most columns that can be empty.
fn common_kind(l: &Operand, r: &Operand) -> Kind {
    let lk = l.value.as_ref().map_or(Kind::Text, Scalar::kind);
    let rk = r.value.as_ref().map_or(Kind::Text, Scalar::kind);
    match if l.column && !r.column { rk } else { lk } {
        Kind::Int if lk == Kind::Float || rk == Kind::Float => Kind::Float,
        kind => kind,
    }
}

fn compare<'a>(op: CmpOp, l: Operand<'a>, r: Operand<'a>) -> Result<bool, Unconvertible> {
    let kind = common_kind(&l, &r);
    let cast = |value: Option<Scalar<'a>>| value.map(|s| s.cast(kind)).transpose();
    Ok(match (cast(l.value)?, cast(r.value)?) {
        (Some(a), Some(b)) => op.holds(&a, &b),
        // scols compares an empty cell as a NULL string, which sorts before every string;
        // any other comparison with an empty side is false, even `!=`.
        (a, b) => kind == Kind::Text && op.holds(&a.is_some(), &b.is_some()),
    })
}

/// Formats like C's `%g`, which scols uses to compare a float with text.
fn format_g(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let strip = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s.to_owned()
        }
    };
    // Six significant digits, in positional notation unless the exponent is below -4 or
    // at least six.
    let scientific = format!("{f:.5e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` output has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponents are integers");
    if (-4..6).contains(&exponent) {
        let decimals = usize::try_from(5 - exponent).unwrap_or(0);
        strip(&format!("{f:.decimals$}"))
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip(mantissa), exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(expr: &str) -> Filter {
        Filter::parse(expr).unwrap_or_else(|e| panic!("{expr:?}: {e}"))
    }

    fn matches(expr: &str, cells: &[(&str, Value)]) -> bool {
        parse(expr).matches(&mut |name| {
            cells
                .iter()
                .find(|(column, _)| *column == name)
                .map(|(_, value)| value.clone())
        })
    }

    fn error(expr: &str) -> FilterError {
        Filter::parse(expr).expect_err(expr)
    }

    fn ns(ty: &str, inode: u64, nprocs: u64, user: &str) -> Vec<(&'static str, Value)> {
        vec![
            ("TYPE", ty.into()),
            ("NS", inode.into()),
            ("NPROCS", nprocs.into()),
            ("USER", user.into()),
        ]
    }

    #[test]
    fn inode_and_count() {
        let expr = "NS == 4026531836 && NPROCS == 1";
        assert!(matches(expr, &ns("net", 4026531836, 1, "root")));
        assert!(!matches(expr, &ns("net", 4026531836, 2, "root")));
        assert!(!matches(expr, &ns("net", 4026531837, 1, "root")));
        assert_eq!(parse(expr).columns(), ["NS", "NPROCS"]);
    }

    #[test]
    fn integers_compare_exactly_beyond_f64() {
        let big = [("ID", Value::from(u64::MAX))];
        assert!(matches("ID == 18446744073709551615", &big));
        assert!(!matches("ID == 18446744073709551614", &big));
        assert!(matches("ID > 18446744073709551614", &big));
    }

    #[test]
    fn quoted_number_against_number_column() {
        // The literal's type wins: the cell is compared as the text "7".
        assert!(matches("NETNSID == '7'", &[("NETNSID", Value::Int(7))]));
        assert!(!matches("NETNSID == '7'", &[("NETNSID", Value::Int(17))]));
        assert!(matches("NETNSID == '7'", &[("NETNSID", "7".into())]));
        assert!(!matches("NETNSID == '7'", &[]));
        // Text comparison orders as text.
        assert!(matches("NPROCS < '9'", &[("NPROCS", Value::Int(10))]));
        assert!(!matches("NPROCS < 9", &[("NPROCS", Value::Int(10))]));
    }

    #[test]
    fn text_column_against_number_literal() {
        assert!(matches("NETNSID == 7", &[("NETNSID", "7".into())]));
        assert!(matches("NETNSID >= 10", &[("NETNSID", " 12 ".into())]));
        // Text that is not a number drops the row, whatever surrounds the comparison.
        assert!(!matches("USER == 0", &[("USER", "root".into())]));
        assert!(!matches("not (USER == 0)", &[("USER", "root".into())]));
        // ...unless evaluation never gets there.
        assert!(matches(
            "USER == 'root' || USER == 0",
            &[("USER", "root".into())]
        ));
    }

    #[test]
    fn user_and_nprocs() {
        let expr = r#"USER != "root" and NPROCS > 1"#;
        assert!(matches(expr, &ns("net", 1, 2, "alice")));
        assert!(!matches(expr, &ns("net", 1, 2, "root")));
        assert!(!matches(expr, &ns("net", 1, 1, "alice")));
        // An empty USER is a NULL string: unequal to everything.
        assert!(matches(expr, &[("NPROCS", Value::Int(2))]));
    }

    #[test]
    fn regex_search_is_unanchored() {
        let types = ["net", "mnt", "uts", "ipc", "user", "pid", "cgroup", "time"];
        let hits = |expr: &str| -> Vec<&str> {
            let filter = parse(expr);
            types
                .iter()
                .copied()
                .filter(|t| filter.matches(&mut |_| Some(Value::from(*t))))
                .collect()
        };
        assert_eq!(hits(r#"TYPE =~ "n.*""#), ["net", "mnt"]);
        assert_eq!(
            hits(r#"TYPE !~ "^(user|pid)$""#),
            ["net", "mnt", "uts", "ipc", "cgroup", "time"]
        );
        // Backslashes reach the regex untouched.
        assert!(matches(r#"P =~ "a\.b""#, &[("P", "a.b".into())]));
        assert!(!matches(r#"P =~ "a\.b""#, &[("P", "axb".into())]));
        // Numbers are matched as their text; empty cells as "".
        assert!(matches(
            r#"NS =~ "^4026""#,
            &[("NS", Value::Int(4026531836))]
        ));
        assert!(matches(r#"USER =~ "^$""#, &[]));
        assert!(matches(r#"USER !~ "x""#, &[]));
        // A parenthesised string is still a string.
        assert!(matches(r#"TYPE =~ ("e")"#, &[("TYPE", "net".into())]));
    }

    #[test]
    fn negation_and_parentheses() {
        let expr = r#"not (TYPE == "net" or TYPE == "mnt")"#;
        assert!(!matches(expr, &ns("net", 1, 1, "root")));
        assert!(!matches(expr, &ns("mnt", 1, 1, "root")));
        assert!(matches(expr, &ns("pid", 1, 1, "root")));

        assert!(matches("!(NPROCS >= 2)", &ns("net", 1, 1, "root")));
        assert!(!matches("!(NPROCS >= 2)", &ns("net", 1, 2, "root")));

        let nested = r#"((TYPE == "net" && (NPROCS > 1 || (USER == "root"))))"#;
        assert!(matches(nested, &ns("net", 1, 1, "root")));
        assert!(matches(nested, &ns("net", 1, 5, "bob")));
        assert!(!matches(nested, &ns("net", 1, 1, "bob")));
        assert!(!matches(nested, &ns("mnt", 1, 5, "root")));
        assert!(matches("!!NPROCS", &ns("net", 1, 3, "root")));
    }

    #[test]
    fn bare_operands_test_truth() {
        assert!(matches("NPROCS", &[("NPROCS", Value::Int(3))]));
        assert!(!matches("NPROCS", &[("NPROCS", Value::Int(0))]));
        assert!(!matches("NPROCS", &[]));
        assert!(matches("USER", &[("USER", "root".into())]));
        assert!(!matches("USER", &[("USER", "  ".into())]));
        assert!(matches("F", &[("F", Value::Float(0.5))]));
        assert!(!matches("B", &[("B", Value::Bool(false))]));
        assert!(matches("1", &[]));
        assert!(!matches("0", &[]));
        assert!(!matches("''", &[]));
        assert!(matches("true", &[]));
        assert!(!matches("FALSE", &[]));
    }

    #[test]
    fn and_or_share_one_precedence_level() {
        // scols: (a or b) and c; C would say a or (b and c).
        let cells = [
            ("A", Value::Bool(true)),
            ("B", Value::Bool(false)),
            ("C", Value::Bool(false)),
        ];
        assert!(!matches("A or B and C", &cells));
        assert!(!matches("A || B && C", &cells));
        assert!(matches("A or (B and C)", &cells));
        // Comparisons bind tighter than both.
        assert!(matches("A == true and C == false", &cells));
    }

    #[test]
    fn not_binds_at_comparison_level() {
        // `not TYPE == "net"` is `(not TYPE) == "net"`: false == ("net" as a boolean,
        // false), which holds for any non-empty TYPE.
        assert!(matches(r#"not TYPE == "net""#, &[("TYPE", "net".into())]));
        assert!(matches(r#"not TYPE == "net""#, &[("TYPE", "mnt".into())]));
        assert!(!matches(
            r#"not (TYPE == "net")"#,
            &[("TYPE", "net".into())]
        ));
    }

    #[test]
    fn comparisons_chain_left() {
        // (1 < 2) == true
        assert!(matches("1 < 2 == true", &[]));
        assert!(matches("1 < 2 == 'yes'", &[]));
    }

    #[test]
    fn empty_cells() {
        assert!(!matches("NPROCS != 1", &[]));
        assert!(!matches("NPROCS == 1", &[]));
        assert!(matches("USER != 'root'", &[]));
        assert!(!matches("USER == ''", &[]));
        assert!(matches("USER < 'a'", &[]));
        assert!(matches("A == B", &[]));
        assert!(!matches("A == B", &[("A", Value::Int(1))]));
        // An empty column compared with another column is a NULL string, before "0".
        assert!(matches("A < B", &[("B", Value::Int(0))]));
        assert!(!matches("A > B", &[("B", Value::Int(0))]));
        assert!(matches("NPROCS != 1", &[("NPROCS", Value::Int(2))]));
    }

    #[test]
    fn floats_and_promotion() {
        assert!(matches("NPROCS > 1.5", &[("NPROCS", Value::Int(2))]));
        assert!(!matches("NPROCS > 1.5", &[("NPROCS", Value::Int(1))]));
        assert!(matches("USE == 2", &[("USE", Value::Float(2.0))]));
        assert!(matches("USE < 2", &[("USE", Value::Float(1.9))]));
        assert!(matches("USE >= 12.25", &[("USE", "12.5".into())]));
        // A float cell compared with text is formatted like C's %g.
        assert!(matches("USE == '1.5'", &[("USE", Value::Float(1.5))]));
        assert!(matches(
            "USE == '1.23457e+06'",
            &[("USE", Value::Float(1234567.0))]
        ));
        let nan = [("USE", Value::Float(f64::NAN))];
        assert!(!matches("USE == 1.0", &nan));
        assert!(matches("USE != 1.0", &nan));
    }

    #[test]
    fn booleans() {
        let yes = |s: &str| matches("X == true", &[("X", s.into())]);
        assert!(yes("1") && yes("TRUE") && yes("yes") && yes("Y"));
        assert!(!yes("0") && !yes("no") && !yes("root"));
        assert!(matches("X == false", &[("X", "root".into())]));
        assert!(matches("X == true", &[("X", Value::Bool(true))]));
        assert!(matches("X == 1", &[("X", Value::Bool(true))]));
        assert!(matches("X == 'true'", &[("X", Value::Bool(true))]));
    }

    #[test]
    fn size_suffixes() {
        let size = |n: u64| [("SIZE", Value::from(n))];
        assert!(matches("SIZE == 4K", &size(4096)));
        assert!(matches("SIZE == 4KiB", &size(4096)));
        assert!(matches("SIZE == 3M", &size(3 << 20)));
        assert!(matches("SIZE == 1E", &size(1 << 60)));
        assert!(matches("SIZE == 0Y", &size(0)));
        assert_eq!(error("SIZE == 16E").position, 8);
        // `Ki` without `B` is `K` followed by a column `i`.
        assert_eq!(error("SIZE == 4Ki").position, 10);
    }

    #[test]
    fn number_too_large() {
        let e = error("NS == 18446744073709551616");
        assert_eq!(e.position, 6);
        assert!(e.message.contains("larger than"), "{e}");
    }

    #[test]
    fn keywords_and_column_names() {
        let filter = parse(r#"ns EQ 1 AND Type ne "x" or fsuse% gt 5 and MAJ:MIN == "8:0" and ns"#);
        assert_eq!(filter.columns(), ["NS", "TYPE", "FSUSE%", "MAJ:MIN"]);
        let unknown = |accepted: &[&str]| filter.check_columns(accepted).unwrap_err().position;
        assert_eq!(
            unknown(&["TYPE", "FSUSE%", "MAJ:MIN"]),
            0,
            "ns, where first written"
        );
        assert_eq!(unknown(&["ns", "type", "MAJ:MIN"]), 27, "fsuse%");
        // Mixed-case words are column names, not keywords.
        assert_eq!(parse("And").columns(), ["AND"]);
        assert_eq!(parse("a-b/c.d_e").columns(), ["A-B/C.D_E"]);
        // The callback is asked with the upper-cased name.
        assert!(matches("type == 'net'", &[("TYPE", "net".into())]));
    }

    #[test]
    fn unknown_columns() {
        let filter = parse("NS == 1 && FOO > 2 && BAR");
        assert_eq!(filter.check_columns(&["NS", "FOO", "BAR"]), Ok(()));
        let e = filter
            .check_columns(&["ns", "TYPE"])
            .expect_err("FOO is unknown");
        assert_eq!(e.position, 11);
        assert_eq!(
            e.to_string(),
            "column 12: unknown column FOO (accepted: ns, TYPE)"
        );
    }

    #[test]
    fn cells_are_fetched_lazily_and_once() {
        let filter = parse("NPROCS > 1 || USER == 'x' || NPROCS == 1 && NPROCS");
        let mut asked = Vec::new();
        assert!(filter.matches(&mut |name| {
            asked.push(name.to_owned());
            Some(Value::Int(2))
        }));
        assert_eq!(asked, ["NPROCS"]);
    }

    #[test]
    fn strings_trim_and_keep_backslashes() {
        assert!(matches(r#"USER == "  root ""#, &[("USER", "root".into())]));
        assert!(matches(r#"USER == ' root'"#, &[("USER", "root\t".into())]));
        assert!(matches(r#"P == "a\b""#, &[("P", r"a\b".into())]));
        assert!(matches(r#"P == "it's""#, &[("P", "it's".into())]));
    }

    #[test]
    fn empty_expression_matches_all() {
        assert!(matches("", &[]));
        assert!(matches("  \t", &[]));
        assert!(parse("").columns().is_empty());
    }

    #[test]
    fn parse_errors() {
        let cases = [
            (
                "NS ==",
                5,
                "expected a value after `==`, found end of expression",
            ),
            (
                r#"(TYPE == "net""#,
                14,
                "expected `)` to close the `(` at column 0, found end of expression",
            ),
            (
                "TYPE === 1",
                7,
                "expected a value after `==`, found `=` (comparison is `==`)",
            ),
            (
                r#""unterminated"#,
                0,
                "expected a closing `\"` for this string, found end of expression",
            ),
            (
                "NS == 1 &&",
                10,
                "expected a value after `&&`, found end of expression",
            ),
            (
                "NS == 1)",
                7,
                "expected an operator or end of expression, found `)` without a matching `(`",
            ),
            (
                "NS 5",
                3,
                "expected an operator or end of expression after `NS`, found `5`",
            ),
            (
                "NS == 1 & 2",
                8,
                "expected an operator or end of expression after `1`, found `&` (logical and is `&&`)",
            ),
        ];
        for (expr, position, message) in cases {
            let e = error(expr);
            assert_eq!(
                (e.position, e.message.as_str()),
                (position, message),
                "{expr}"
            );
        }
        assert_eq!(error("()").position, 1);
        assert_eq!(error(")").position, 0);
        assert_eq!(error("'abc\ndef'").position, 0);
        assert!(error("'abc\ndef'").message.ends_with("found end of line"));
    }

    #[test]
    fn syntax_error_before_lexical_error_wins() {
        assert_eq!(error(r#"NS 5 "open"#).position, 3);
        assert_eq!(error(r#"NS == "open"#).position, 6);
    }

    #[test]
    fn regex_errors() {
        let e = error(r#"TYPE =~ "(""#);
        assert_eq!(e.position, 8);
        assert!(
            e.message.starts_with(r#"invalid regular expression "(": "#),
            "{e}"
        );
        assert!(!e.message.contains('\n'), "{e}");

        let e = error("TYPE =~ NAME");
        assert_eq!(e.position, 8);
        assert_eq!(
            e.message,
            "expected a quoted regular expression after `=~`, found `NAME`"
        );
        assert_eq!(error("TYPE !~ 5").position, 8);
        let e = error(r#"1 =~ "1""#);
        assert_eq!(e.position, 0);
        assert_eq!(
            e.message,
            "the left side of `=~` must be a column or a string"
        );
        // `B == 1 =~ "y"` is `(B == 1) =~ "y"`.
        assert_eq!(error(r#"A and B == 1 =~ "y""#).position, 6);
        assert!(matches(r#""abc" =~ "b""#, &[]));
    }

    #[test]
    fn limits() {
        let deep = format!("{}NS{}", "(".repeat(300), ")".repeat(300));
        assert!(error(&deep).message.contains("nested"));
        let ok = format!("{}NS{}", "(".repeat(200), ")".repeat(200));
        assert!(matches(&ok, &[("NS", Value::Int(1))]));
        let long = vec!["NS"; 200].join(" and ");
        assert!(error(&long).message.contains("more than 256"));
        let nots = format!("{}NS", "!".repeat(300));
        assert!(error(&nots).message.contains("more than 256"));
    }

    #[test]
    fn format_g_matches_c() {
        let cases = [
            (1.5, "1.5"),
            (100.0, "100"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (999999.5, "1e+06"),
            (0.1, "0.1"),
            (-2.25, "-2.25"),
            (1e100, "1e+100"),
        ];
        for (f, text) in cases {
            assert_eq!(format_g(f), text, "{f}");
        }
    }
}
