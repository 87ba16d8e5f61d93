//! A namespace: what lsns knows, its place among the others (parent, children, owner, what a
//! user namespace owns), what keeps it alive, and what it looks like from inside.

use crate::collector::Description;
use crate::model::sample::{HolderSample, IdMap, NsDetail, NsRef, NsType};
use crate::tui::detail::{Link, Sources, Subject, Writer, ns_name, process_links};
use crate::tui::panes::{Scope, Tone};

/// Member processes listed on the page; the Processes screen has them all.
const MEMBERS_SHOWN: usize = 50;

fn open(ns: NsRef) -> Link {
    Link::Open(Subject::Namespace(ns))
}

pub(super) fn write(ns: NsRef, sources: &Sources, page: &mut Writer) -> String {
    let model = sources.model;
    let title = ns_name(ns);
    let Some(n) = model.namespace(ns) else {
        page.note(
            format!("{title} is gone: no process, fd or mount holds it any more"),
            Tone::Warn,
        );
        return title;
    };
    let host = model.host_namespaces().get(&ns.kind) == Some(&ns.ino);

    page.section("Namespace");
    page.field("type", ns.kind.to_string());
    page.field_tone(
        "inode",
        format!("{}{}", ns.ino, if host { "  (the host's)" } else { "" }),
        if host { Tone::Plain } else { Tone::Isolated },
    );
    if let Some(id) = n.id {
        page.field("id", id.to_string());
    }
    page.link(
        "processes",
        format!("{} (list them)", n.nprocs()),
        Tone::Plain,
        Link::Processes(Scope::Namespace(ns)),
    );
    if let Some(path) = &n.path {
        page.field("path", path.clone());
    }
    if let Some(id) = n.netnsid.filter(|&id| id >= 0) {
        page.field("netnsid", id.to_string());
    }
    let pid_parents = (ns.kind == NsType::Pid).then(|| model.pid_parents());
    let parent = match &pid_parents {
        Some(parents) => parents.get(&ns.ino).copied(),
        None => n.parent,
    };
    if let Some(parent) = parent {
        let parent = NsRef {
            kind: ns.kind,
            ino: parent,
        };
        page.link("parent", ns_name(parent), Tone::Plain, open(parent));
    }
    let children: Vec<NsRef> = model
        .namespaces
        .iter()
        .filter(|c| c.kind == ns.kind)
        .filter(|c| match &pid_parents {
            Some(parents) => parents.get(&c.ns) == Some(&ns.ino),
            None => c.parent == Some(ns.ino),
        })
        .map(|c| c.ns_ref())
        .collect();
    for (i, child) in children.iter().enumerate() {
        let label = if i == 0 { "children" } else { "" };
        page.link(label, ns_name(*child), Tone::Isolated, open(*child));
    }
    if let Some(owner) = n.owner {
        let owner = NsRef {
            kind: NsType::User,
            ino: owner,
        };
        page.link("owner", ns_name(owner), Tone::Plain, open(owner));
    }
    if let Some(uid) = n.owner_uid {
        let name = n.owner_user.clone().unwrap_or_else(|| uid.to_string());
        page.field("created by", format!("uid {uid} ({name})"));
    }
    for (i, path) in n.nsfs.iter().enumerate() {
        page.field(if i == 0 { "bind mounts" } else { "" }, path.clone());
    }

    match ns.kind {
        NsType::Pid => write_pid(ns, sources, page),
        NsType::User => write_owned(ns, sources, page),
        _ => {}
    }
    write_inside(ns, sources, page);

    let holders: Vec<&HolderSample> = n
        .holders
        .iter()
        .filter(|h| !h.mounted_at_reader(model.reader_mnt_ns))
        .collect();
    if !holders.is_empty() {
        page.section("Also held by");
        for holder in holders {
            let process = holder.pid().and_then(|pid| model.process(pid));
            match process {
                Some(p) => page.link(
                    "",
                    format!("{}  {}", holder.label(model.reader_mnt_ns), p.command),
                    Tone::Isolated,
                    Link::process(p),
                ),
                None => page.field("", holder.label(model.reader_mnt_ns)),
            }
        }
    }
    page.section("Processes");
    if n.pids.is_empty() {
        page.note("none: only the holders above keep it alive", Tone::Dim);
    }
    process_links(
        page,
        model,
        &n.pids,
        MEMBERS_SHOWN,
        Some(Scope::Namespace(ns)),
    );
    title
}

fn write_pid(ns: NsRef, sources: &Sources, page: &mut Writer) {
    let model = sources.model;
    let Some(n) = model.namespace(ns) else {
        return;
    };
    let NsDetail::Pid { init, processes } = model.pid_detail(n) else {
        return;
    };
    page.section("Inside");
    match init.and_then(|pid| model.process(pid)) {
        Some(p) => page.link(
            "init (PID 1)",
            format!("host PID {}  {}", p.pid, p.command),
            Tone::Plain,
            Link::process(p),
        ),
        None => page.field_tone("init (PID 1)", "not alive", Tone::Dim),
    }
    let processes = crate::text::count(processes, "process", "processes");
    page.field("here and below", processes);
    page.link(
        "PID levels",
        "every process with its PID at each level (teaching view)",
        Tone::Name,
        Link::Open(Subject::PidTree {
            ns: ns.ino,
            focus: None,
        }),
    );
}

/// What a user namespace owns, by type: every namespace made while it was the creator's.
fn write_owned(ns: NsRef, sources: &Sources, page: &mut Writer) {
    let owned: Vec<NsRef> = sources
        .model
        .namespaces
        .iter()
        .filter(|o| o.owner == Some(ns.ino) && o.kind != NsType::User)
        .map(|o| o.ns_ref())
        .collect();
    page.section(&format!("Owns {} namespaces", owned.len()));
    for kind in NsType::ALL {
        let of_kind: Vec<&NsRef> = owned.iter().filter(|o| o.kind == kind).collect();
        for (i, o) in of_kind.iter().enumerate() {
            let label = if i == 0 { kind.name() } else { "" };
            page.link(label, ns_name(**o), Tone::Plain, open(**o));
        }
    }
}

fn id_map_lines(page: &mut Writer, label: &str, map: &[IdMap]) {
    if map.is_empty() {
        page.field_tone(label, "unmapped (no id written yet)", Tone::Warn);
    }
    for (i, m) in map.iter().enumerate() {
        let text = format!(
            "{} → {} outside ({} id{})",
            m.inside,
            m.outside,
            m.count,
            if m.count == 1 { "" } else { "s" }
        );
        page.field(if i == 0 { label } else { "" }, text);
    }
}

/// What the collector read inside the namespace.
fn write_inside(ns: NsRef, sources: &Sources, page: &mut Writer) {
    if !matches!(
        ns.kind,
        NsType::User | NsType::Net | NsType::Uts | NsType::Mnt | NsType::Time | NsType::Cgroup
    ) {
        return;
    }
    page.section("Inside");
    let detail = match sources.described {
        Some(Description::Inside(Err(e))) => {
            return page.note(format!("could not look inside: {e}"), Tone::Warn);
        }
        Some(Description::Inside(Ok(detail))) => detail,
        _ => return page.note("reading…", Tone::Dim),
    };
    match detail {
        NsDetail::Uts {
            hostname,
            domainname,
        } => {
            page.field("hostname", hostname.clone());
            page.field("domainname", domainname.clone());
        }
        NsDetail::User {
            uid_map,
            gid_map,
            setgroups,
            seen_from,
        } => {
            id_map_lines(page, "uid_map", uid_map);
            id_map_lines(page, "gid_map", gid_map);
            if let Some(setgroups) = setgroups {
                page.field("setgroups", setgroups.clone());
            }
            page.note(IdMap::seen_from_note(*seen_from), Tone::Dim);
        }
        NsDetail::Net { interfaces } => {
            if interfaces.is_empty() {
                page.note("no interfaces", Tone::Dim);
            }
            for i in interfaces {
                let tone = if i.up { Tone::Plain } else { Tone::Dim };
                let mut text = format!(
                    "{} {}",
                    if i.up { "up" } else { "down" },
                    i.state.to_lowercase()
                );
                if let Some(mtu) = i.mtu {
                    text += &format!("  mtu {mtu}");
                }
                if let Some(mac) = &i.mac {
                    text += &format!("  {mac}");
                }
                page.field_tone(&i.name, text, tone);
                for address in &i.addresses {
                    page.field("", address.clone());
                }
            }
        }
        NsDetail::Mnt {
            root_source,
            root_fstype,
            root,
            mounts,
        } => {
            page.field(
                "/ is",
                format!("{root_source} ({root_fstype}), root {root}"),
            );
            page.field("mounts", mounts.to_string());
        }
        NsDetail::Time {
            monotonic,
            boottime,
        } => {
            for (label, offset) in [("monotonic", monotonic), ("boottime", boottime)] {
                let seconds = offset.seconds as f64 + offset.nanoseconds as f64 / 1e9;
                page.field(label, format!("{seconds:+} s from the host's clock"));
            }
        }
        NsDetail::Cgroup { roots } => {
            for r in roots {
                let label = format!("/ in {}", r.label());
                match sources.model.cgroup(r.hierarchy, &r.root) {
                    Some(_) => page.link(
                        &label,
                        r.root.clone(),
                        Tone::Name,
                        Link::Open(Subject::Cgroup {
                            hierarchy: r.hierarchy,
                            path: r.root.clone(),
                        }),
                    ),
                    None => page.field(&label, r.root.clone()),
                }
            }
        }
        NsDetail::Pid { .. } | NsDetail::Ipc => {}
    }
}
