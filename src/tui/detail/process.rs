//! A process: who it is, its PID at every level, and links to each of its namespaces and
//! cgroups, its parent and its children.

use crate::collector::Description;
use crate::model::isolation;
use crate::model::process::Process;
use crate::model::sample::{NsRef, NsType};
use crate::model::security::{self, Seccomp};
use crate::tui::detail::{
    Link, Sources, Subject, Writer, ns_name, pid_tree, process_links, write_findings,
};
use crate::tui::panes::{Tone, bytes, cgroups::hierarchy_label};

const CHILDREN_SHOWN: usize = 30;

/// Its credentials, capabilities, seccomp, LSM and root, and who may trace it and where its
/// crash goes; and, where it is contained, what is weaker than a default container (as
/// `nstop audit PID` says).
fn write_privileges(p: &Process, sources: &Sources, page: &mut Writer) {
    let Some(s) = &p.security else {
        return;
    };
    page.section("Privileges");
    page.field("runs as", s.who());
    for (label, mask) in [
        ("capabilities", s.caps.effective),
        ("bounding set", s.caps.bounding),
        ("ambient", s.caps.ambient),
    ] {
        page.field(label, security::describe(mask));
    }
    let seccomp = match (s.seccomp, s.seccomp_filters) {
        (Some(Seccomp::Filter), Some(n)) => {
            format!("filter ({})", crate::text::count(n, "filter", "filters"))
        }
        (Some(Seccomp::Filter), None) => "filter".to_owned(),
        (Some(Seccomp::Strict), _) => "strict".to_owned(),
        (Some(Seccomp::Disabled), _) => "disabled".to_owned(),
        (None, _) => "not in this kernel".to_owned(),
    };
    page.field("seccomp", seccomp);
    page.field("no_new_privs", if s.no_new_privs { "on" } else { "off" });
    page.field(
        "LSM",
        s.lsm.as_deref().map_or("none".to_owned(), |l| {
            crate::text::printable(l).into_owned()
        }),
    );
    page.field(
        "root directory",
        match s.host_root {
            Some(true) => "the host's /",
            Some(false) => "its own (chroot or pivot_root)",
            None => "unknown",
        },
    );
    let model = sources.model;
    if let Some(system) = &model.host.system {
        let rule = crate::model::host::ptrace_rule(system.ptrace_scope);
        let scope = system
            .ptrace_scope
            .map_or("no yama".into(), |s| format!("yama ptrace_scope {s}"));
        page.field("traced by", format!("{rule} ({scope})"));
        let core = match system.core_pattern.as_deref() {
            Some(pipe) if pipe.starts_with('|') => {
                format!("piped to a program on the host: {pipe}")
            }
            Some(file) => format!("written to {file} (relative to its directory)"),
            None => "unknown".to_owned(),
        };
        page.field("core dumps", crate::text::printable(&core).into_owned());
    }
    if !isolation::contained(model, p) {
        return;
    }
    let walls = match sources.described {
        Some(Description::Walls(walls)) => Some(walls),
        _ => None,
    };
    write_findings(page, model, &[p], walls);
}

pub(super) fn write(pid: i32, start_time: u64, sources: &Sources, page: &mut Writer) -> String {
    let model = sources.model;
    let Some(p) = model.process(pid).filter(|p| p.start_time == start_time) else {
        page.note(format!("PID {pid} has exited"), Tone::Warn);
        return format!("PID {pid}");
    };
    let title = format!("PID {pid} {}", p.comm);

    page.section("Process");
    page.field("command", p.command.clone());
    page.field("user", format!("{} (uid {})", p.user_name(), p.uid));
    match model.process(p.ppid) {
        Some(parent) => page.link(
            "parent",
            format!("PID {}  {}", parent.pid, parent.command),
            Tone::Plain,
            Link::process(parent),
        ),
        None => page.field("parent", format!("PID {}", p.ppid)),
    }
    page.field("threads", p.threads.to_string());
    page.field(
        "CPU",
        p.cpu_percent
            .map_or("-".into(), |c| format!("{c:.1}% of one CPU")),
    );
    page.field(
        "resident memory",
        bytes(Some(p.rss_bytes)).unwrap_or_default(),
    );

    let parents = model.pid_parents();
    if let Some(&own) = p.namespaces.get(&NsType::Pid) {
        let chain = pid_tree::chain(&parents, own);
        page.section("PID at every level");
        page.wrapped(
            pid_tree::levels(&p.nspid, &chain)
                .iter()
                .map(String::as_str),
            Tone::Isolated,
        );
        page.link(
            "",
            "the nested PID namespaces (teaching view)",
            Tone::Name,
            Link::Open(Subject::PidTree {
                ns: own,
                focus: Some(pid),
            }),
        );
    }

    page.section("Namespaces");
    if p.namespaces.is_empty() {
        page.note("unreadable (permission denied)", Tone::Warn);
    }
    let host = model.host_namespaces();
    for (&kind, &ino) in &p.namespaces {
        let ns = NsRef { kind, ino };
        let (what, tone) = if host.get(&kind) == Some(&ino) {
            ("host", Tone::Dim)
        } else {
            ("own", Tone::Isolated)
        };
        page.link(
            kind.name(),
            format!("{:<22} {what}", ns_name(ns)),
            tone,
            Link::Open(Subject::Namespace(ns)),
        );
    }

    page.section("Cgroups");
    if p.cgroups.is_empty() {
        page.note("not known (no cgroup filesystem read)", Tone::Dim);
    }
    for c in p.cgroups.iter() {
        let label = hierarchy_label(model, c.hierarchy);
        let subject = Subject::Cgroup {
            hierarchy: c.hierarchy,
            path: c.path.to_string(),
        };
        match model.cgroup(c.hierarchy, &c.path) {
            Some(_) => page.link(&label, c.path.to_string(), Tone::Name, Link::Open(subject)),
            None => page.field(&label, c.path.to_string()),
        }
    }

    write_privileges(p, sources, page);

    let children: Vec<i32> = model
        .processes
        .iter()
        .filter(|c| c.ppid == pid && c.start_time >= p.start_time)
        .map(|c| c.pid)
        .collect();
    if !children.is_empty() {
        page.section(&format!("Children ({})", children.len()));
        process_links(page, model, &children, CHILDREN_SHOWN, None);
    }
    title
}
