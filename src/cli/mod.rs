//! Command-line views of the model.

pub mod cg;
pub mod ns;
pub mod oom;
pub mod ops;
pub mod record;
pub mod render;

/// Bad input from the user: printed as is, exit code 2, nothing done.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A message on stderr, `nstop: ` first, with host text (paths, names, typed values) escaped.
/// Written without eprintln!, which panics when stderr is gone (a hung-up terminal).
pub fn tell(message: impl std::fmt::Display) {
    use std::io::Write;
    let text = format!("nstop: {message}\n");
    let _ = std::io::stderr().write_all(crate::text::printable_lines(&text).as_bytes());
}

/// Human-readable output on stdout, host text escaped.
pub fn say(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::io::stdout()
        .lock()
        .write_all(crate::text::printable_lines(text).as_bytes())
}
