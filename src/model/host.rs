//! The host's cgroup layout and system-wide pressure.

use serde::{Deserialize, Serialize};

use crate::model::cgroup::Pressure;
use crate::model::sample::{CgroupsSample, HierarchySample};

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
        }
    }

    pub fn hierarchy(&self, id: u32) -> Option<&HierarchySample> {
        self.hierarchies.iter().find(|h| h.id == id)
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
