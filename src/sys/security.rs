//! A process's walls besides its namespaces and cgroups: the credential, capability,
//! no_new_privs and seccomp lines of /proc/PID/status, its LSM label (attr/current), its root
//! directory's identity, and the id maps of a user namespace other than the reader's; and the
//! walls around a container: its mounts and devices.

use std::os::fd::BorrowedFd;

use rustix::fs::{AtFlags, statat};

use crate::model::isolation::Walls;
use crate::model::sample::{HierarchySample, SecuritySample};
use crate::sys::cgroupfs::{device_programs, devices_list};
use crate::sys::mounts::mount_walls;
use crate::sys::proc::read_record;
use crate::sys::roots::Roots;

/// The status lines this module reads, parsed; `None` when the text has no `CapEff:` (not a
/// status file, or a kernel without capabilities).
pub fn parse_status(status: &[u8]) -> Option<SecuritySample> {
    let text = std::str::from_utf8(status).ok()?;
    let mut out = SecuritySample::default();
    let mut caps_seen = false;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let mask = || u64::from_str_radix(value, 16).ok();
        let ids = || -> Option<[u32; 4]> {
            let ids: Vec<u32> = value
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            ids.try_into().ok()
        };
        match key {
            "Uid" => out.uids = ids()?,
            "Gid" => out.gids = ids()?,
            "CapInh" => out.caps.inheritable = mask()?,
            "CapPrm" => out.caps.permitted = mask()?,
            "CapEff" => {
                out.caps.effective = mask()?;
                caps_seen = true;
            }
            "CapBnd" => out.caps.bounding = mask()?,
            "CapAmb" => out.caps.ambient = mask()?,
            "NoNewPrivs" => out.no_new_privs = value == "1",
            "Seccomp" => out.seccomp = value.parse().ok(),
            "Seccomp_filters" => out.seccomp_filters = value.parse().ok(),
            _ => {}
        }
    }
    caps_seen.then_some(out)
}

/// The LSM label of attr/current: NUL and newline trimmed, `None` when empty.
pub fn parse_label(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let label = text.trim_end_matches(['\0', '\n']).trim();
    (!label.is_empty()).then(|| label.to_owned())
}

/// What status does not say, read beside it: the LSM label, the root's identity and, where
/// `foreign_user_ns`, the id maps. Each part that cannot be read is left `None`.
pub fn read_beside_status(
    pid_dir: BorrowedFd,
    security: &mut SecuritySample,
    foreign_user_ns: bool,
    buf: &mut Vec<u8>,
) {
    // attr/current answers EINVAL without an LSM that labels processes.
    security.lsm = read_record(pid_dir, "attr/current", buf)
        .ok()
        .and_then(|()| parse_label(buf));
    security.root = statat(pid_dir, "root", AtFlags::empty())
        .ok()
        .map(|st| (st.st_dev, st.st_ino));
    if foreign_user_ns {
        let mut map = |name: &str| {
            read_record(pid_dir, name, buf)
                .ok()
                .map(|()| String::from_utf8_lossy(buf).into_owned())
        };
        security.uid_map = map("uid_map");
        security.gid_map = map("gid_map");
    }
}

/// The walls around the unit `pid` belongs to: its mounts, and which devices its cgroups
/// let it open (`cgroups`: its (hierarchy ID, path) pairs). Each unreadable part is `None`.
pub fn read_walls(
    roots: &Roots,
    hierarchies: &[HierarchySample],
    pid: i32,
    cgroups: &[(u32, &str)],
) -> Walls {
    let path_in = |h: &HierarchySample| {
        (cgroups.iter())
            .find(|(id, _)| *id == h.id)
            .map(|(_, path)| *path)
    };
    let devices = (hierarchies.iter())
        .find(|h| h.version == 1 && h.controllers.iter().any(|c| c == "devices"));
    // Without a v1 devices hierarchy, BPF programs attached to its cgroup2 cgroup decide.
    let cgroup2 = (hierarchies.iter())
        .find(|h| h.version == 2)
        .filter(|_| devices.is_none());
    Walls {
        mounts: mount_walls(roots, pid),
        devices_list: devices.and_then(|h| devices_list(roots, h, path_in(h)?)),
        device_programs: cgroup2.and_then(|h| device_programs(roots, h, path_in(h)?)),
    }
}

/// Device and inode of the reader's root directory, as /proc/self/root leads there.
pub fn reader_root(proc_dir: BorrowedFd) -> Option<(u64, u64)> {
    let st = statat(proc_dir, "self/root", AtFlags::empty()).ok()?;
    Some((st.st_dev, st.st_ino))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// /proc/PID/status of `setpriv --inh-caps=-all --bounding-set=-all,+net_bind_service
    /// --no-new-privs sleep 60` run as root on this host (kernel 6.18), lines as captured.
    const DROPPED: &[u8] = include_bytes!("../../tests/fixtures/security/status-setpriv-nnp.txt");

    #[test]
    fn status_lines_are_read_as_the_kernel_wrote_them() {
        let s = parse_status(DROPPED).expect("a status with capabilities");
        assert_eq!(s.uids, [0, 0, 0, 0]);
        assert_eq!(s.caps.bounding, 1 << 10, "CAP_NET_BIND_SERVICE only");
        assert_eq!(s.caps.effective, 1 << 10);
        assert_eq!(s.caps.ambient, 0);
        assert!(s.no_new_privs);
        assert_eq!(s.seccomp, Some(0));
        assert_eq!(s.seccomp_filters, Some(0));
        assert_eq!(parse_status(b"Name:\tx\n"), None);
    }

    #[test]
    fn labels_lose_their_terminators() {
        assert_eq!(parse_label(b"unconfined\n").as_deref(), Some("unconfined"));
        assert_eq!(
            parse_label(b"system_u:system_r:container_t:s0:c1,c2\0").as_deref(),
            Some("system_u:system_r:container_t:s0:c1,c2")
        );
        assert_eq!(parse_label(b"\0"), None);
    }
}
