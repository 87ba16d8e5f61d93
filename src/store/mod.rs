//! Recordings: `nstop record` appends one snapshot per tick to a directory of segment files
//! (segment.rs has the format), rotated by time and size and pruned by age and total size;
//! replay (`--replay`, `snapshot --from`, `oom --from`) reads them back as models.

pub mod segment;

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::model::Model;
use crate::model::oom::{Before, OomEvent, note_before};
use segment::{Decoder, Segment, Writer};

const EXTENSION: &str = "nsr";
/// A segment holds at most this much time, so pruning by age drops an hour at a time.
const SEGMENT_SPAN_MS: u64 = 3_600_000;

/// A segment's file name: the UTC time of its first frame, to the millisecond.
fn segment_name(time_ms: u64) -> String {
    let utc = crate::model::utc(time_ms / 1000).replace(['-', ':'], "");
    format!(
        "{}.{:03}Z.{EXTENSION}",
        utc.trim_end_matches('Z'),
        time_ms % 1000
    )
}

/// The segment files in `dir`, oldest first (their names sort by time).
fn segments_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == EXTENSION))
        .collect();
    paths.sort();
    Ok(paths)
}

/// How much of a recording to keep.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub max_age: Duration,
    pub max_size: u64,
}

/// The writing side: the current segment, a new one each hour or each sixteenth of the size
/// limit, and the oldest removed while the whole exceeds the limits.
pub struct Store {
    dir: PathBuf,
    retention: Retention,
    /// Tells this run's segments from other runs' (their kills are listed separately).
    run: u32,
    writer: Option<(u64, Writer)>,
}

impl Store {
    pub fn open(dir: &Path, retention: Retention) -> io::Result<Store> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        crate::sys::check_private_dir(dir)?;
        let now = crate::sys::since_epoch();
        Ok(Store {
            dir: dir.to_owned(),
            retention,
            run: std::process::id() ^ now.subsec_nanos() ^ now.as_secs() as u32,
            writer: None,
        })
    }

    /// A segment at most this large keeps the whole within `max_size` to a sixteenth.
    fn segment_limit(&self) -> u64 {
        (self.retention.max_size / 16).max(64 * 1024)
    }

    /// Appends one frame; returns the bytes the recording now takes.
    pub fn append(&mut self, time_ms: u64, json: &[u8]) -> io::Result<u64> {
        let full = |(started, w): &(u64, Writer)| {
            time_ms.saturating_sub(*started) >= SEGMENT_SPAN_MS || w.size >= self.segment_limit()
        };
        if self.writer.as_ref().is_none_or(full) {
            // A name taken (two segments in one millisecond) moves to the next millisecond.
            let mut start = time_ms;
            let writer = loop {
                match Writer::create(&self.dir.join(segment_name(start)), self.run) {
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => start += 1,
                    other => break other?,
                }
            };
            self.writer = Some((time_ms, writer));
        }
        let (_, writer) = self.writer.as_mut().expect("set above");
        writer.append(time_ms, json)?;
        self.prune()
    }

    /// Removes the oldest segments (never the one being written) while the whole is over the
    /// size limit or a segment's last write is older than the age limit; returns the size left.
    fn prune(&self) -> io::Result<u64> {
        let current = self.writer.as_ref().map(|(_, w)| &w.path);
        let mut closed = Vec::new();
        let mut total = self.writer.as_ref().map_or(0, |(_, w)| w.size);
        for path in segments_in(&self.dir)? {
            if Some(&path) == current {
                continue;
            }
            // Another process may prune the same directory.
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            total += meta.len();
            closed.push((path, meta));
        }
        let too_old = SystemTime::now().checked_sub(self.retention.max_age);
        for (path, meta) in closed {
            let old = meta
                .modified()
                .is_ok_and(|m| too_old.is_some_and(|t| m < t));
            if total <= self.retention.max_size && !old {
                break;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => total -= meta.len(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => total -= meta.len(),
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }
}

/// The reading side: every whole frame of every segment, in time order.
pub struct Recording {
    segments: Vec<Segment>,
    /// (segment, record) of each frame, oldest first.
    frames: Vec<(usize, usize)>,
    decoder: Decoder,
    /// Torn tails skipped, said once.
    pub notes: Vec<String>,
}

impl Recording {
    /// Indexes `dir`; refuses a directory that holds no recording.
    pub fn open(dir: &Path) -> Result<Recording, String> {
        let paths = segments_in(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut segments = Vec::new();
        let mut notes = Vec::new();
        for path in paths {
            let segment = match Segment::index(&path) {
                Ok(s) => s,
                // Pruned by a running recorder since it was listed.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                // What a crash or a stray file leaves beside good segments: said, not fatal.
                Err(e) => {
                    notes.push(format!("{}: {e} (skipped)", path.display()));
                    continue;
                }
            };
            if segment.torn {
                notes.push(format!(
                    "{}: ends in a torn write, or one in progress (skipped)",
                    path.display()
                ));
            }
            segments.push(segment);
        }
        let mut frames: Vec<(usize, usize)> = segments
            .iter()
            .enumerate()
            .flat_map(|(s, seg)| (0..seg.records.len()).map(move |r| (s, r)))
            .collect();
        // Stable: equal times keep the order they were written in.
        frames.sort_by_key(|&(s, r)| segments[s].records[r].time_ms);
        if frames.is_empty() {
            let skipped = match notes.is_empty() {
                true => String::new(),
                false => format!("; {}", notes.join("; ")),
            };
            return Err(format!(
                "{}: no recording here (nstop record --dir writes *.{EXTENSION} files){skipped}",
                dir.display()
            ));
        }
        Ok(Recording {
            segments,
            frames,
            decoder: Decoder::default(),
            notes,
        })
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// When frame `i` was taken, in ms since the epoch.
    pub fn time_ms(&self, i: usize) -> u64 {
        let (s, r) = self.frames[i];
        self.segments[s].records[r].time_ms
    }

    /// The usual time between frames: the median gap among the first hundred (a recorder that
    /// was stopped for a day leaves one long gap); a second for a single frame.
    pub fn interval(&self) -> Duration {
        let mut gaps: Vec<u64> = (1..self.len().min(101))
            .map(|i| self.time_ms(i).saturating_sub(self.time_ms(i - 1)))
            .collect();
        gaps.sort_unstable();
        let median = gaps.get(gaps.len() / 2).copied().unwrap_or(1000);
        Duration::from_millis(median.max(10))
    }

    /// The last frame taken at or before `time_ms` (the first when all are later).
    pub fn at(&self, time_ms: u64) -> usize {
        self.frames
            .partition_point(|&(s, r)| self.segments[s].records[r].time_ms <= time_ms)
            .saturating_sub(1)
    }

    /// Frame `i` as it was written: the snapshot's JSON.
    pub fn json(&mut self, i: usize) -> io::Result<Vec<u8>> {
        let (s, r) = self.frames[i];
        self.decoder.json(&self.segments[s], r)
    }

    pub fn model(&mut self, i: usize) -> Result<Model, String> {
        let json = self
            .json(i)
            .map_err(|e| format!("frame at {}: {e}", self.label(i)))?;
        serde_json::from_slice(&json).map_err(|e| format!("frame at {}: {e}", self.label(i)))
    }

    /// The OOM kills the recording saw, oldest first, numbered from 1. A recorder run's models
    /// carry the kills it saw so far, the newest `MAX_OOM_EVENTS`: so each run's last segment's
    /// last frame holds them all, unless that list is full, when earlier segments' are read too.
    pub fn oom_events(&mut self) -> Result<Vec<OomEvent>, String> {
        // Each segment's last frame, newest segment first.
        let mut lasts: Vec<(usize, usize)> = Vec::new();
        for (i, &(s, _)) in self.frames.iter().enumerate() {
            match lasts.iter_mut().find(|(seg, _)| *seg == s) {
                Some(last) => last.1 = i,
                None => lasts.push((s, i)),
            }
        }
        lasts.reverse();
        let mut runs_done: Vec<u32> = Vec::new();
        let mut events: Vec<OomEvent> = Vec::new();
        for (s, i) in lasts {
            let run = self.segments[s].run;
            if runs_done.contains(&run) {
                continue;
            }
            let model = self.model(i)?;
            if model.oom_events.len() < crate::collector::MAX_OOM_EVENTS {
                runs_done.push(run);
            }
            for e in model.oom_events.iter() {
                let same = |k: &OomEvent| {
                    (&k.time, k.pid, &k.task_memcg, &k.source)
                        == (&e.time, e.pid, &e.task_memcg, &e.source)
                };
                if !events.iter().any(same) {
                    events.push(e.clone());
                }
            }
        }
        events.sort_by(|a, b| a.time.cmp(&b.time));
        for (seq, e) in events.iter_mut().enumerate() {
            e.seq = seq as u64 + 1;
        }
        Ok(events)
    }

    /// What `e`'s cgroup did in the `window` before it, from the frames taken then.
    pub fn before(&mut self, e: &OomEvent, window: Duration) -> Result<Option<Before>, String> {
        let Some(kill_ms) = e
            .time
            .as_deref()
            .and_then(crate::model::parse_utc)
            .map(|s| s * 1000)
        else {
            return Ok(None);
        };
        let from_ms = kill_ms.saturating_sub(window.as_millis() as u64);
        let mut before = None;
        // The kill's time has whole seconds: a frame in that second may still be before it.
        for i in self.at(from_ms)..self.len() {
            let at = self.time_ms(i);
            if at >= kill_ms + 1000 {
                break;
            }
            if at >= from_ms {
                let secs = kill_ms.saturating_sub(at) as f64 / 1000.0;
                note_before(&mut before, e, secs, &self.model(i)?);
            }
        }
        Ok(before)
    }

    /// Frame `i`'s time as UTC text, to the second.
    pub fn label(&self, i: usize) -> String {
        crate::model::utc(self.time_ms(i) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_by_time() {
        assert_eq!(segment_name(1_795_459_011_042), "20261123T183651.042Z.nsr");
        assert!(segment_name(1_795_459_011_042) < segment_name(1_795_459_012_001));
    }
}
