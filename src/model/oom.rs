//! Kernel OOM reports parsed by line shape (not kernel version): the `invoked oom-killer`
//! header, `memory: usage/limit/failcnt` lines (v1 and v2), the memory.stat dump, the Tasks
//! table (pages; pgtables in bytes), the `oom-kill:` summary (4.19+), the older `Task in X
//! killed as a result of limit of Y` and `Kill process N ... or sacrifice child`, and the
//! `Killed process` line that ends a report. Other messages interleaved are skipped; a
//! rate-limited event with only its `Killed process` line is still an event.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::cgroup::Cgroup;
use crate::model::sample::ContainerName;
use crate::model::workload::{self, Workload};

/// One line of the kernel log: its monotonic time (µs after boot) when known, and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub usec: Option<u64>,
    /// µs since the epoch, where the reader could place it (the journal; kmsg with the boot
    /// time).
    pub wall_usec: Option<u64>,
    pub text: String,
    /// `kmsg` or `journal`: where the line was read.
    pub source: &'static str,
}

/// What follows a syslog prefix (`Jun 11 20:17:20 host kernel: `, `... earlyoom[1233]: `),
/// with the program's name kept for userspace lines.
fn without_syslog_prefix(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    // `Mon DD HH:MM:SS ` then the host, then `program[pid]: ` or `kernel: `.
    let looks_like = bytes.len() > 16
        && bytes[..3].iter().all(u8::is_ascii_alphabetic)
        && bytes[3] == b' '
        && bytes[9] == b':'
        && bytes[12] == b':'
        && bytes[15] == b' ';
    if !looks_like {
        return None;
    }
    let after_host = raw[16..].split_once(' ')?.1;
    let (program, text) = after_host.split_once(": ")?;
    let name = program.split('[').next().unwrap_or(program);
    Some(if name == "kernel" {
        text.to_owned()
    } else {
        format!("{name}: {text}")
    })
}

/// A /dev/kmsg record (`PRIO,SEQ,USEC,FLAGS;TEXT`), a dmesg line (`[ 8802.176228] TEXT`), a
/// syslog line of the kernel or an OOM killer, or plain text.
pub fn log_line(raw: &str) -> LogLine {
    let raw = raw.trim_end_matches('\n');
    if let Some(text) = without_syslog_prefix(raw) {
        return log_line(&text);
    }
    if let Some((head, text)) = raw.split_once(';') {
        let fields: Vec<&str> = head.split(',').collect();
        if fields.len() >= 3 && fields[..3].iter().all(|f| f.parse::<u64>().is_ok()) {
            return LogLine {
                usec: fields[2].parse().ok(),
                wall_usec: None,
                text: text.to_owned(),
                source: "kmsg",
            };
        }
    }
    if let Some(rest) = raw.trim_start().strip_prefix('[')
        && let Some((stamp, text)) = rest.split_once(']')
        && let Some((secs, micros)) = stamp.trim().split_once('.')
        && let (Ok(s), Ok(fraction)) = (secs.parse::<u64>(), micros.parse::<u64>())
    {
        // Six digits are µs; fewer or more are scaled to them.
        let digits = micros.len() as u32;
        let us = if digits <= 6 {
            fraction.saturating_mul(10u64.pow(6 - digits))
        } else {
            fraction / 10u64.saturating_pow(digits - 6)
        };
        return LogLine {
            usec: Some(s.saturating_mul(1_000_000).saturating_add(us)),
            wall_usec: None,
            text: text.strip_prefix(' ').unwrap_or(text).to_owned(),
            source: "kmsg",
        };
    }
    LogLine {
        usec: None,
        wall_usec: None,
        text: raw.to_owned(),
        source: "kmsg",
    }
}

/// A row of the Tasks table, in the units the kernel printed (pages; pgtables in bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OomTask {
    pub pid: i32,
    pub uid: Option<u32>,
    pub total_vm_pages: Option<u64>,
    pub rss_pages: Option<u64>,
    pub rss_anon_pages: Option<u64>,
    pub rss_file_pages: Option<u64>,
    pub rss_shmem_pages: Option<u64>,
    pub pgtables_bytes: Option<u64>,
    pub swapents: Option<u64>,
    pub oom_score_adj: Option<i64>,
    pub name: String,
}

impl OomTask {
    /// Resident memory in bytes, by the page size of the kernel that wrote the table (the
    /// model's host: `None` where that is not known).
    pub fn rss_bytes(&self, page_size: u64) -> Option<u64> {
        let page = Some(page_size).filter(|&p| p > 0)?;
        self.rss_pages.map(|p| p.saturating_mul(page))
    }
}

/// One OOM kill, everything the report said (unknown values `None`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OomEvent {
    /// Wall-clock UTC, when the log's time could be placed.
    pub time: Option<String>,
    /// µs after boot, as the kernel stamped the `Killed process` line.
    pub monotonic_usec: Option<u64>,
    /// CONSTRAINT_MEMCG, CONSTRAINT_NONE (global), CONSTRAINT_CPUSET...
    pub constraint: Option<String>,
    /// The cgroup that hit its limit, and the victim's (absolute, as the kernel prints them).
    pub oom_memcg: Option<String>,
    pub task_memcg: Option<String>,
    pub pid: Option<i32>,
    pub comm: Option<String>,
    pub uid: Option<u32>,
    pub total_vm_kb: Option<u64>,
    pub anon_rss_kb: Option<u64>,
    pub file_rss_kb: Option<u64>,
    pub shmem_rss_kb: Option<u64>,
    pub pgtables_kb: Option<u64>,
    pub oom_score_adj: Option<i64>,
    pub limit_bytes: Option<u64>,
    pub usage_bytes: Option<u64>,
    pub failcnt: Option<u64>,
    /// Who asked for memory when the limit was hit, and how.
    pub invoked_by: Option<String>,
    pub gfp_mask: Option<String>,
    pub order: Option<u32>,
    pub tasks: Vec<OomTask>,
    /// The memory.stat dump of the cgroup that hit its limit (bytes, or pages for counters),
    /// in the kernel's order; a JSON object.
    #[serde(serialize_with = "as_object", deserialize_with = "from_object")]
    pub stat: Vec<(String, u64)>,
    /// What the victim's cgroup is (its workload's label: `podman web (7166873bbcec)`, a pod,
    /// a unit).
    pub container: Option<String>,
    /// Who the cgroup that hit its limit is, and the victim's: the recognised container (with
    /// its name and id when the runtime's state on the host said it), pod and unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_workload: Option<Workload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_workload: Option<Workload>,
    /// `kmsg`, `journal` or `memory.events`.
    pub source: String,
    /// The explorer's number for it (counter events may share a time and have no pid); kept
    /// in recordings, absent (0) from the kernel log's reports.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seq: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl OomEvent {
    /// A memory.stat value of the dump (v2 `anon`, v1 `total_rss`...).
    pub fn stat(&self, names: &[&str]) -> Option<u64> {
        names
            .iter()
            .find_map(|n| self.stat.iter().find(|(k, _)| k == n).map(|(_, v)| *v))
    }

    /// The container the victim was in, as its workload's label names it (`podman web
    /// (7166873bbcec)`): only a container or its monitor, not a unit or a pod alone.
    pub fn victim_container(&self) -> Option<String> {
        let w = self.task_workload.as_ref()?;
        (w.container.is_some() || w.monitor.is_some())
            .then(|| w.label())
            .flatten()
    }

    /// What happened, in one sentence: who was killed (in which container), which limit was
    /// reached, what used the memory.
    pub fn sentence(&self) -> String {
        let kb = |k: u64| crate::model::human_bytes(kib(k) as f64);
        let within = self
            .victim_container()
            .map(|c| format!(" in {c}"))
            .unwrap_or_default();
        let who = match (&self.comm, self.pid) {
            (Some(comm), Some(pid)) => format!("killed {comm} (pid {pid}){within}"),
            (None, Some(pid)) => format!("killed pid {pid}{within}"),
            (Some(comm), None) => format!("killed {comm}{within}"),
            (None, None) if self.source == "memory.events" => {
                format!("a process{within} was killed (counted by the cgroup; no kernel report)")
            }
            (None, None) if self.constraint.as_deref() == Some("USERSPACE") => {
                "killed a cgroup's processes".to_owned()
            }
            (None, None) => "nothing was killable".to_owned(),
        };
        let why = match (self.constraint.as_deref(), &self.oom_memcg) {
            _ if self.source == "memory.events" => {
                format!("in cgroup {}", self.task_memcg.as_deref().unwrap_or("?"))
            }
            (Some("CONSTRAINT_MEMCG") | None, Some(cgroup)) => {
                let limit = self
                    .limit_bytes
                    .map(|l| format!(" {}", crate::model::human_bytes(l as f64)))
                    .unwrap_or_default();
                format!("cgroup {cgroup} reached its memory limit{limit}")
            }
            (Some("CONSTRAINT_MEMCG"), None) => {
                "a cgroup reached its memory limit (the report was rate-limited)".to_owned()
            }
            (Some("CONSTRAINT_CPUSET"), _) => "its cpuset's memory nodes ran out".to_owned(),
            (Some("CONSTRAINT_MEMORY_POLICY"), _) => "its memory policy's nodes ran out".to_owned(),
            (Some("USERSPACE"), _) => format!(
                "{} killed it from userspace",
                self.invoked_by
                    .as_deref()
                    .unwrap_or("a userspace OOM killer")
            ),
            _ => "the system ran out of memory".to_owned(),
        };
        let mut text = format!("{who}: {why}");
        if let Some(anon) = self.anon_rss_kb {
            let file = self
                .file_rss_kb
                .map_or(String::new(), |f| format!(", file {}", kb(f)));
            text += &format!("; it had anon {}{file} resident", kb(anon));
        }
        text
    }

    /// Recognises the cgroups' workloads from their paths (not yet named).
    pub fn recognise_workloads(&mut self) {
        let recognised = |path: &Option<String>| {
            Some(workload::recognise(path.as_deref()?)).filter(|w| !w.is_empty())
        };
        self.oom_workload = recognised(&self.oom_memcg);
        self.task_workload = recognised(&self.task_memcg);
        self.container = self.task_workload.as_ref().and_then(Workload::label);
    }

    /// Names the cgroups' containers by what their runtimes keep on the host (`names` by full
    /// container id); the label follows.
    pub fn name_workloads(&mut self, names: &HashMap<String, ContainerName>) {
        for w in [&mut self.oom_workload, &mut self.task_workload]
            .into_iter()
            .flatten()
        {
            w.name_from(names);
        }
        self.container = self.task_workload.as_ref().and_then(Workload::label);
    }

    /// The paths of the cgroups the event names (the one that hit its limit, the victim's).
    pub fn cgroup_paths(&self) -> impl Iterator<Item = &str> {
        [&self.oom_memcg, &self.task_memcg]
            .into_iter()
            .filter_map(|p| p.as_deref())
    }

    /// The tasks by resident memory, largest first, without the victim.
    pub fn largest_others(&self) -> Vec<&OomTask> {
        let mut others: Vec<&OomTask> = self
            .tasks
            .iter()
            .filter(|t| Some(t.pid) != self.pid)
            .collect();
        others.sort_by_key(|t| std::cmp::Reverse(t.rss_pages.unwrap_or(0)));
        others
    }
}

fn as_object<S: serde::Serializer>(pairs: &[(String, u64)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

fn from_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(String, u64)>, D::Error> {
    let map = serde_json::Map::deserialize(d)?;
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_u64()?)))
        .collect())
}

/// `key=value` fields of a comma-separated line.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split(',')
        .find_map(|kv| kv.trim().strip_prefix(key)?.strip_prefix('='))
}

/// `NkB` → N.
fn kb(value: &str) -> Option<u64> {
    value.trim().strip_suffix("kB")?.trim().parse().ok()
}

/// KiB as bytes, saturating (the text may say anything).
fn kib(k: u64) -> u64 {
    k.saturating_mul(1024)
}

/// `Killed process N (NAME) total-vm:NkB, anon-rss:NkB, file-rss:NkB, shmem-rss:NkB, UID:N
/// pgtables:NkB oom_score_adj:N` (older kernels stop after shmem-rss).
fn killed(text: &str, event: &mut OomEvent) -> bool {
    let Some(at) = text.find("Killed process ") else {
        return false;
    };
    let rest = &text[at + "Killed process ".len()..];
    let Some((pid, rest)) = rest.split_once(' ') else {
        return false;
    };
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    event.pid = Some(pid);
    // The name is parenthesised and may itself hold spaces or parentheses.
    let close = rest.rfind(") ");
    if let (Some(open), Some(close)) = (rest.find('('), close)
        && let Some(name) = rest.get(open + 1..close)
    {
        event.comm = Some(name.to_owned());
    }
    let values = close.map_or(rest, |close| &rest[close + 2..]);
    for part in values.split([',', ' ']).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once(':') else {
            continue;
        };
        match key {
            "total-vm" => event.total_vm_kb = kb(value),
            "anon-rss" => event.anon_rss_kb = kb(value),
            "file-rss" => event.file_rss_kb = kb(value),
            "shmem-rss" => event.shmem_rss_kb = kb(value),
            "pgtables" => event.pgtables_kb = kb(value),
            "UID" => event.uid = value.parse().ok(),
            "oom_score_adj" => event.oom_score_adj = value.parse().ok(),
            _ => {}
        }
    }
    true
}

/// The Tasks table's columns, from its header line.
fn task_columns(header: &str) -> Option<Vec<String>> {
    let after = header.trim().strip_prefix('[')?.split_once(']')?.1;
    Some(after.split_whitespace().map(str::to_owned).collect())
}

fn task_row(text: &str, columns: &[String]) -> Option<OomTask> {
    let (pid, rest) = text.trim().strip_prefix('[')?.split_once(']')?;
    let pid: i32 = pid.trim().parse().ok()?;
    let values: Vec<&str> = rest.split_whitespace().collect();
    // The name is last and may hold spaces: numbers first, then the rest.
    let numbers = columns.len().saturating_sub(1);
    if values.len() < columns.len() {
        return None;
    }
    let mut task = OomTask {
        pid,
        name: values[numbers..].join(" "),
        ..OomTask::default()
    };
    for (column, value) in columns.iter().zip(&values[..numbers]) {
        let n = value.parse::<u64>().ok();
        match column.as_str() {
            "uid" => task.uid = value.parse().ok(),
            "total_vm" => task.total_vm_pages = n,
            "rss" => task.rss_pages = n,
            "rss_anon" => task.rss_anon_pages = n,
            "rss_file" => task.rss_file_pages = n,
            "rss_shmem" => task.rss_shmem_pages = n,
            "pgtables_bytes" => task.pgtables_bytes = n,
            "swapents" => task.swapents = n,
            "oom_score_adj" => task.oom_score_adj = value.parse().ok(),
            _ => {}
        }
    }
    Some(task)
}

#[derive(PartialEq)]
enum Section {
    Other,
    Stats,
    Tasks(Vec<String>),
}

/// A report longer than this (a global OOM lists every task) is not waited for any more.
const MAX_REPORT_LINES: usize = 50_000;

/// The lines of a log chunk split where a report began that has not ended yet (no `Killed
/// process` line after its header): it is parsed once the rest has been read.
pub fn split_unfinished(mut lines: Vec<LogLine>) -> (Vec<LogLine>, Vec<LogLine>) {
    let last_start = lines
        .iter()
        .rposition(|l| l.text.contains(" invoked oom-killer: "));
    let finished = last_start.is_none_or(|start| {
        // Ended, or too long to be one report still being printed: parsed as it is.
        lines.len() - start > MAX_REPORT_LINES
            || lines[start..].iter().any(|l| {
                l.text.contains("Killed process ")
                    || l.text.contains("Out of memory and no killable processes")
            })
    });
    if finished {
        return (lines, Vec::new());
    }
    let rest = lines.split_off(last_start.expect("not finished: a start"));
    (lines, rest)
}

/// (pid, oom_score) highest first: whom the kernel would kill first.
pub fn ranked(mut scores: Vec<(i32, u32)>) -> Vec<(i32, u32)> {
    scores.sort_by_key(|&(pid, score)| (std::cmp::Reverse(score), pid));
    scores
}

/// Kernel-reported kills not yet matched with a counter, by the victim's cgroup (the kernel
/// counts a kill in the victim's cgroup).
pub type Unmatched = std::collections::HashMap<String, u64>;

/// The cgroup that hit its limit, else the victim's.
pub fn cgroup_path(e: &OomEvent) -> Option<&str> {
    e.oom_memcg.as_deref().or(e.task_memcg.as_deref())
}

/// The event's cgroup in `model`: its path in a hierarchy with memory (cgroup2 first, as
/// listed).
pub fn cgroup_of<'m>(model: &'m crate::model::Model, e: &OomEvent) -> Option<&'m Cgroup> {
    let path = cgroup_path(e)?;
    let with_memory = |id: u32| {
        model
            .host
            .hierarchy(id)
            .is_some_and(|h| h.version == 2 || h.controllers.iter().any(|c| c == "memory"))
    };
    model
        .cgroups
        .iter()
        .find(|c| c.path == path && with_memory(c.hierarchy))
}

/// What a kill's cgroup did in the minutes before it, from recorded models.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Before {
    /// Samples of the cgroup in the window, and how many seconds before the kill the first
    /// and the last were taken.
    pub samples: usize,
    pub first_secs: f64,
    pub last_secs: f64,
    pub memory_first_bytes: Option<u64>,
    pub memory_peak_bytes: Option<u64>,
    pub limit_bytes: Option<u64>,
    /// The highest memory pressure `full` avg10 (%): the cgroup's own, else its cgroup2 twin's.
    pub pressure_full_max: Option<f64>,
    pub processes_max: usize,
}

/// Adds to `before` a model taken `secs` before the kill (oldest first; one at a time, so a
/// window of large models is never held at once). `before` stays `None` until a model shows the
/// kill's cgroup.
pub fn note_before(
    before: &mut Option<Before>,
    e: &OomEvent,
    secs: f64,
    model: &crate::model::Model,
) {
    let Some(c) = cgroup_of(model, e) else {
        return;
    };
    let memory = c.memory.as_ref();
    let current = memory.and_then(|m| m.current);
    let twin = model.cgroups.iter().find(|t| {
        t.path == c.path
            && model
                .host
                .hierarchy(t.hierarchy)
                .is_some_and(|h| h.version == 2)
    });
    let full = [Some(c), twin]
        .into_iter()
        .flatten()
        .find_map(|c| c.pressure.as_ref()?.memory.as_ref()?.full.as_ref())
        .map(|l| l.avg10);
    let b = before.get_or_insert_with(|| Before {
        first_secs: secs,
        memory_first_bytes: current,
        ..Before::default()
    });
    b.samples += 1;
    b.last_secs = secs;
    b.memory_peak_bytes = b.memory_peak_bytes.max(current);
    b.limit_bytes = memory.and_then(|m| m.max).or(b.limit_bytes);
    b.pressure_full_max = match (b.pressure_full_max, full) {
        (Some(a), Some(f)) => Some(a.max(f)),
        (a, f) => a.or(f),
    };
    b.processes_max = b.processes_max.max(c.nprocs);
}

/// Adds the kernel's reports to `unmatched` (userspace kills touch no counter).
pub fn note_reported(unmatched: &mut Unmatched, reported: &[OomEvent]) {
    for e in reported
        .iter()
        .filter(|e| e.constraint.as_deref() != Some("USERSPACE"))
    {
        if let Some(path) = &e.task_memcg {
            *unmatched.entry(path.clone()).or_default() += 1;
        }
    }
}

/// Kills a cgroup's own counter (local to it: memory.events.local, v1 oom_control) shows since
/// `before` (by hierarchy and inode) beyond those the kernel log reported: events without a report (the log unreadable,
/// rate-limited or rotated), at `time`. Reports and counters may land in different samples,
/// so what is matched is taken from `unmatched`, which carries over.
pub fn counted_kills(
    before: &std::collections::HashMap<(u32, u64), u64>,
    cgroups: &[crate::model::cgroup::Cgroup],
    unmatched: &mut Unmatched,
    time: &str,
) -> Vec<OomEvent> {
    let mut events = Vec::new();
    for c in cgroups {
        let Some(now) = c.local_oom_kills() else {
            continue;
        };
        let Some(&then) = before.get(&(c.hierarchy, c.inode)) else {
            continue;
        };
        let new = now.saturating_sub(then);
        let reported = unmatched.get_mut(&c.path).map_or(0, |n| {
            let matched = (*n).min(new);
            *n -= matched;
            matched
        });
        for _ in 0..new - reported {
            let named = Some(c.workload.clone()).filter(|w| !w.is_empty());
            events.push(OomEvent {
                time: Some(time.to_owned()),
                task_memcg: Some(c.path.clone()),
                limit_bytes: c.memory.as_ref().and_then(|m| m.max),
                usage_bytes: c.memory.as_ref().and_then(|m| m.current),
                source: "memory.events".into(),
                container: c.workload.label(),
                task_workload: named,
                ..OomEvent::default()
            });
        }
    }
    unmatched.retain(|_, n| *n > 0);
    events
}

/// A userspace OOM killer's journal line: systemd-oomd killing a cgroup, earlyoom signalling a
/// process, kubelet evicting a pod. They leave no kernel report.
fn userspace(text: &str) -> Option<OomEvent> {
    let event = |killer: &str| OomEvent {
        constraint: Some("USERSPACE".into()),
        invoked_by: Some(killer.into()),
        source: "journal".into(),
        ..OomEvent::default()
    };
    if let Some(rest) = text.strip_prefix("systemd-oomd: Killed ") {
        let cgroup = rest.split(" due to ").next()?;
        return Some(OomEvent {
            oom_memcg: Some(cgroup.to_owned()),
            task_memcg: Some(cgroup.to_owned()),
            ..event("systemd-oomd")
        });
    }
    if let Some(rest) = text.strip_prefix("earlyoom: sending SIG") {
        let after = rest.split_once(" to process ")?.1;
        let mut words = after.split_whitespace();
        let pid = words.next()?.parse().ok();
        let uid = after
            .split_once(" uid ")
            .and_then(|(_, u)| u.split_whitespace().next()?.parse().ok());
        let comm = after.split('"').nth(1).map(str::to_owned);
        return Some(OomEvent {
            pid,
            uid,
            comm,
            ..event("earlyoom")
        });
    }
    if let Some(rest) = text.split_once("eviction manager: pod ").map(|(_, r)| r)
        && rest.contains("evicted")
    {
        let pod = rest.split(['(', ' ']).next()?;
        return Some(OomEvent {
            comm: Some(pod.to_owned()),
            ..event("kubelet")
        });
    }
    None
}

/// Every OOM event of a log, in order.
pub fn parse_reports(lines: impl IntoIterator<Item = LogLine>) -> Vec<OomEvent> {
    let mut events = Vec::new();
    let mut open: Option<OomEvent> = None;
    let mut section = Section::Other;
    for line in lines {
        let text = line.text.trim_end();
        if let Some(mut killed) = userspace(text) {
            killed.time = line.wall_usec.map(|w| crate::model::utc(w / 1_000_000));
            // earlyoom sends SIGTERM, then SIGKILL to the same process: one kill.
            let again = events.last().is_some_and(|e: &OomEvent| {
                e.pid.is_some() && e.pid == killed.pid && e.invoked_by == killed.invoked_by
            });
            if !again {
                events.push(killed);
            }
            continue;
        }
        if let Some((who, how)) = text.split_once(" invoked oom-killer: ") {
            // A report that never reached its Killed line (nothing killable) is still one.
            events.extend(open.take());
            open = Some(OomEvent {
                invoked_by: Some(who.trim().to_owned()),
                gfp_mask: field(how, "gfp_mask").map(str::to_owned),
                order: field(how, "order").and_then(|o| o.trim().parse().ok()),
                source: line.source.into(),
                ..OomEvent::default()
            });
            section = Section::Other;
            continue;
        }
        // A memcg with nothing to kill ends its report without a Killed line.
        if text.contains("Out of memory and no killable processes") {
            events.extend(open.take());
            section = Section::Other;
            continue;
        }
        if text.contains("Killed process ") && killed(text, &mut OomEvent::default()) {
            let mut event = open.take().unwrap_or_else(|| OomEvent {
                source: line.source.into(),
                ..OomEvent::default()
            });
            if killed(text, &mut event) {
                event.monotonic_usec = line.usec;
                event.time = line.wall_usec.map(|w| crate::model::utc(w / 1_000_000));
                if event.constraint.is_none() && text.starts_with("Out of memory") {
                    event.constraint = Some("CONSTRAINT_NONE".into());
                }
                if event.constraint.is_none() && text.starts_with("Memory cgroup out of memory") {
                    event.constraint = Some("CONSTRAINT_MEMCG".into());
                }
                events.push(event);
            }
            section = Section::Other;
            continue;
        }
        let Some(event) = open.as_mut() else {
            continue;
        };
        if let Some(summary) = text.strip_prefix("oom-kill:") {
            event.constraint = field(summary, "constraint").map(str::to_owned);
            event.oom_memcg = field(summary, "oom_memcg").map(str::to_owned);
            event.task_memcg = field(summary, "task_memcg").map(str::to_owned);
            event.comm = field(summary, "task").map(str::to_owned);
            event.pid = field(summary, "pid").and_then(|p| p.parse().ok());
            event.uid = field(summary, "uid").and_then(|u| u.parse().ok());
            section = Section::Other;
        } else if let Some(usage) = text.strip_prefix("memory: usage ") {
            // `memory: usage 30720kB, limit 30720kB, failcnt 94` (v1 and v2 alike).
            let mut parts = usage.split(", ");
            event.usage_bytes = parts.next().and_then(kb).map(kib);
            for part in parts {
                if let Some(limit) = part.strip_prefix("limit ") {
                    event.limit_bytes = kb(limit).map(kib);
                } else if let Some(failcnt) = part.strip_prefix("failcnt ") {
                    event.failcnt = failcnt.trim().parse().ok();
                }
            }
        } else if let Some(rest) = text.strip_prefix("Task in ") {
            // Before 4.19: `Task in /x killed as a result of limit of /y`.
            if let Some((task, limit)) = rest.split_once(" killed as a result of limit of ") {
                event.task_memcg = Some(task.trim().to_owned());
                event.oom_memcg = Some(limit.trim().to_owned());
                // A cgroup's limit: these kernels print no constraint.
                event
                    .constraint
                    .get_or_insert_with(|| "CONSTRAINT_MEMCG".into());
            }
        } else if text.starts_with("Memory cgroup stats for ") {
            section = Section::Stats;
        } else if text.starts_with("Tasks state (memory values in pages):") {
            section = Section::Other;
        } else if let Some(columns) = text
            .contains("[  pid  ]")
            .then(|| task_columns(text))
            .flatten()
            .or_else(|| {
                text.contains("[ pid ]")
                    .then(|| task_columns(text))
                    .flatten()
            })
        {
            section = Section::Tasks(columns);
        } else if let Section::Tasks(columns) = &section {
            // Lines of other shapes are other messages in between; the table ends with the
            // oom-kill or Killed line.
            if let Some(task) = task_row(text, columns) {
                event.tasks.push(task);
            }
        } else if section == Section::Stats {
            let mut words = text.split_whitespace();
            if let (Some(key), Some(value), None) = (
                words.next(),
                words.next().and_then(|v| v.parse::<u64>().ok()),
                words.next(),
            ) && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                event.stat.push((key.to_owned(), value));
            }
        }
        // Older kernels name the victim before killing it.
        if let Some(at) = text.find("Kill process ")
            && text.ends_with("or sacrifice child")
        {
            let mut probe = OomEvent::default();
            let rest = &text[at + "Kill ".len()..];
            if killed(&format!("Killed {rest}"), &mut probe) {
                event.pid = probe.pid;
                event.comm = probe.comm;
            }
        }
    }
    events.extend(open);
    for e in &mut events {
        e.recognise_workloads();
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<LogLine> {
        text.lines().map(log_line).collect()
    }

    const HERE: &str = include_str!("../../tests/fixtures/oom/kmsg-v1-memcg.txt");
    const OTHER: &str = include_str!("../../tests/fixtures/oom/kmsg-other.txt");

    #[test]
    fn kmsg_and_dmesg_lines() {
        let l = log_line("6,368,8802175706,-;memory: usage 30720kB, limit 30720kB, failcnt 94");
        assert_eq!(l.usec, Some(8802175706));
        assert_eq!(l.text, "memory: usage 30720kB, limit 30720kB, failcnt 94");
        let l = log_line("[ 8802.176228] Memory cgroup out of memory: Killed process 1 (x)");
        assert_eq!(l.usec, Some(8802176228));
        assert!(l.text.starts_with("Memory cgroup"));
        assert_eq!(log_line("plain text").usec, None);
    }

    /// Made on this machine: a v1 memory cgroup of 30 MiB, python3 allocating 200 MiB.
    #[test]
    fn a_v1_memcg_report_from_this_machine() {
        let events = parse_reports(lines(HERE));
        assert_eq!(events.len(), 1);
        let e = &events[0];
        let cgroup = "/process_api/1c718bc3f32209a87055eb66409a34b1/nstop-oomcap-16507";
        assert_eq!(e.constraint.as_deref(), Some("CONSTRAINT_MEMCG"));
        assert_eq!(e.oom_memcg.as_deref(), Some(cgroup));
        assert_eq!(e.task_memcg.as_deref(), Some(cgroup));
        assert_eq!(
            (e.pid, e.comm.as_deref(), e.uid),
            (Some(13897), Some("python3"), Some(0))
        );
        assert_eq!(e.limit_bytes, Some(30720 * 1024));
        assert_eq!(e.usage_bytes, Some(30720 * 1024));
        assert_eq!(e.failcnt, Some(94));
        assert_eq!(
            (
                e.total_vm_kb,
                e.anon_rss_kb,
                e.file_rss_kb,
                e.shmem_rss_kb,
                e.pgtables_kb
            ),
            (Some(40208), Some(30336), Some(6564), Some(0), Some(120))
        );
        assert_eq!(e.oom_score_adj, Some(0));
        assert_eq!(e.invoked_by.as_deref(), Some("python3"));
        assert_eq!(e.gfp_mask.as_deref(), Some("0xcc0(GFP_KERNEL)"));
        assert_eq!(e.order, Some(0));
        assert_eq!(e.stat(&["total_rss"]), Some(31191040));
        assert_eq!(e.stat(&["hierarchical_memory_limit"]), Some(31457280));
        assert_eq!(e.tasks.len(), 1);
        let t = &e.tasks[0];
        assert_eq!(
            (t.pid, t.name.as_str(), t.rss_pages, t.pgtables_bytes),
            (13897, "python3", Some(9225), Some(122880))
        );
        assert_eq!(e.monotonic_usec, Some(8802176228));
    }

    #[test]
    fn other_messages_interleaved_change_nothing() {
        let report: Vec<&str> = HERE.lines().collect();
        let other: Vec<&str> = OTHER.lines().collect();
        // Another message after every few report lines, including inside the stats dump and
        // the Tasks table.
        let mut mixed = Vec::new();
        for (i, line) in report.iter().enumerate() {
            mixed.push(*line);
            if i % 5 == 4 {
                mixed.push(other[i / 5 % other.len()]);
            }
        }
        let text = mixed.join("\n");
        let events = parse_reports(lines(&text));
        let clean = parse_reports(lines(HERE));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].pid, clean[0].pid);
        assert_eq!(events[0].oom_memcg, clean[0].oom_memcg);
        assert_eq!(events[0].limit_bytes, clean[0].limit_bytes);
        assert_eq!(events[0].anon_rss_kb, clean[0].anon_rss_kb);
        assert_eq!(events[0].stat, clean[0].stat);
        assert_eq!(events[0].tasks, clean[0].tasks);
    }

    #[test]
    fn a_rate_limited_kill_is_still_an_event() {
        let killed = HERE.lines().last().unwrap();
        let events = parse_reports(lines(&format!("{OTHER}\n{killed}\n")));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].pid, Some(13897));
        assert_eq!(events[0].constraint.as_deref(), Some("CONSTRAINT_MEMCG"));
        assert_eq!(events[0].oom_memcg, None);
        assert_eq!(events[0].anon_rss_kb, Some(30336));
    }

    #[test]
    fn a_report_cut_by_the_end_of_a_read_waits_for_its_rest() {
        let all = lines(HERE);
        let (head, tail) = all.split_at(30);
        let (done, rest) = split_unfinished(head.to_vec());
        assert!(parse_reports(done).is_empty());
        let mut next = rest;
        next.extend(tail.iter().cloned());
        let (done, rest) = split_unfinished(next);
        assert!(rest.is_empty());
        assert_eq!(parse_reports(done)[0].pid, Some(13897));
    }

    #[test]
    fn two_reports_in_a_row() {
        let events = parse_reports(lines(&format!("{HERE}\n{OTHER}\n{HERE}")));
        assert_eq!(events.len(), 2);
    }

    fn fixture(name: &str) -> Vec<OomEvent> {
        let path = format!("{}/tests/fixtures/oom/{name}", env!("CARGO_MANIFEST_DIR"));
        parse_reports(lines(&std::fs::read_to_string(path).unwrap()))
    }

    /// Reports pasted from real machines (tests/fixtures/oom/SOURCES.md).
    #[test]
    fn a_global_oom_in_syslog_form() {
        let events = fixture("global-none.txt");
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.constraint.as_deref(), Some("CONSTRAINT_NONE"));
        assert_eq!(e.oom_memcg, None);
        assert_eq!(
            e.task_memcg.as_deref(),
            Some("/user.slice/user-1000.slice/session-2.scope")
        );
        assert_eq!(
            (e.pid, e.comm.as_deref(), e.uid),
            (Some(662), Some("baloo_file"), Some(1000))
        );
        assert_eq!((e.anon_rss_kb, e.pgtables_kb), (Some(285340), Some(5264)));
        assert_eq!(e.invoked_by.as_deref(), Some("llvm-tblgen"));
        assert_eq!(e.tasks.len(), 76);
        assert!(e.sentence().contains("the system ran out of memory"));
    }

    #[test]
    fn a_cgroup2_oom_with_its_memory_stat() {
        let events = fixture("memcg-v2.txt");
        assert_eq!(events.len(), 1);
        let e = &events[0];
        let unit = "/user.slice/user-1000.slice/user@1000.service/app.slice/run-u640.service";
        assert_eq!(e.oom_memcg.as_deref(), Some(unit));
        assert_eq!((e.pid, e.comm.as_deref()), (Some(128825), Some("rsync")));
        assert_eq!(e.limit_bytes, Some(32768 * 1024));
        assert_eq!(e.failcnt, Some(21239));
        assert_eq!(e.oom_score_adj, Some(200));
        assert_eq!(e.stat(&["anon"]), Some(0));
        assert_eq!(e.stat(&["file"]), Some(26927104));
        assert!(e.monotonic_usec.is_some());
    }

    #[test]
    fn an_older_kernel_without_the_summary_line() {
        let events = fixture("old-kernel-4x.txt");
        assert_eq!(events.len(), 1);
        let e = &events[0];
        let scope = e.oom_memcg.as_deref().unwrap();
        assert!(
            scope.starts_with("/system.slice/docker-1da1ac35"),
            "{scope}"
        );
        assert_eq!(e.task_memcg.as_deref(), Some(scope));
        assert_eq!((e.pid, e.comm.as_deref()), (Some(12906), Some("stress")));
        assert_eq!(e.limit_bytes, Some(1048576 * 1024));
        assert_eq!(e.anon_rss_kb, Some(956008));
        assert_eq!(e.constraint.as_deref(), Some("CONSTRAINT_MEMCG"));
        assert!(!e.tasks.is_empty(), "the nr_ptes table");
    }

    #[test]
    fn both_cgroups_workloads_named_and_in_the_json() {
        let id = "1da1ac35179e4a431244118025a4806f88ca172ffdba9e035076add06e912e6f";
        let mut events = fixture("old-kernel-4x.txt");
        let e = &mut events[0];
        assert_eq!(e.container.as_deref(), Some("docker 1da1ac35179e"));
        let names = HashMap::from([(
            id.to_owned(),
            ContainerName {
                name: "stress-test".into(),
                source: format!("docker /var/lib/docker/containers/{id}/config.v2.json"),
            },
        )]);
        e.name_workloads(&names);
        assert_eq!(
            e.container.as_deref(),
            Some("docker stress-test (1da1ac35179e)")
        );
        assert!(
            e.sentence().starts_with(
                "killed stress (pid 12906) in docker stress-test (1da1ac35179e): cgroup \
                 /system.slice/docker-1da1ac35"
            ),
            "{}",
            e.sentence()
        );
        let json = serde_json::to_value(&*e).unwrap();
        for key in ["oom_workload", "task_workload"] {
            assert_eq!(json[key]["container"]["name"], "stress-test", "{key}");
            assert_eq!(json[key]["container"]["id"], id, "{key}");
            assert_eq!(json[key]["container"]["runtime"], "docker", "{key}");
        }
        // A unit's event has a workload too; a recording's event without these fields reads.
        let cpuset = &fixture("cpuset.txt")[0];
        assert_eq!(
            cpuset.task_workload.as_ref().unwrap().unit.as_deref(),
            Some("containerd.service")
        );
        assert!(
            cpuset
                .sentence()
                .starts_with("killed containerd (pid 4100): "),
            "a unit is not a container: {}",
            cpuset.sentence()
        );
        let mut old = serde_json::to_value(cpuset).unwrap();
        let object = old.as_object_mut().unwrap();
        object.remove("oom_workload");
        object.remove("task_workload");
        let back: OomEvent = serde_json::from_value(old).unwrap();
        assert_eq!(back.task_workload, None);
    }

    #[test]
    fn a_cpuset_oom() {
        let events = fixture("cpuset.txt");
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.constraint.as_deref(), Some("CONSTRAINT_CPUSET"));
        assert_eq!((e.pid, e.comm.as_deref()), (Some(4100), Some("containerd")));
        assert_eq!(
            e.task_memcg.as_deref(),
            Some("/system.slice/containerd.service")
        );
        assert!(e.sentence().contains("cpuset"));
    }

    #[test]
    fn rate_limited_kills_with_only_their_last_line() {
        let events = fixture("ratelimited.txt");
        let victims: Vec<(Option<i32>, Option<&str>)> =
            events.iter().map(|e| (e.pid, e.comm.as_deref())).collect();
        assert_eq!(
            victims,
            [
                (Some(15784), Some("python3")),
                (Some(15925), Some("(resolved)")),
                (Some(15783), Some("python3")),
                (Some(15934), Some("(resolved)"))
            ]
        );
        assert!(
            events
                .iter()
                .all(|e| e.constraint.as_deref() == Some("CONSTRAINT_NONE"))
        );
        assert_eq!(events[0].monotonic_usec, Some(518_050_606));
    }

    #[test]
    fn userspace_killers_in_the_journal() {
        let events = fixture("userspace-killers.txt");
        assert_eq!(events.len(), 3);
        assert!(
            events
                .iter()
                .all(|e| e.constraint.as_deref() == Some("USERSPACE"))
        );
        let by = |k: &str| {
            events
                .iter()
                .find(|e| e.invoked_by.as_deref() == Some(k))
                .unwrap()
        };
        assert!(
            by("systemd-oomd")
                .oom_memcg
                .as_deref()
                .unwrap()
                .starts_with("/user.slice/user-1001.slice")
        );
        let early = by("earlyoom");
        assert_eq!(
            (early.pid, early.uid, early.comm.as_deref()),
            (Some(29410), Some(1000), Some("cluster"))
        );
        assert!(
            by("kubelet")
                .comm
                .as_deref()
                .unwrap()
                .starts_with("guaranteed-cn933_")
        );
        assert!(
            early
                .sentence()
                .contains("earlyoom killed it from userspace")
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse_reports(lines(&text));
        }
    }
}
