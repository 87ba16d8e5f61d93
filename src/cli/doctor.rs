//! `nstop doctor`: what this host offers nstop and what is missing, with the fix for each.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::Model;
use crate::model::host::HostMode;
use crate::sys::Roots;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    /// nstop works, with less: the line says what is left out.
    Limited,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub state: State,
    pub found: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn ok(name: &'static str, found: impl Into<String>) -> Check {
    Check {
        name,
        state: State::Ok,
        found: found.into(),
        fix: None,
    }
}

fn limited(name: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        state: State::Limited,
        found: found.into(),
        fix: Some(fix.into()),
    }
}

/// What each capability gives nstop, in the order a user missing them reads them.
const CAPABILITIES: [(caps::Capability, &str); 6] = [
    (
        caps::Capability::CAP_SYS_PTRACE,
        "other users' namespaces, roots and open files",
    ),
    (
        caps::Capability::CAP_DAC_READ_SEARCH,
        "files of every owner under /proc",
    ),
    (caps::Capability::CAP_SYSLOG, "the kernel log's OOM reports"),
    (
        caps::Capability::CAP_SYS_ADMIN,
        "enter, unshare, and the namespace inside views",
    ),
    (
        caps::Capability::CAP_KILL,
        "signals to other users' processes",
    ),
    (
        caps::Capability::CAP_NET_ADMIN,
        "which device programs a cgroup has",
    ),
];

fn privileges() -> Check {
    if crate::sys::is_root() {
        return ok("privileges", "root");
    }
    let held = caps::read(None, caps::CapSet::Effective).unwrap_or_default();
    let missing: Vec<String> = (CAPABILITIES.iter())
        .filter(|(cap, _)| !held.contains(cap))
        .map(|(cap, gives)| format!("{cap} ({gives})"))
        .collect();
    match missing.is_empty() {
        true => ok("privileges", "not root, with every capability nstop uses"),
        false => limited(
            "privileges",
            format!("not root; missing {}", missing.join(", ")),
            "run as root (sudo nstop), or grant the capabilities to the binary (setcap)",
        ),
    }
}

fn cgroups(model: &Model, roots: &Roots) -> Check {
    let hierarchies = &model.host.hierarchies;
    let v2 = hierarchies.iter().find(|h| h.version == 2);
    let v2_controllers = v2.and_then(|h| {
        let text = std::fs::read_to_string(roots.resolve(&h.mount).join("cgroup.controllers"));
        text.ok()
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
    });
    let v1: Vec<String> = (hierarchies.iter())
        .filter(|h| h.version == 1)
        .map(|h| h.label())
        .collect();
    let cgroup2 = |h: &crate::model::sample::HierarchySample| {
        format!(
            "cgroup2 at {} ({})",
            h.mount,
            v2_controllers
                .as_deref()
                .filter(|c| !c.is_empty())
                .unwrap_or("no controllers")
        )
    };
    match (model.host.mode, v2) {
        (HostMode::Unified, Some(h)) => ok("cgroups", format!("cgroup2 only: {}", cgroup2(h))),
        (HostMode::Hybrid, Some(h)) => ok(
            "cgroups",
            format!("hybrid: {}, v1 {}", cgroup2(h), v1.join(" ")),
        ),
        (HostMode::Legacy, _) | (HostMode::Hybrid, None) => {
            ok("cgroups", format!("v1 only: {}", v1.join(" ")))
        }
        _ => limited(
            "cgroups",
            "no cgroup filesystem mounted where nstop looks",
            "mount cgroup2 at /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)",
        ),
    }
}

fn pressure(roots: &Roots) -> Check {
    let readable: Vec<&str> = ["cpu", "memory", "io"]
        .into_iter()
        .filter(|r| std::fs::read_to_string(roots.proc.join("pressure").join(r)).is_ok())
        .collect();
    match readable.len() {
        3 => ok("pressure", "PSI for cpu, memory and io"),
        _ => limited(
            "pressure",
            format!(
                "PSI readable for: {}",
                if readable.is_empty() {
                    "none".into()
                } else {
                    readable.join(" ")
                }
            ),
            "a kernel with CONFIG_PSI; where it is built disabled, boot with psi=1",
        ),
    }
}

fn collector(roots: &Roots) -> Check {
    // The source nstop reads from; a BPF task iterator is not in this build.
    let btf = roots.resolve("/sys/kernel/btf/vmlinux").exists();
    ok(
        "collector",
        format!(
            "/proc (the kernel {} BTF for a BPF task iterator, which this build does not have)",
            if btf { "has" } else { "lacks" }
        ),
    )
}

fn kernel_log(roots: &Roots) -> Check {
    match crate::sys::kmsg::open_kmsg(roots) {
        Ok(_) => ok(
            "kernel log",
            "/dev/kmsg readable: OOM reports with their tasks",
        ),
        Err(e) => {
            let journal = roots.is_live()
                && std::process::Command::new("journalctl")
                    .args(["--version"])
                    .output()
                    .is_ok_and(|o| o.status.success());
            let fallback = match journal {
                true => "the journal's kernel messages are read instead",
                false => "OOM kills are known only from memory.events counters",
            };
            limited(
                "kernel log",
                format!("/dev/kmsg: {e}; {fallback}"),
                "run as root (CAP_SYSLOG), or set kernel.dmesg_restrict=0",
            )
        }
    }
}

fn kernel_features(roots: &Roots) -> Check {
    let release = crate::sys::kernel_release(roots).unwrap_or_else(|| "?".into());
    let mut missing = Vec::new();
    if !crate::sys::kernel_has_pidfd_setns(roots) {
        missing.push("setns by pidfd (5.8): enter joins namespaces one by one");
    }
    if !crate::sys::ns::kernel_has_ns_get_id(roots) {
        missing.push("NS_GET_ID: namespaces are told apart by inode, as lsns does");
    }
    match missing.is_empty() {
        true => ok("kernel", format!("{release}: pidfd setns, NS_GET_ID")),
        false => limited(
            "kernel",
            format!("{release}: no {}", missing.join("; no ")),
            "a newer kernel; nstop works without them",
        ),
    }
}

/// Whether nstop can write in `path`: the nearest existing directory of it is writable.
fn writable(path: &Path) -> Result<(), String> {
    let existing = path
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    rustix::fs::access(existing, rustix::fs::Access::WRITE_OK)
        .map_err(|e| format!("{} is not writable ({e})", existing.display()))
}

fn place(name: &'static str, path: Option<PathBuf>, what: &str, elsewhere: &str) -> Check {
    let Some(path) = path else {
        return limited(
            name,
            "no default (neither XDG_STATE_HOME nor HOME is set)",
            "set HOME, or name a place",
        );
    };
    match writable(&path) {
        Ok(()) => ok(name, format!("{} ({what})", path.display())),
        Err(why) => limited(
            name,
            format!("{}: {why}", path.display()),
            format!("run as root, or {elsewhere}"),
        ),
    }
}

pub fn checks(model: &Model, roots: &Roots) -> Vec<Check> {
    vec![
        privileges(),
        cgroups(model, roots),
        pressure(roots),
        collector(roots),
        kernel_log(roots),
        kernel_features(roots),
        place(
            "audit log",
            crate::ops::audit::path(),
            "a line per change nstop makes",
            "name a writable file in NSTOP_AUDIT_LOG",
        ),
        place(
            "recordings",
            crate::cli::record::default_dir(),
            "nstop record's default",
            "give nstop record --dir a writable directory",
        ),
    ]
}

pub fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        let state = match c.state {
            State::Ok => "ok",
            State::Limited => "LIMITED",
        };
        out += &format!(
            "{state:<7}  {:<11} {}\n",
            c.name,
            crate::text::printable(&c.found)
        );
        if let Some(fix) = &c.fix {
            out += &format!("{:<20} fix: {fix}\n", "");
        }
    }
    out
}
