//! Host text on a terminal. Command lines, cgroup and mount paths, container and unit names
//! come from whoever runs on the host; nstop runs as root, so none of it may reach a terminal
//! as a control sequence or as characters that reorder or hide what is shown. One rule for
//! the CLI's tables and messages and the explorer; JSON stays exact. `say` and `tell` are the
//! only ways host text reaches stdout and stderr outside JSON.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

/// `1 row`, `2 rows`: a count with its noun in number.
pub fn count<N: std::fmt::Display + PartialEq + From<u8>>(n: N, one: &str, many: &str) -> String {
    let word = if n == N::from(1) { one } else { many };
    format!("{n} {word}")
}

/// Whether a character must not reach a terminal raw: a control character (C0, DEL, C1) or
/// one that reorders or hides text (bidirectional embeddings, overrides and isolates, marks,
/// zero-width characters, the BOM).
pub fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}')
}

/// A value (a table cell, a name) safe to show: each unprintable character as the `\xHH` of
/// its UTF-8 bytes, as util-linux's tables escape them.
pub fn printable(text: &str) -> Cow<'_, str> {
    escape(text, unprintable)
}

/// Lines of output or a message: as `printable`, keeping the line breaks.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    escape(text, |c| c != '\n' && unprintable(c))
}

fn escape(text: &str, escaped: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&escaped) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if escaped(c) {
            let mut utf8 = [0u8; 4];
            for byte in c.encode_utf8(&mut utf8).bytes() {
                let _ = write!(out, "\\x{byte:02x}");
            }
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// A message on stderr, `nstop: ` first, with host text (paths, names, typed values) escaped.
/// Written without eprintln!, which panics when stderr is gone (a hung-up terminal).
pub fn tell(message: impl std::fmt::Display) {
    let text = format!("nstop: {message}\n");
    let _ = std::io::stderr().write_all(printable_lines(&text).as_bytes());
}

/// Human-readable output on stdout, host text escaped.
pub fn say(text: &str) -> std::io::Result<()> {
    std::io::stdout()
        .lock()
        .write_all(printable_lines(text).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped() {
        assert_eq!(printable("a\u{1b}[2Jb\u{7}"), "a\\x1b[2Jb\\x07");
        assert_eq!(
            printable("evil\u{202E}txt.exe"),
            "evil\\xe2\\x80\\xaetxt.exe"
        );
        assert_eq!(printable("c1\u{9b}"), "c1\\xc2\\x9b");
        assert_eq!(printable("tab\there"), "tab\\x09here");
        assert_eq!(printable("one\ntwo"), "one\\x0atwo");
        assert_eq!(printable_lines("one\ntwo\u{1b}\n"), "one\ntwo\\x1b\n");
    }

    #[test]
    fn printable_text_is_borrowed_unchanged() {
        for text in ["caf\u{e9} \u{1f600}", "├─ /system.slice", "", "日本語"] {
            assert!(matches!(printable(text), Cow::Borrowed(t) if t == text));
        }
    }
}
