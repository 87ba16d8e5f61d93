//! `nstop oom`: the kernel's OOM reports, newest last, each with its diagnosis; the cgroups'
//! own OOM counters (so kills are noticed without the kernel log); and who would die next
//! where a limit is close.

use clap::Args;
use serde::Serialize;

use crate::cli::UsageError;
use crate::model::cgroup::within;
use std::collections::HashMap;

use crate::model::oom::{Before, OomEvent};
use crate::model::{Model, human_bytes};

#[derive(Args, Debug, Default)]
pub struct OomArgs {
    /// Print JSON: {"events":[...],"counters":[...],"at_risk":[...],"notes":[...]}
    #[arg(short = 'J', long)]
    pub json: bool,
    /// Only events since then: a duration back from now (30s, 10m, 2h, 7d) or a UTC time
    /// (2026-11-23T18:00:00Z)
    #[arg(long, value_name = "DURATION|TIME")]
    pub since: Option<String>,
    /// Only events of this cgroup or below (the absolute path the kernel prints, e.g.
    /// /system.slice/docker-1e2e.scope; a `controllers:` prefix is accepted and ignored)
    #[arg(long, value_name = "CGROUP")]
    pub cgroup: Option<String>,
    /// The kills a recording (`nstop record --dir DIR`) saw, each with what its cgroup did in
    /// the minutes before it; counters as of the newest snapshot
    #[arg(long, value_name = "DIR")]
    pub from: Option<std::path::PathBuf>,
}

/// How far back a recording's diagnosis of a kill looks.
pub const BEFORE: std::time::Duration = std::time::Duration::from_secs(300);

/// Seconds since the epoch of the time `flag` was given: a duration back from `now` or a UTC
/// time.
pub fn parse_time(flag: &str, text: &str, now: u64) -> Result<u64, UsageError> {
    let bad = || {
        UsageError(format!(
            "{flag} '{text}': accepted: a duration back from now (30s, 10m, 2h, 7d) or a UTC time (2026-11-23T18:00:00Z)"
        ))
    };
    if text.chars().last().is_some_and(|c| "smhd".contains(c)) {
        return crate::model::parse_age(text)
            .map(|back| now.saturating_sub(back))
            .ok_or_else(bad);
    }
    crate::model::parse_utc(text).ok_or_else(bad)
}

/// A cgroup's own OOM counters (memory.events, v1 memory.oom_control and failcnt).
#[derive(Serialize)]
struct Counter {
    hierarchy: String,
    cgroup: String,
    oom_kill: u64,
    oom: Option<u64>,
    max: Option<u64>,
    /// Of its kills, how many the kernel log reported.
    reported: usize,
}

#[derive(Serialize)]
struct Victim {
    pid: i32,
    comm: Option<String>,
    oom_score: u32,
}

/// A cgroup close to its memory limit, and whom the kernel would kill first.
#[derive(Serialize)]
struct AtRisk {
    hierarchy: String,
    cgroup: String,
    usage_bytes: u64,
    limit_bytes: u64,
    percent: f64,
    next: Vec<Victim>,
}

/// An event as reported: the kernel's facts, and from a recording the minutes before it.
#[derive(Serialize)]
struct Event<'a> {
    #[serde(flatten)]
    event: &'a OomEvent,
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<&'a Before>,
}

#[derive(Serialize)]
struct Report<'a> {
    events: Vec<Event<'a>>,
    /// The host's page size, for the OOM reports' page counts (the JSON keeps pages).
    #[serde(skip)]
    page_size: u64,
    counters: Vec<Counter>,
    at_risk: Vec<AtRisk>,
    notes: &'a [String],
}

/// What `nstop oom` reports from: the live host, or a recording.
pub struct Facts<'a> {
    /// Kills in time order: the kernel log's reports (and from a recording, the kills its
    /// cgroup counters showed without one).
    pub events: Vec<OomEvent>,
    pub notes: Vec<String>,
    /// The cgroups as they are now, or at the recording's chosen time.
    pub model: &'a Model,
    /// The live host's /proc, which says who would die next; `None` for a recording.
    pub live: Option<&'a crate::sys::Roots>,
    /// From a recording: each kill's cgroup in the minutes before it, by `seq`.
    pub before: HashMap<u64, Before>,
}

/// Usage at or above this share of the limit puts a cgroup on the at-risk list.
const AT_RISK_PERCENT: f64 = 80.0;

/// `since`: `args.since` as parse_time read it (checked before anything was sampled).
pub fn render(args: &OomArgs, since: Option<u64>, facts: Facts) -> anyhow::Result<String> {
    let model = facts.model;
    // `memory:/x`, `0::/x` (as /proc/PID/cgroup writes it) or `/x`: the path is from the
    // first `/`.
    let root = args.cgroup.as_deref().map(|c| {
        let path = c.find('/').map_or(c, |at| &c[at..]);
        path.trim_end_matches('/').to_owned()
    });
    if let Some(root) = &root
        && !root.is_empty()
        && !root.starts_with('/')
    {
        return Err(UsageError(format!("--cgroup '{root}': the path must be absolute")).into());
    }
    let root = root.map(|r| if r.is_empty() { "/".to_owned() } else { r });
    let mut events = facts.events;
    // A recording's events were named when recorded; the live log's are named now.
    if let Some(roots) = facts.live {
        crate::sys::runtimes::name_events(roots, &mut events);
    }
    // Of each cgroup's counted kills, how many the log reported (before any filter).
    let mut reported = crate::model::oom::Unmatched::new();
    let in_log: Vec<OomEvent> = events
        .iter()
        .filter(|e| e.source != "memory.events")
        .cloned()
        .collect();
    crate::model::oom::note_reported(&mut reported, &in_log);
    events.retain(|e| {
        let after = match (since, &e.time) {
            (Some(cut), Some(time)) => time.as_str() >= crate::model::utc(cut).as_str(),
            (Some(_), None) => false,
            (None, _) => true,
        };
        let inside = root.as_ref().is_none_or(|r| {
            [&e.oom_memcg, &e.task_memcg]
                .into_iter()
                .flatten()
                .any(|p| within(p, r))
        });
        after && inside
    });

    let label = |id: u32| {
        model
            .host
            .hierarchy(id)
            .map_or(id.to_string(), |h| h.label())
    };
    let mut counters = Vec::new();
    let mut at_risk = Vec::new();
    for c in &model.cgroups {
        if root.as_ref().is_some_and(|r| !within(&c.path, r)) {
            continue;
        }
        let memory = c.memory.as_ref();
        if let Some(kills) = c.local_oom_kills().filter(|&k| k > 0) {
            let events_of = memory.and_then(|m| m.events.as_ref());
            counters.push(Counter {
                hierarchy: label(c.hierarchy),
                cgroup: c.path.clone(),
                oom_kill: kills,
                oom: events_of.and_then(|e| e.oom),
                max: events_of
                    .and_then(|e| e.max)
                    .or(memory.and_then(|m| m.failcnt)),
                reported: reported.get(&c.path).copied().unwrap_or(0) as usize,
            });
        }
        if let (Some(usage), Some(limit), Some(percent)) = (
            memory.and_then(|m| m.current),
            memory.and_then(|m| m.max),
            memory.and_then(|m| m.percent_of_max),
        ) && percent >= AT_RISK_PERCENT
        {
            // The kernel picks among the whole subtree, not only the cgroup's own processes.
            let below = model.processes_below(c);
            let scores = facts.live.map_or_else(Vec::new, |roots| {
                crate::sys::proc::oom_scores(roots, &below)
            });
            let next: Vec<Victim> = crate::model::oom::ranked(scores)
                .into_iter()
                .take(5)
                .map(|(pid, oom_score)| Victim {
                    pid,
                    comm: model.process(pid).map(|p| p.comm.clone()),
                    oom_score,
                })
                .collect();
            at_risk.push(AtRisk {
                hierarchy: label(c.hierarchy),
                cgroup: c.path.clone(),
                usage_bytes: usage,
                limit_bytes: limit,
                percent,
                next,
            });
        }
    }
    let notes: Vec<String> = facts
        .notes
        .iter()
        .chain(&model.name_notes)
        .cloned()
        .collect();
    let report = Report {
        page_size: model.page_size(),
        events: events
            .iter()
            .map(|event| Event {
                event,
                before: facts.before.get(&event.seq),
            })
            .collect(),
        counters,
        at_risk,
        notes: &notes,
    };
    if args.json {
        return Ok(serde_json::to_string_pretty(&report)? + "\n");
    }
    Ok(text(&report))
}

fn text(report: &Report) -> String {
    let mut out = String::new();
    for note in report.notes {
        out += &format!("note: {note}\n");
    }
    if report.events.is_empty() {
        out += if report.notes.is_empty() {
            "No OOM kill in the kernel log"
        } else {
            "No OOM kill in what could be read of the kernel log"
        };
        out += if report.counters.is_empty() {
            ".\n"
        } else {
            " (but see the counters below).\n"
        };
    }
    for Event { event: e, before } in &report.events {
        let when = e.time.as_deref().unwrap_or("(time unknown)");
        out += &format!("{when}  {}\n", e.sentence());
        let mut facts = Vec::new();
        // A container is in the sentence already.
        if let Some(c) = e
            .container
            .as_ref()
            .filter(|_| e.victim_container().is_none())
        {
            facts.push(format!("container {c}"));
        }
        if let Some(t) = e
            .task_memcg
            .as_deref()
            .filter(|t| Some(*t) != e.oom_memcg.as_deref())
        {
            facts.push(format!("victim's cgroup {t}"));
        }
        if let Some(usage) = e.usage_bytes {
            facts.push(format!("usage {}", human_bytes(usage as f64)));
        }
        if let Some(anon) = e.stat(&["anon", "total_rss", "rss"]) {
            let file = e.stat(&["file", "total_cache", "cache"]).unwrap_or(0);
            facts.push(format!(
                "cgroup memory: anon {} page cache {}",
                human_bytes(anon as f64),
                human_bytes(file as f64)
            ));
        }
        let others: Vec<String> = e
            .largest_others()
            .iter()
            .take(3)
            .map(|t| {
                let rss = t
                    .rss_bytes(report.page_size)
                    .map_or("-".to_owned(), |b| human_bytes(b as f64));
                format!("{} ({}, rss {rss})", t.name, t.pid)
            })
            .collect();
        if !others.is_empty() {
            facts.push(format!("largest others: {}", others.join(", ")));
        }
        if !facts.is_empty() {
            out += &format!("    {}\n", facts.join("; "));
        }
        if let Some(b) = before {
            out += &format!("    before: {}\n", before_text(b));
        }
    }
    if !report.counters.is_empty() {
        out += "\nOOM counters of the cgroups (since each was made):\n";
        for c in &report.counters {
            let unreported = (c.oom_kill as usize).saturating_sub(c.reported);
            out += &format!(
                "  {}:{}  oom_kill {}{}\n",
                c.hierarchy,
                c.cgroup,
                c.oom_kill,
                if unreported > 0 {
                    format!(" ({unreported} not in the kernel log)")
                } else {
                    String::new()
                }
            );
        }
    }
    for r in &report.at_risk {
        let next: Vec<String> = r
            .next
            .iter()
            .map(|v| {
                format!(
                    "{} ({}, score {})",
                    v.comm.as_deref().unwrap_or("?"),
                    v.pid,
                    v.oom_score
                )
            })
            .collect();
        out += &format!(
            "\nat risk: {}:{} uses {} of {} ({:.0}%); next to die: {}\n",
            r.hierarchy,
            r.cgroup,
            human_bytes(r.usage_bytes as f64),
            human_bytes(r.limit_bytes as f64),
            r.percent,
            next.join(", ")
        );
    }
    out
}

/// The minutes before a kill in words: memory from where to where, the pressure at worst.
fn before_text(b: &Before) -> String {
    let bytes = |v: Option<u64>| v.map_or("?".to_owned(), |v| human_bytes(v as f64));
    let mut text = format!(
        "memory {} -> peak {}",
        bytes(b.memory_first_bytes),
        bytes(b.memory_peak_bytes)
    );
    if let Some(limit) = b.limit_bytes {
        text += &format!(" of {}", human_bytes(limit as f64));
    }
    text += &format!(
        " over the {:.0} s before it ({}, up to {})",
        b.first_secs,
        crate::text::count(b.samples, "sample", "samples"),
        crate::text::count(b.processes_max, "process", "processes")
    );
    if let Some(full) = b.pressure_full_max {
        text += &format!("; memory pressure full avg10 up to {full:.0}%");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_as_duration_or_time() {
        let now = 1_795_459_011;
        assert_eq!(parse_time("--since", "10m", now).unwrap(), now - 600);
        assert_eq!(parse_time("--since", "2d", now).unwrap(), now - 172_800);
        assert_eq!(
            parse_time("--since", "2026-11-23T18:36:51Z", now).unwrap(),
            now
        );
        for bad in [
            "10x",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-11-23 18:36:51",
            "-5m",
        ] {
            assert!(parse_time("--since", bad, now).is_err(), "{bad}");
        }
    }
}
