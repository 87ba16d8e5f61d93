//! Command-line views of the model.

pub mod ns;
pub mod render;

/// Bad input from the user: printed as is, exit code 2, nothing done.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

nix::ioctl_read_bad!(tiocgwinsz, nix::libc::TIOCGWINSZ, nix::libc::winsize);

/// Columns of the terminal on stdout, if it is one.
pub fn terminal_width() -> Option<usize> {
    let mut size = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills one winsize struct.
    unsafe { tiocgwinsz(nix::libc::STDOUT_FILENO, &mut size) }.ok()?;
    (size.ws_col > 0).then_some(usize::from(size.ws_col))
}
