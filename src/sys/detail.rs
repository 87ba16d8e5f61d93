//! Per-type facts of one namespace, read only when asked for (`nstop ns --detail`): from a
//! member's /proc files where they show it, else from inside through a forked child.

use std::fs;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::libc;

use crate::model::kernel_text::proc_cgroup;
use crate::model::sample::{
    CgroupNsRoot, ClockOffset, HolderSample, IdMap, NsDetail, NsRef, NsType, Sample,
};
use crate::sys::ns::{open_ns, open_paths};
use crate::sys::nsexec::{self, NsExecError, run_in_namespace};
use crate::sys::roots::Roots;
use crate::sys::rtnetlink::{self, NetlinkRoute};

/// How to reach the namespace: its member processes and its other holders.
pub struct Access<'a> {
    pub ns: NsRef,
    pub members: &'a [i32],
    pub holders: &'a [HolderSample],
}

impl Access<'_> {
    fn open(&self, roots: &Roots) -> Result<OwnedFd, String> {
        open_paths(roots, self.ns, self.members, self.holders)
            .iter()
            .find_map(|p| open_ns(p, self.ns).ok())
            .ok_or_else(|| {
                format!(
                    "{}:[{}] can no longer be opened (gone, or permission denied)",
                    self.ns.kind, self.ns.ino
                )
            })
    }

    fn no_process(&self, what: &str) -> String {
        format!(
            "{}:[{}] has no process to read {what} from",
            self.ns.kind, self.ns.ino
        )
    }
}

pub fn parse_id_map(text: &str) -> Vec<IdMap> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace().map(|v| v.parse().ok());
            Some(IdMap {
                inside: f.next()??,
                outside: f.next()??,
                count: f.next()??,
            })
        })
        .filter(|m| m.count > 0)
        .collect()
}

/// `/proc/PID/timens_offsets`: `monotonic <s> <ns>` and `boottime <s> <ns>` lines.
pub fn parse_timens_offsets(text: &str) -> Option<(ClockOffset, ClockOffset)> {
    let clock = |name: &str| {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))?;
        let mut f = line.split_whitespace().skip(1).map(|v| v.parse().ok());
        Some(ClockOffset {
            seconds: f.next()??,
            nanoseconds: f.next()??,
        })
    };
    Some((clock("monotonic")?, clock("boottime")?))
}

/// The root cgroup of a cgroup namespace from one process's cgroup path seen from outside
/// (`outside`) and from inside the namespace (`inside`): the outside path minus the inside one.
pub fn cgroup_ns_root(outside: &str, inside: &str) -> Option<String> {
    if inside.split('/').any(|c| c == "..") {
        return None;
    }
    let relative = inside.trim_end_matches('/');
    let root = outside.strip_suffix(relative)?;
    Some(if root.is_empty() {
        "/".into()
    } else {
        root.to_string()
    })
}

/// The root of a cgroup namespace in every hierarchy whose path one process shows from
/// outside and inside (/proc/PID/cgroup read from each side).
fn cgroup_ns_roots(outside: &str, inside: &str) -> Vec<CgroupNsRoot> {
    let inside = proc_cgroup(inside);
    proc_cgroup(outside)
        .into_iter()
        .filter_map(|o| {
            let i = inside.iter().find(|i| i.hierarchy == o.hierarchy)?;
            Some(CgroupNsRoot {
                hierarchy: o.hierarchy,
                controllers: o.controllers.to_owned(),
                root: cgroup_ns_root(o.path, i.path)?,
            })
        })
        .collect()
}

/// Child step: the hostname and domain name of the uts namespace it joined.
fn uname_step(out: RawFd, _: &[u8]) -> bool {
    // SAFETY: uname fills a stack struct; the fields are NUL-terminated.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return false;
    }
    let field = |f: &[libc::c_char]| {
        let len = f.iter().position(|&c| c == 0).unwrap_or(f.len());
        // SAFETY: c_char and u8 have the same size; the slice stays within the field.
        unsafe { std::slice::from_raw_parts(f.as_ptr().cast::<u8>(), len) }
    };
    nsexec::write_all(out, field(&uts.nodename))
        && nsexec::write_all(out, b"\n")
        && nsexec::write_all(out, field(&uts.domainname))
}

/// Child step: a NETLINK_ROUTE socket in the network namespace it joined, passed back.
fn netlink_step(out: RawFd, _: &[u8]) -> bool {
    let sock = rtnetlink::raw_socket();
    sock >= 0 && nsexec::send_fd(out, sock)
}

/// Child step: copies the file named by `arg` (NUL-terminated) to the parent.
fn read_file_step(out: RawFd, path: &[u8]) -> bool {
    // SAFETY: `path` ends with NUL (prepared before the fork); reads go to a stack buffer.
    let fd = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    let mut buf = [0u8; 4096];
    loop {
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return n == 0;
        }
        if !nsexec::write_all(out, &buf[..n as usize]) {
            return false;
        }
    }
}

/// The inode of the `link` namespace link (e.g. `ns/user`) under a /proc dir.
fn link_inode(dir: &Path, link: &str) -> Option<u64> {
    fs::metadata(dir.join(link)).ok().map(|m| m.ino())
}

/// Reads `files` from the /proc dir of a process (or thread) whose `link` names the namespace,
/// checked before and after the read so a PID reused meanwhile is never believed. A process
/// that exits or refuses just moves on to the next.
fn read_from_inside(dirs: &[PathBuf], link: &str, ino: u64, files: &[&str]) -> Option<Vec<String>> {
    dirs.iter().find_map(|dir| {
        if link_inode(dir, link) != Some(ino) {
            return None;
        }
        let texts: Option<Vec<String>> = files
            .iter()
            .map(|f| fs::read_to_string(dir.join(f)).ok())
            .collect();
        texts.filter(|_| link_inode(dir, link) == Some(ino))
    })
}

fn member_dirs(roots: &Roots, access: &Access) -> Vec<PathBuf> {
    access
        .members
        .iter()
        .map(|pid| roots.proc.join(pid.to_string()))
        .collect()
}

fn user_detail(roots: &Roots, access: &Access) -> Result<NsDetail, String> {
    // The maps of a user namespace are in the /proc files of any process (or thread) in it.
    let mut dirs = member_dirs(roots, access);
    dirs.extend(access.holders.iter().filter_map(|h| match h {
        HolderSample::Thread { pid, tid } => Some(roots.proc.join(format!("{pid}/task/{tid}"))),
        _ => None,
    }));
    let texts = read_from_inside(
        &dirs,
        "ns/user",
        access.ns.ino,
        &["uid_map", "gid_map", "setgroups"],
    )
    .ok_or_else(|| access.no_process("uid_map/gid_map"))?;
    Ok(NsDetail::User {
        uid_map: parse_id_map(&texts[0]),
        gid_map: parse_id_map(&texts[1]),
        setgroups: Some(texts[2].trim().to_string()),
        // Read from inside the namespace itself, the kernel writes its parent's ids.
        seen_from: fs::metadata(roots.proc.join("self/ns/user"))
            .ok()
            .map(|m| m.ino())
            .filter(|&reader| reader != access.ns.ino),
    })
}

fn mnt_detail(roots: &Roots, access: &Access) -> Result<NsDetail, String> {
    let dirs = member_dirs(roots, access);
    let text = read_from_inside(&dirs, "ns/mnt", access.ns.ino, &["mountinfo"])
        .and_then(|mut t| t.pop())
        .ok_or_else(|| access.no_process("mountinfo"))?;
    let root_line = text.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let fields: Vec<&str> = left.split(' ').collect();
        let mut right = right.split(' ');
        (fields.get(4) == Some(&"/")).then(|| {
            (
                fields[3].to_string(),
                right.next().unwrap_or("").to_string(),
                right.next().unwrap_or("").to_string(),
            )
        })
    });
    let (root, root_fstype, root_source) = root_line.unwrap_or_default();
    Ok(NsDetail::Mnt {
        root_source,
        root_fstype,
        root,
        mounts: text.lines().count(),
    })
}

fn time_detail(roots: &Roots, access: &Access) -> Result<NsDetail, String> {
    // timens_offsets shows a process's time_for_children namespace: use a process whose
    // time_for_children is this one.
    let pids = access
        .holders
        .iter()
        .filter_map(HolderSample::pid)
        .chain(access.members.iter().copied());
    for pid in pids {
        let dir = roots.proc.join(pid.to_string());
        if link_inode(&dir, "ns/time_for_children") != Some(access.ns.ino) {
            continue;
        }
        if let Some((monotonic, boottime)) = fs::read_to_string(dir.join("timens_offsets"))
            .ok()
            .as_deref()
            .and_then(parse_timens_offsets)
        {
            return Ok(NsDetail::Time {
                monotonic,
                boottime,
            });
        }
    }
    Err(access.no_process("timens_offsets"))
}

fn cgroup_detail(roots: &Roots, access: &Access) -> Result<NsDetail, String> {
    let fd = access.open(roots)?;
    // Any process's cgroup, seen from both sides; ours as the last resort.
    let readers = access
        .members
        .iter()
        .map(|p| p.to_string())
        .chain(["self".to_string()]);
    let mut best = Vec::new();
    for reader in readers {
        let path = roots.proc.join(format!("{reader}/cgroup"));
        let Ok(outside) = fs::read_to_string(&path) else {
            continue;
        };
        let mut arg = path.as_os_str().as_encoded_bytes().to_vec();
        arg.push(0);
        // A setns refusal ends it; a reader that exited meanwhile just moves on.
        let inside = match run_in_namespace(fd.as_fd(), libc::CLONE_NEWCGROUP, read_file_step, &arg)
        {
            Ok(inside) => inside,
            Err(e @ NsExecError::Setns) => return Err(e.to_string()),
            Err(_) => continue,
        };
        let inside = String::from_utf8_lossy(&inside.bytes);
        let roots = cgroup_ns_roots(&outside, &inside);
        // A reader moved out of its root since shows `/..` there: another may show it.
        let whole = roots.len() == proc_cgroup(&outside).len();
        if whole || roots.len() > best.len() {
            best = roots;
        }
        if whole {
            break;
        }
    }
    if !best.is_empty() {
        return Ok(NsDetail::Cgroup { roots: best });
    }
    Err(format!(
        "cgroup:[{}]: no process shows where its root is",
        access.ns.ino
    ))
}

/// Reads what `access.ns` looks like from inside. Pid namespaces are described from the
/// process list instead (model::namespace::pid_detail).
pub fn read_detail(roots: &Roots, access: &Access) -> Result<NsDetail, String> {
    match access.ns.kind {
        NsType::User => user_detail(roots, access),
        NsType::Mnt => mnt_detail(roots, access),
        NsType::Time => time_detail(roots, access),
        NsType::Cgroup => cgroup_detail(roots, access),
        NsType::Uts => {
            let fd = access.open(roots)?;
            let out = run_in_namespace(fd.as_fd(), libc::CLONE_NEWUTS, uname_step, &[])
                .map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&out.bytes);
            let (hostname, domainname) = text.split_once('\n').unwrap_or((&text, ""));
            Ok(NsDetail::Uts {
                hostname: hostname.to_string(),
                domainname: domainname.to_string(),
            })
        }
        NsType::Net => {
            let fd = access.open(roots)?;
            let mut out = run_in_namespace(fd.as_fd(), libc::CLONE_NEWNET, netlink_step, &[])
                .map_err(|e| e.to_string())?;
            let sock = out
                .fds
                .pop()
                .ok_or("no netlink socket came back from the namespace")?;
            let interfaces = NetlinkRoute::from_socket(sock)
                .interfaces()
                .ok_or("the kernel did not list the interfaces")?;
            Ok(NsDetail::Net { interfaces })
        }
        NsType::Ipc => Ok(NsDetail::Ipc),
        NsType::Pid => Err("pid namespaces are described from the process list".into()),
    }
}

/// Describes `ns`, reached through the processes and holders one sample found in it.
pub fn describe(roots: &Roots, sample: &Sample, ns: NsRef) -> Result<NsDetail, String> {
    let members: Vec<i32> = sample
        .procs
        .iter()
        .filter(|p| p.ns[ns.kind.index()] == Some(ns.ino))
        .map(|p| p.pid)
        .collect();
    let holders: Vec<HolderSample> = sample
        .held
        .iter()
        .filter(|h| h.ns == ns)
        .map(|h| h.holder.clone())
        .collect();
    read_detail(
        roots,
        &Access {
            ns,
            members: &members,
            holders: &holders,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_maps_from_proc_text() {
        // Captured from /proc/PID/uid_map of `unshare --map-root-user` and of the host.
        assert_eq!(
            parse_id_map("         0          0 4294967295\n"),
            vec![IdMap {
                inside: 0,
                outside: 0,
                count: 4294967295
            }]
        );
        assert_eq!(
            parse_id_map("         0      65534          1\n"),
            vec![IdMap {
                inside: 0,
                outside: 65534,
                count: 1
            }]
        );
        assert_eq!(parse_id_map(""), vec![]);
    }

    #[test]
    fn timens_offsets_from_proc_text() {
        let text = "monotonic           0         0\nboottime            0         0\n";
        let zero = ClockOffset::default();
        assert_eq!(parse_timens_offsets(text), Some((zero, zero)));
        let moved = "monotonic      86400         0\nboottime          -5 500000000\n";
        let (mono, boot) = parse_timens_offsets(moved).unwrap();
        assert_eq!(
            (mono.seconds, boot.seconds, boot.nanoseconds),
            (86400, -5, 500000000)
        );
    }

    #[test]
    fn cgroup_namespace_root_is_the_outside_path_minus_the_inside_one() {
        assert_eq!(
            cgroup_ns_root("/system.slice/docker-ab.scope", "/").as_deref(),
            Some("/system.slice/docker-ab.scope")
        );
        assert_eq!(cgroup_ns_root("/a/b/c", "/c").as_deref(), Some("/a/b"));
        assert_eq!(cgroup_ns_root("/", "/").as_deref(), Some("/"));
        assert_eq!(cgroup_ns_root("/a", "/../a"), None);
        // A hybrid host: rooted at memory:/a/b, the rest at / (captured shapes).
        let roots = cgroup_ns_roots(
            "4:memory:/a/b\n1:cpu:/\n0::/c\n",
            "4:memory:/\n1:cpu:/\n0::/\n",
        );
        let found: Vec<(u32, &str, &str)> = roots
            .iter()
            .map(|r| (r.hierarchy, r.controllers.as_str(), r.root.as_str()))
            .collect();
        assert_eq!(
            found,
            [(4, "memory", "/a/b"), (1, "cpu", "/"), (0, "", "/c")]
        );
        // Moved out of its root since: that hierarchy is left out.
        assert_eq!(cgroup_ns_roots("0::/a\n", "0::/../a\n"), []);
    }
}
