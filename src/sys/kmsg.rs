//! The kernel log: /dev/kmsg from the start of its buffer (root, or dmesg_restrict=0), else
//! the journal's kernel messages of this boot and earlier ones (`journalctl`), and the
//! journal lines of the userspace OOM killers (systemd-oomd, earlyoom, kubelet).

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use nix::libc;

use crate::model::kernel_text;
use crate::model::oom::LogLine;
use crate::sys::Roots;

/// What could be read, and from where.
pub struct KernelLog {
    pub lines: Vec<LogLine>,
    /// Why the kernel's own buffer was not used, or was not enough.
    pub notes: Vec<String>,
}

/// µs since the epoch of a monotonic µs stamp of this boot (kmsg stamps with the local clock,
/// which like CLOCK_MONOTONIC stops during suspend).
pub fn boot_offset_usec() -> Option<u64> {
    let real = crate::sys::since_epoch();
    let mono = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let mono = Duration::new(mono.tv_sec as u64, mono.tv_nsec as u32);
    Some((real.checked_sub(mono)?).as_micros() as u64)
}

pub(crate) fn open_kmsg(roots: &Roots) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(roots.resolve("/dev/kmsg"))
}

/// The records from the file's position to the newest.
fn read_records(file: &mut std::fs::File) -> std::io::Result<(Vec<LogLine>, bool)> {
    let offset = boot_offset_usec();
    let mut lines = Vec::new();
    let mut first_seq = None;
    // One record per read; a record is at most about 8 KiB.
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // /dev/kmsg writes `\`, control bytes and non-ASCII bytes as `\xNN`, so the record is
                // ASCII: back to what the kernel logged (systemd's `\x2d`, UTF-8 names).
                let record = kernel_text::unescape_hex(&String::from_utf8_lossy(&buf[..n]));
                // Continuation lines (` KEY=VALUE`) carry dictionary data, not the message.
                let head = record.lines().next().unwrap_or("");
                if first_seq.is_none() {
                    first_seq = head.split(',').nth(1).and_then(|s| s.parse::<u64>().ok());
                }
                let mut line = crate::model::oom::log_line(head);
                line.wall_usec = line.usec.zip(offset).map(|(u, o)| u + o);
                lines.push(line);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            // EPIPE: the next record was overwritten while we read; go on from the oldest left.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // What was read is kept; the history just ends earlier.
            Err(_) if !lines.is_empty() => break,
            Err(e) => return Err(e),
        }
    }
    Ok((lines, first_seq.is_some_and(|s| s > 0)))
}

/// One `journalctl -o json` line: its message and wall-clock time.
pub fn journal_line(json: &str) -> Option<LogLine> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    // MESSAGE is a string, or an array of bytes when it is not valid UTF-8.
    let text = match &value["MESSAGE"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(bytes) => {
            let raw: Vec<u8> = bytes
                .iter()
                .filter_map(|b| b.as_u64())
                .map(|b| b as u8)
                .collect();
            String::from_utf8_lossy(&raw).into_owned()
        }
        _ => return None,
    };
    let number = |key: &str| value[key].as_str().and_then(|s| s.parse::<u64>().ok());
    let identifier = value["SYSLOG_IDENTIFIER"].as_str().unwrap_or("");
    Some(LogLine {
        usec: number("_SOURCE_MONOTONIC_TIMESTAMP").or_else(|| number("__MONOTONIC_TIMESTAMP")),
        wall_usec: number("__REALTIME_TIMESTAMP"),
        text: if identifier.is_empty() || identifier == "kernel" {
            text
        } else {
            format!("{identifier}: {text}")
        },
        source: "journal",
    })
}

/// `journalctl ARGS -o json`, when journalctl is there and answers.
fn journal(args: &[&str]) -> Option<Vec<LogLine>> {
    let out = std::process::Command::new("journalctl")
        .args(args)
        .args([
            "-o",
            "json",
            "--no-pager",
            "-q",
            "--output-fields=MESSAGE,SYSLOG_IDENTIFIER,__REALTIME_TIMESTAMP,_SOURCE_MONOTONIC_TIMESTAMP",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(journal_line)
            .collect()
    })
}

/// Follows the kernel log for the explorer: everything on the first read (with the journal
/// where the buffer fell short), then only what came since; a report still being printed is
/// held back until it ends.
pub struct Follower {
    roots: Roots,
    file: Option<std::fs::File>,
    started: bool,
    unfinished: Vec<LogLine>,
    notes: Vec<String>,
}

impl Follower {
    pub fn new(roots: Roots) -> Follower {
        Follower {
            roots,
            file: None,
            started: false,
            unfinished: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Why the log could not be read, or not all of it.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The OOM events completed since the last call.
    pub fn events(&mut self) -> Vec<crate::model::oom::OomEvent> {
        let mut lines = std::mem::take(&mut self.unfinished);
        if !self.started {
            self.started = true;
            // The history through the same descriptor, which then stands after it: the next
            // reads return exactly what the kernel logged since.
            let mut file = open_kmsg(&self.roots);
            let history = file
                .as_mut()
                .map_err(|e| std::io::Error::new(e.kind(), e.to_string()));
            let log = kernel_log_from(&self.roots, history.and_then(read_records));
            lines.extend(log.lines);
            self.notes = log.notes;
            self.file = file.ok();
        } else if let Some(file) = &mut self.file
            && let Ok((new, _)) = read_records(file)
        {
            lines.extend(new);
        }
        let (done, rest) = crate::model::oom::split_unfinished(lines);
        self.unfinished = rest;
        crate::model::oom::parse_reports(done)
    }
}

/// The kernel's messages: /dev/kmsg, completed by (or replaced with) the journal's when the
/// buffer has rotated or cannot be read; plus the userspace OOM killers' journal lines.
pub fn kernel_log(roots: &Roots) -> KernelLog {
    kernel_log_from(
        roots,
        open_kmsg(roots).and_then(|mut f| read_records(&mut f)),
    )
}

/// `kernel_log` from what /dev/kmsg gave (its records, whether the buffer had rotated). The
/// journal is the live host's only: a fixture tree has none.
fn kernel_log_from(roots: &Roots, kmsg: std::io::Result<(Vec<LogLine>, bool)>) -> KernelLog {
    let from_journal = |args: &[&str]| roots.is_live().then(|| journal(args)).flatten();
    let mut notes = Vec::new();
    // Whether the journal must fill in: the buffer was unreadable or has rotated.
    let (mut lines, from_the_journal) = match kmsg {
        Ok((lines, rotated)) => {
            if rotated {
                notes.push(
                    "the kernel's buffer has rotated: older reports come from the journal, if any"
                        .into(),
                );
            }
            (lines, rotated)
        }
        Err(e) => {
            let why = if e.kind() == std::io::ErrorKind::PermissionDenied {
                "/dev/kmsg is not readable (needs root, or kernel.dmesg_restrict=0)".to_owned()
            } else {
                format!("/dev/kmsg: {e}")
            };
            notes.push(why);
            (Vec::new(), true)
        }
    };
    if from_the_journal {
        // Kernel messages of every boot the journal kept.
        match from_journal(&["_TRANSPORT=kernel"]) {
            Some(older) if lines.is_empty() => lines = older,
            // Rotated: the journal's older lines first, then what the buffer still has.
            Some(older) => {
                let first_kept = lines.first().and_then(|l| l.wall_usec).unwrap_or(u64::MAX);
                let mut merged: Vec<LogLine> = older
                    .into_iter()
                    .filter(|l| l.wall_usec.is_some_and(|w| w < first_kept))
                    .collect();
                merged.append(&mut lines);
                lines = merged;
            }
            None => {
                notes.push(
                    "no journal to read kernel messages from (journalctl absent or refused)".into(),
                );
            }
        }
    }
    if let Some(userspace) =
        from_journal(&["-t", "systemd-oomd", "-t", "earlyoom", "-t", "kubelet"])
    {
        lines.extend(userspace);
        // Newest last, the userspace lines among the kernel's (a stable sort keeps each
        // report's lines in order).
        lines.sort_by_key(|l| l.wall_usec.unwrap_or(0));
    }
    KernelLog { lines, notes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmsg_escapes_are_undone() {
        assert_eq!(
            kernel_text::unescape_hex(
                r"/system.slice/dev-disk-by\x2duuid.swap caf\xc3\xa9 \x5c end \xZZ"
            ),
            "/system.slice/dev-disk-by-uuid.swap café \\ end \\xZZ"
        );
    }

    #[test]
    fn journal_json_lines() {
        // journald's JSON export: strings, and a byte array for a non-UTF-8 message.
        let line = r#"{"__REALTIME_TIMESTAMP":"1795459011000000","_SOURCE_MONOTONIC_TIMESTAMP":"8802176228","MESSAGE":"Memory cgroup out of memory: Killed process 13897 (python3)","SYSLOG_IDENTIFIER":"kernel"}"#;
        let l = journal_line(line).unwrap();
        assert_eq!(l.wall_usec, Some(1_795_459_011_000_000));
        assert_eq!(l.usec, Some(8802176228));
        assert!(l.text.starts_with("Memory cgroup"));
        let bytes = r#"{"MESSAGE":[104,105,255],"SYSLOG_IDENTIFIER":"earlyoom"}"#;
        assert_eq!(journal_line(bytes).unwrap().text, "earlyoom: hi\u{fffd}");
        assert!(journal_line("not json").is_none());
    }

    #[test]
    fn the_live_buffer_reads_to_its_end() {
        // As root (CI) the buffer is readable and ends without blocking; otherwise it says why.
        let log = kernel_log(&Roots::default());
        if nix::unistd::geteuid().is_root() {
            assert!(!log.lines.is_empty());
            assert!(log.lines.iter().all(|l| l.usec.is_some()));
        } else {
            assert!(!log.notes.is_empty());
        }
    }
}
