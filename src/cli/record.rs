//! `nstop record`: one snapshot per interval into a directory, until SIGTERM, SIGINT or
//! SIGHUP; `nstop --replay DIR`, `nstop snapshot --from DIR` and `nstop oom --from DIR` read
//! it back. assets/nstop-record.service runs it under systemd.

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use clap::Args;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::cli::UsageError;
use crate::collector::Ticker;
use crate::store::{Retention, Store};
use crate::sys::Roots;

#[derive(Args, Debug)]
pub struct RecordArgs {
    /// Time between snapshots: 5s (default), 500ms, 2m
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = crate::cli::cg::parse_duration)]
    pub interval: Duration,
    /// Where the recording goes [default: $XDG_STATE_HOME/nstop/record, else
    /// ~/.local/state/nstop/record]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Drop what is older than this: 30m, 12h, 7d
    #[arg(long, value_name = "AGE", default_value = "7d", value_parser = parse_retain)]
    pub retain: Duration,
    /// Keep the whole recording under this size: 500M, 1G (binary units)
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_max_size)]
    pub max_size: u64,
}

fn parse_retain(text: &str) -> Result<Duration, String> {
    crate::model::parse_age(text)
        .filter(|&secs| (1..=100 * 365 * 86_400).contains(&secs))
        .map(Duration::from_secs)
        .ok_or_else(|| {
            format!("'{text}' is not an age up to a hundred years (accepted: 30s, 10m, 2h, 7d)")
        })
}

fn parse_max_size(text: &str) -> Result<u64, String> {
    match crate::ops::limits::parse_size(text)? {
        Some(bytes) if bytes >= 1024 * 1024 => Ok(bytes),
        _ => Err(format!(
            "'{text}': the recording needs a limit of at least 1M (e.g. 500M, 1G)"
        )),
    }
}

/// Where a recording goes by default.
pub fn default_dir() -> Option<PathBuf> {
    Some(crate::sys::state_dir()?.join("record"))
}

pub fn run(args: RecordArgs, roots: Roots) -> anyhow::Result<u8> {
    let dir = args.dir.or_else(default_dir).ok_or_else(|| {
        UsageError("--dir: no default (neither XDG_STATE_HOME nor HOME is set)".into())
    })?;
    let retention = Retention {
        max_age: args.retain,
        max_size: args.max_size,
    };
    // Where to record is the user's choice: a place that cannot be one is bad input.
    let mut store = Store::open(&dir, retention)
        .map_err(|e| UsageError(format!("--dir {}: {e}", dir.display())))?;
    // A signal ends the wait between ticks; a tick in progress is written whole first.
    let (stop, stopped) = mpsc::channel();
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let _ = stop.send(signal);
        }
    });
    crate::text::tell(format_args!(
        "recording a snapshot every {:?} to {} (keeping {} and at most {})",
        args.interval,
        dir.display(),
        crate::model::format_age(args.retain.as_secs()),
        crate::model::human_bytes(args.max_size as f64)
    ));
    let mut ticker = Ticker::new(roots);
    loop {
        let started = Instant::now();
        match ticker.tick() {
            Ok(model) => {
                let json = serde_json::to_vec(&model)?;
                store
                    .append(crate::sys::since_epoch().as_millis() as u64, &json)
                    .map_err(|e| anyhow::anyhow!("writing to {}: {e}", dir.display()))?;
            }
            // The next tick may read again (a /proc that came back).
            Err(e) => crate::text::tell(e),
        }
        crate::collector::release_free_memory();
        match stopped.recv_timeout(args.interval.saturating_sub(started.elapsed())) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(_) | Err(RecvTimeoutError::Disconnected) => return Ok(0),
        }
    }
}
