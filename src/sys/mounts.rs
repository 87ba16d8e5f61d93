//! nsfs bind mounts (`ip netns add`, `unshare --net=FILE`) from mountinfo, read once per distinct
//! mount namespace through one of its member processes: a namespace bind-mounted only inside a
//! container's mount namespace is invisible in our own mountinfo.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::os::unix::fs::MetadataExt;

use crate::model::isolation::{HostMount, MountWalls};
use crate::model::kernel_text;
use crate::model::sample::{HeldNs, HolderSample, NsRef, NsType};
use crate::sys::ns::parse_ns_link;
use crate::sys::roots::Roots;

/// Undoes mountinfo's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash).
pub fn unescape_mount_path(field: &str) -> String {
    kernel_text::unescape(field, |seq| {
        let digits = seq.strip_prefix(b"\\")?;
        digits
            .iter()
            .all(|c| (b'0'..=b'7').contains(c))
            .then_some(())?;
        u8::from_str_radix(std::str::from_utf8(digits).ok()?, 8).ok()
    })
}

/// One mountinfo line's fields that locate it: the device, the root within that filesystem,
/// where it is mounted, its options, its type.
struct MountLine {
    dev: String,
    root: String,
    at: String,
    writable: bool,
    fstype: String,
}

/// The fields after the ` - ` separator are located by the separator, as the optional
/// fields before it vary.
fn parse_mount_lines(mountinfo: &str) -> Vec<MountLine> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mut fields = left.split(' ');
            let dev = fields.nth(2)?.to_owned();
            let root = unescape_mount_path(fields.next()?);
            let at = unescape_mount_path(fields.next()?);
            let writable = fields.next()?.split(',').any(|o| o == "rw");
            let fstype = right.split(' ').next()?.to_owned();
            Some(MountLine {
                dev,
                root,
                at,
                writable,
                fstype,
            })
        })
        .collect()
}

/// The nsfs mounts of one mountinfo text: which namespace is mounted where.
pub fn parse_nsfs_mounts(mountinfo: &str) -> Vec<(NsRef, String)> {
    parse_mount_lines(mountinfo)
        .into_iter()
        .filter(|m| m.fstype == "nsfs")
        .filter_map(|m| Some((parse_ns_link(m.root.as_bytes())?, m.at)))
        .collect()
}

/// nsfs bind mounts across every mount namespace the scan saw, each read through one member
/// (the lowest PID that still answers and is still in that namespace after the read).
pub fn nsfs_holders(roots: &Roots, members: &HashMap<NsRef, Vec<i32>>) -> Vec<HeldNs> {
    let readers: BTreeMap<u64, &[i32]> = members
        .iter()
        .filter(|(ns, _)| ns.kind == NsType::Mnt)
        .map(|(ns, pids)| (ns.ino, &pids[..pids.len().min(3)]))
        .collect();
    let still_in = |pid: i32, mnt_ns: u64| {
        let link = roots.proc.join(format!("{pid}/ns/mnt"));
        fs::metadata(link).is_ok_and(|m| m.ino() == mnt_ns)
    };
    let mut held = Vec::new();
    for (mnt_ns, pids) in readers {
        // A reader that exits or is denied leaves the next one to try, not an error.
        let read = pids.iter().copied().find_map(|pid| {
            let text = fs::read_to_string(roots.proc.join(format!("{pid}/mountinfo"))).ok()?;
            // Fixture trees have no live links to check; a live PID reused meanwhile does.
            let reused = roots.is_live() && !still_in(pid, mnt_ns);
            (!reused).then_some((pid, text))
        });
        let Some((pid, text)) = read else { continue };
        for (ns, path) in parse_nsfs_mounts(&text) {
            held.push(HeldNs {
                ns,
                holder: HolderSample::BindMount {
                    path,
                    mnt_ns,
                    via_pid: pid,
                },
            });
        }
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from /proc/self/mountinfo on this host after `ip netns add nstopcap` and
    // `unshare --net="/tmp/nstop cap/ns" true`.
    const MOUNTINFO: &str = "\
29 1 254:0 / / rw,relatime - ext4 /dev/vda rw
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
108 27 0:4 net:[4026532245] /tmp/nstop\\040cap/ns rw - nsfs nsfs rw
109 42 0:4 net:[4026532394] /run/netns/nstopcap rw shared:4 - nsfs nsfs rw
";

    #[test]
    fn finds_nsfs_mounts_with_any_optional_fields() {
        let mounts = parse_nsfs_mounts(MOUNTINFO);
        assert_eq!(
            mounts,
            vec![
                (
                    NsRef {
                        kind: NsType::Net,
                        ino: 4026532245
                    },
                    "/tmp/nstop cap/ns".to_string()
                ),
                (
                    NsRef {
                        kind: NsType::Net,
                        ino: 4026532394
                    },
                    "/run/netns/nstopcap".to_string()
                ),
            ]
        );
    }

    #[test]
    fn unescapes_octal_and_leaves_the_rest() {
        assert_eq!(unescape_mount_path("/a\\040b\\134c"), "/a b\\c");
        assert_eq!(unescape_mount_path("/a\\04"), "/a\\04");
        assert_eq!(unescape_mount_path("/\\999"), "/\\999");
    }
}

/// What `pid`'s mount namespace shows of the reader's: the mounts that show part of it, each
/// with the path it has in the reader's (through a reader mount of the same device whose root
/// contains it), its own mount point, whether writable; and where it can write sysctls.
/// Its root mount is left out (whether its root is the reader's is said by the process's root
/// directory). `None` when unreadable.
pub fn mount_walls(roots: &Roots, pid: i32) -> Option<MountWalls> {
    let own = fs::read_to_string(roots.proc.join("self/mountinfo")).ok()?;
    let theirs = fs::read_to_string(roots.proc.join(format!("{pid}/mountinfo"))).ok()?;
    Some(MountWalls {
        host: map_mounts(&own, &theirs),
        writable_sysctls: writable_sysctls(&theirs),
    })
}

/// Where sysctls can be written in a mount namespace: the sysctl directory of a proc mount
/// (`/proc/sys`, or `/host/proc/sys` through a bind of the host's root) whose covering mount is
/// a writable proc. Runtimes cover their /proc/sys with a read-only bind, as sysctls written
/// through any proc reach the whole host (kernel.core_pattern).
fn writable_sysctls(mountinfo: &str) -> Option<String> {
    let lines = parse_mount_lines(mountinfo);
    let trimmed = |at: &str| at.trim_end_matches('/').to_owned();
    // The deepest mount point covers a path; of two at one point, the later is on top.
    let covering = |path: &str| {
        (lines.iter().enumerate())
            .filter(|(_, m)| {
                let at = trimmed(&m.at);
                path == at || path.starts_with(&format!("{at}/"))
            })
            .max_by_key(|(i, m)| (trimmed(&m.at).len(), *i))
            .map(|(_, m)| m)
    };
    lines
        .iter()
        .filter(|m| m.fstype == "proc")
        .filter_map(|m| match m.root.as_str() {
            "/" => Some(format!("{}/sys", trimmed(&m.at))),
            root if root == "/sys" || root.starts_with("/sys/") => Some(m.at.clone()),
            _ => None,
        })
        .find(|dir| covering(dir).is_some_and(|c| c.fstype == "proc" && c.writable))
}

fn map_mounts(own: &str, theirs: &str) -> Vec<HostMount> {
    let own = parse_mount_lines(own);
    parse_mount_lines(theirs)
        .into_iter()
        .filter(|m| m.at != "/")
        .filter_map(|m| {
            let within = |root: &str| {
                root == "/" || m.root == root || m.root.starts_with(&format!("{root}/"))
            };
            let host = own
                .iter()
                .filter(|o| o.dev == m.dev && within(&o.root))
                .max_by_key(|o| o.root.len());
            let host_path = match host {
                Some(o) => {
                    let rest = match o.root.as_str() {
                        "/" => m.root.as_str(),
                        root => m.root.strip_prefix(root).unwrap_or(""),
                    };
                    let joined = format!(
                        "{}{}",
                        o.at.trim_end_matches('/'),
                        rest.trim_end_matches('/')
                    );
                    if joined.is_empty() {
                        "/".to_owned()
                    } else {
                        joined
                    }
                }
                // Its own filesystem (a tmpfs, its proc) unless the kind is the host's anyway.
                None if m.fstype == "devtmpfs" => "/dev".to_owned(),
                None => return None,
            };
            Some(HostMount {
                host_path,
                at: m.at,
                writable: m.writable,
                fstype: m.fstype,
            })
        })
        .collect()
}

#[cfg(test)]
mod host_mount_tests {
    use super::{map_mounts, writable_sysctls};

    #[test]
    fn sysctls_are_writable_where_no_read_only_bind_covers_a_proc() {
        let proc_only = "605 600 0:80 / /proc rw,nosuid - proc proc rw\n";
        assert_eq!(writable_sysctls(proc_only).as_deref(), Some("/proc/sys"));
        // docker's and podman's default: /proc/sys bound read-only over their proc.
        let covered = format!("{proc_only}606 605 0:80 /sys /proc/sys ro,nosuid - proc proc rw\n");
        assert_eq!(writable_sysctls(&covered), None);
        // A later writable mount on the same point is on top.
        let remounted = format!("{covered}607 606 0:80 /sys /proc/sys rw - proc proc rw\n");
        assert_eq!(writable_sysctls(&remounted).as_deref(), Some("/proc/sys"));
        // /proc/sysvipc is not /proc/sys; no proc at all is nothing to write.
        let sysvipc = format!("{covered}608 605 0:80 /sysvipc /proc/sysvipc rw - proc proc rw\n");
        assert_eq!(writable_sysctls(&sysvipc), None);
        assert_eq!(
            writable_sysctls("600 500 0:77 / / rw - overlay overlay rw\n"),
            None
        );
        // `-v /:/host` as podman gave it in the guest: the host's proc under /host, whose
        // sys no bind covers, beside the container's own covered one.
        let host_root = format!(
            "{covered}700 600 254:1 / /host rw - ext4 /dev/vda rw\n\
                                 701 700 0:22 / /host/proc rw,nosuid - proc proc rw\n"
        );
        assert_eq!(
            writable_sysctls(&host_root).as_deref(),
            Some("/host/proc/sys")
        );
    }

    #[test]
    fn a_container_mount_maps_to_the_host_path_it_shows() {
        // The host's: / on 254:1, /var/lib/docker on 254:1 too (a directory of /).
        let host = "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n\
                    25 22 0:5 / /dev rw,nosuid shared:2 - devtmpfs udev rw\n";
        // A container's: its overlay root, `-v /:/host`, `-v /etc:/cfg:ro`, /etc/hosts from
        // docker's state directory, the host's /dev, its own proc.
        let container = "600 500 0:77 / / rw,relatime - overlay overlay rw\n\
                         601 600 254:1 / /host rw,relatime - ext4 /dev/vda1 rw\n\
                         602 600 254:1 /etc /cfg ro,relatime - ext4 /dev/vda1 rw\n\
                         603 600 254:1 /var/lib/docker/containers/abc/hosts /etc/hosts rw - ext4 /dev/vda1 rw\n\
                         604 600 0:5 / /dev rw - devtmpfs udev rw\n\
                         605 600 0:80 / /proc rw - proc proc rw\n";
        let mapped: Vec<(String, String, bool)> = map_mounts(host, container)
            .into_iter()
            .map(|m| (m.host_path, m.at, m.writable))
            .collect();
        assert_eq!(
            mapped,
            vec![
                ("/".into(), "/host".into(), true),
                ("/etc".into(), "/cfg".into(), false),
                (
                    "/var/lib/docker/containers/abc/hosts".into(),
                    "/etc/hosts".into(),
                    true
                ),
                ("/dev".into(), "/dev".into(), true),
            ]
        );
    }
}
