//! The host's cgroup layout and system-wide pressure.

use serde::{Deserialize, Serialize};

use crate::model::cgroup::Pressure;
use crate::model::kernel_text as text;
use crate::model::sample::{CgroupsSample, HierarchySample, SystemSample};

fn system_files(s: &CgroupsSample) -> impl Iterator<Item = (&str, &str)> {
    s.system_pressure.iter().map(|(r, t)| (*r, t.as_str()))
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub mode: HostMode,
    /// cgroup2 first, then v1 by hierarchy ID.
    pub hierarchies: Vec<HierarchySample>,
    /// /proc/pressure, when the kernel has PSI.
    pub pressure: Option<Pressure>,
    /// Host name, kernel, load, CPU and memory use; `None` when only cgroups were read.
    pub system: Option<System>,
}

/// What the TUI header shows about the host.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct System {
    pub hostname: String,
    pub kernel: String,
    pub uptime_secs: Option<f64>,
    pub load: Option<[f64; 3]>,
    pub cpus: usize,
    /// Busy share of all CPUs since the previous sample, 0–100.
    pub cpu_percent: Option<f64>,
    pub mem_total: Option<u64>,
    pub mem_available: Option<u64>,
    pub swap_total: Option<u64>,
    pub swap_free: Option<u64>,
    /// Bytes per page, as the kernel's OOM reports count them (0 in recordings made before).
    #[serde(default)]
    pub page_size: u64,
    /// Yama's ptrace scope: 0 classic (any process of the same uid), 1 descendants only, 2
    /// CAP_SYS_PTRACE only, 3 none. `None` without yama, which is as 0.
    #[serde(default)]
    pub ptrace_scope: Option<u8>,
    /// kernel.core_pattern: a file name written in the crashing process's directory, or
    /// `|program`, which the kernel runs as root in the host's namespaces.
    #[serde(default)]
    pub core_pattern: Option<String>,
}

/// Who may trace a process under yama's `ptrace_scope` (`None`: no yama, which is as 0).
pub fn ptrace_rule(scope: Option<u8>) -> &'static str {
    match scope {
        None | Some(0) => "any process of the same user",
        Some(1) => "only its ancestors, or a process it names",
        Some(2) => "only a process with CAP_SYS_PTRACE",
        Some(_) => "no process",
    }
}

impl System {
    pub fn new(now: &SystemSample, prev: Option<&SystemSample>) -> Option<System> {
        if now.taken_at.is_zero() {
            return None;
        }
        let cpu = text::cpu_totals(&now.stat);
        let cpu_percent = prev
            .and_then(|p| text::cpu_totals(&p.stat))
            .zip(cpu)
            .and_then(|(((busy0, total0), _), ((busy1, total1), _))| {
                let total = total1.checked_sub(total0).filter(|&t| t > 0)?;
                let busy = busy1.saturating_sub(busy0).min(total);
                Some(busy as f64 * 100.0 / total as f64)
            });
        Some(System {
            hostname: now.hostname.clone(),
            kernel: now.kernel.clone(),
            uptime_secs: now
                .uptime
                .split_whitespace()
                .next()
                .and_then(|u| u.parse().ok()),
            load: text::loadavg(&now.loadavg),
            cpus: cpu.map_or(0, |(_, cpus)| cpus),
            cpu_percent,
            mem_total: text::meminfo(&now.meminfo, "MemTotal"),
            mem_available: text::meminfo(&now.meminfo, "MemAvailable"),
            swap_total: text::meminfo(&now.meminfo, "SwapTotal"),
            swap_free: text::meminfo(&now.meminfo, "SwapFree"),
            page_size: now.page_size,
            ptrace_scope: now.ptrace_scope.trim().parse().ok(),
            core_pattern: Some(now.core_pattern.trim_end_matches('\n'))
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
        })
    }

    /// Memory in use (total − available) as a share of total, 0–100.
    pub fn mem_percent(&self) -> Option<f64> {
        let total = self.mem_total.filter(|&t| t > 0)?;
        let used = total.saturating_sub(self.mem_available?);
        Some(used as f64 * 100.0 / total as f64)
    }
}

impl Host {
    pub fn new(now: &CgroupsSample, prev: Option<&CgroupsSample>) -> Host {
        let before = prev.and_then(|p| {
            let secs = now.taken_at.checked_sub(p.taken_at)?.as_secs_f64();
            Some((Pressure::build(system_files(p), None)?, secs))
        });
        Host {
            mode: host_mode(&now.hierarchies),
            hierarchies: now.hierarchies.clone(),
            pressure: Pressure::build(
                system_files(now),
                before.as_ref().map(|(p, secs)| (p, *secs)),
            ),
            system: None,
        }
    }

    pub fn hierarchy(&self, id: u32) -> Option<&HierarchySample> {
        self.hierarchies.iter().find(|h| h.id == id)
    }

    /// How cgroups are seen from here, when it is not the whole picture: none mounted, or
    /// mounted from above our cgroup namespace (its paths then climb out with `/..`).
    pub fn cgroup_notice(&self) -> Option<String> {
        if self.mode == HostMode::None {
            return Some(
                "no cgroup hierarchy is visible: /proc/self/mountinfo has no cgroup or cgroup2 mount nstop can reach"
                    .into(),
            );
        }
        let outside: Vec<String> = self
            .hierarchies
            .iter()
            .filter(|h| h.root.split('/').any(|c| c == ".."))
            .map(HierarchySample::label)
            .collect();
        (!outside.is_empty()).then(|| {
            format!(
                "inside a cgroup namespace: {} mounted from above it; paths are relative to the namespace's root and /.. leads above it",
                outside.join(", ")
            )
        })
    }
}

/// How the host mounts cgroups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostMode {
    /// cgroup2 only (v1 named hierarchies at most).
    Unified,
    /// v1 controllers and a cgroup2 hierarchy (systemd's /sys/fs/cgroup/unified).
    Hybrid,
    /// v1 only.
    Legacy,
    /// No cgroup filesystem mounted where we can see it.
    None,
}

pub fn host_mode(hierarchies: &[HierarchySample]) -> HostMode {
    let v2 = hierarchies.iter().any(|h| h.version == 2);
    let v1 = hierarchies
        .iter()
        .any(|h| h.version == 1 && h.controllers.iter().any(|c| !c.starts_with("name=")));
    match (v2, v1) {
        (true, true) => HostMode::Hybrid,
        (true, false) => HostMode::Unified,
        (false, true) => HostMode::Legacy,
        (false, false) => HostMode::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cgroup::tests::hierarchies;

    #[test]
    fn host_modes() {
        let mut h = hierarchies();
        assert_eq!(host_mode(&h), HostMode::Hybrid);
        h.remove(1);
        assert_eq!(host_mode(&h), HostMode::Unified);
        assert_eq!(host_mode(&hierarchies()[1..]), HostMode::Legacy);
        assert_eq!(host_mode(&[]), HostMode::None);
    }
}
