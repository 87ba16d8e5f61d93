//! Every executed change, appended as one JSON line to `$NSTOP_AUDIT_LOG`, else (root)
//! `/var/log/nstop/audit.jsonl`, else `$XDG_STATE_HOME/nstop/audit.jsonl`, else
//! `~/.local/state/nstop/audit.jsonl`: time, uid,
//! action, the change, the value before and after, and the result. Each line is one write(2)
//! to a file opened with O_APPEND, so concurrent nstops never interleave within a line.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

use serde::Serialize;

use crate::ops::{Applied, Change, Refused};

#[derive(Serialize)]
struct Entry<'a> {
    time: String,
    uid: u32,
    action: &'a str,
    change: &'a Change,
    /// What the change says in words (the dry-run line).
    what: String,
    before: Option<&'a str>,
    after: Option<&'a str>,
    result: String,
}

/// `XDG_STATE_HOME` and `HOME` survive `su` and `sudo -E`: root's log does not follow them.
pub fn path() -> Option<PathBuf> {
    match std::env::var_os("NSTOP_AUDIT_LOG").filter(|v| !v.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None if nix::unistd::geteuid().is_root() => Some("/var/log/nstop/audit.jsonl".into()),
        None => Some(crate::sys::state_dir()?.join("audit.jsonl")),
    }
}

/// Appends one line; a log that cannot be written is reported on stderr, not fatal (the
/// change itself already happened or failed).
pub fn record(action: &str, change: &Change, result: Result<&Applied, &Refused>) {
    let Some(path) = path() else {
        return;
    };
    let now = crate::sys::since_epoch().as_secs();
    let (before, after) = match result {
        Ok(applied) => (applied.before.as_deref(), applied.after.as_deref()),
        Err(_) => (None, None),
    };
    let entry = Entry {
        time: crate::model::utc(now),
        uid: nix::unistd::getuid().as_raw(),
        action,
        change,
        what: change.to_string(),
        before,
        after,
        result: match result {
            Ok(_) => "ok".to_owned(),
            Err(Refused(why)) => why.clone(),
        },
    };
    let mut line = serde_json::to_string(&entry).expect("plain data serializes");
    line.push('\n');
    // Never through a symlink, in a directory no other user can change.
    let written = path
        .parent()
        .map_or(Ok(()), |dir| {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .and_then(|()| crate::sys::check_private_dir(dir))
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))
        })
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(&path)
        })
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(e) = written {
        crate::text::tell(format_args!(
            "could not append to the audit log {}: {e}",
            path.display()
        ));
    }
}
