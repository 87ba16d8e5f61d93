//! Processes as the views show them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::kernel_text;
use crate::model::sample::{NsType, ProcSample, Sample};
use crate::model::security::Security;

/// A cgroup a process is in, in one hierarchy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessCgroup {
    pub hierarchy: u32,
    /// Relative to our cgroup namespace: `/..` leads above it, where we cannot look.
    pub path: Arc<str>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Process {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    pub user: Option<String>,
    pub comm: String,
    /// The command line; the name for kernel threads (as lsns's COMMAND), `[name]` for a
    /// process without argv (as ps).
    pub command: String,
    pub start_time: u64,
    pub threads: u32,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
    /// CPU time used since the previous sample, 100 = one CPU busy.
    pub cpu_percent: Option<f64>,
    /// Empty where the links were unreadable.
    pub namespaces: BTreeMap<NsType, u64>,
    /// The PID at every level, outermost first: `[14121, 3]` is PID 3 inside its namespace.
    pub nspid: Vec<i32>,
    /// One per hierarchy (`/proc/PID/cgroup`); empty when cgroups were not collected. Shared by
    /// the processes with the same cgroups (13 hierarchies × 10,000 processes add up).
    pub cgroups: Arc<[ProcessCgroup]>,
    /// Capabilities, seccomp, LSM, ids and root; `None` where not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Security>,
}

impl Process {
    /// The inode of its pid namespace, when its links were readable.
    pub fn pid_ns(&self) -> Option<u64> {
        self.namespaces.get(&NsType::Pid).copied()
    }

    /// The user name, or the UID where /etc/passwd has none.
    pub fn user_name(&self) -> String {
        self.user.clone().unwrap_or_else(|| self.uid.to_string())
    }
}

/// Processes sorted by PID; CPU rates against the same process (PID and start time) in `prev`.
pub fn build(sample: &Sample, prev: Option<&Sample>) -> Vec<Process> {
    let system = &sample.system;
    let before: HashMap<(i32, u64), u64> = prev
        .map(|p| {
            p.procs
                .iter()
                .map(|p| ((p.pid, p.start_time), p.cpu_ticks))
                .collect()
        })
        .unwrap_or_default();
    let secs = prev
        .and_then(|p| system.taken_at.checked_sub(p.system.taken_at))
        .map(|d| d.as_secs_f64())
        .filter(|&s| s > 0.0 && system.clock_ticks > 0);
    let cpu_percent = |p: &ProcSample| {
        let ticks = p
            .cpu_ticks
            .checked_sub(*before.get(&(p.pid, p.start_time))?)?;
        Some(ticks as f64 * 100.0 / system.clock_ticks as f64 / secs?)
    };
    let mut paths: HashMap<&str, Arc<str>> = HashMap::new();
    // By the text's address: the sampler shares one text among the processes that have it.
    let mut cgroups: HashMap<*const str, Arc<[ProcessCgroup]>> = HashMap::new();
    let mut processes: Vec<Process> = sample
        .procs
        .iter()
        .map(|p| Process {
            rss_bytes: p.rss_pages.saturating_mul(system.page_size),
            cpu_percent: cpu_percent(p),
            pid: p.pid,
            ppid: p.ppid,
            uid: p.uid,
            user: sample.user_names.get(&p.uid).cloned(),
            comm: p.comm.clone(),
            command: match p.cmdline.as_deref() {
                Some("") if !p.kernel_thread => format!("[{}]", p.comm),
                Some(cmdline) if !cmdline.is_empty() => cmdline.to_owned(),
                // A kernel thread, or a command line not read (unshown, or denied).
                _ => p.comm.clone(),
            },
            start_time: p.start_time,
            threads: p.threads,
            namespaces: NsType::ALL
                .into_iter()
                .filter_map(|kind| Some((kind, p.ns[kind.index()]?)))
                .collect(),
            nspid: p.nspid.clone(),
            cgroups: cgroups
                .entry(Arc::as_ptr(&p.cgroup))
                .or_insert_with(|| {
                    kernel_text::proc_cgroup(&p.cgroup)
                        .into_iter()
                        .map(|line| ProcessCgroup {
                            hierarchy: line.hierarchy,
                            path: paths
                                .entry(line.path)
                                .or_insert_with(|| line.path.into())
                                .clone(),
                        })
                        .collect()
                })
                .clone(),
            security: (p.security.as_ref()).map(|s| Security::new(s, sample.reader_root)),
        })
        .collect();
    processes.sort_by_key(|p| p.pid);
    processes
}
