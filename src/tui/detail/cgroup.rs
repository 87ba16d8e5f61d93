//! A cgroup: charts of memory against its limit, CPU and pressure over the last minutes; every
//! limit, counter and the memory.stat breakdown; its place in the tree and in the other
//! hierarchies; its processes and the namespaces they are in.

use std::collections::BTreeSet;

use crate::collector::Description;
use crate::model::cgroup::{Cgroup, Stall, within};
use crate::model::history::Metric;
use crate::model::process::Process;
use crate::model::sample::NsRef;
use crate::tui::detail::{
    Chart, Link, Plot, Sources, Subject, Unit, Writer, ns_name, pressure_plots, process_links,
    write_findings,
};
use crate::tui::panes::{Scope, Tone, bytes, bytes_or_max, cgroups::hierarchy_label, severity};
use crate::tui::widgets::grid;

const PROCESSES_SHOWN: usize = 30;
const CHILDREN_SHOWN: usize = 40;

fn open(c: &Cgroup) -> Link {
    Link::Open(Subject::Cgroup {
        hierarchy: c.hierarchy,
        path: c.path.clone(),
    })
}

fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".to_owned())
}

/// A limit: its value, or "max" when the file says unlimited.
pub(super) fn write(
    hierarchy: u32,
    path: &str,
    sources: &Sources,
    page: &mut Writer,
) -> (String, Vec<Chart>) {
    let model = sources.model;
    let title = format!("{}:{path}", hierarchy_label(model, hierarchy));
    let Some(c) = model.cgroup(hierarchy, path) else {
        page.note(format!("{title} is gone (removed)"), Tone::Warn);
        return (title, Vec::new());
    };
    let psi_source = pressure_source(c, sources);
    let psi_cgroup = psi_source.map(|(s, _)| s);
    let charts = charts(c, psi_cgroup, sources);

    page.section("Cgroup");
    if let Some(label) = c.workload.label() {
        page.field_tone("workload", label, Tone::Name);
    }
    if let Some(source) = name_source(&c.workload) {
        page.field("named by", source);
    }
    page.link(
        "processes",
        format!(
            "{} here and below (list them)",
            sources.model.processes_below(c).len()
        ),
        Tone::Plain,
        Link::Processes(Scope::Cgroup {
            hierarchy,
            path: path.to_owned(),
        }),
    );
    page.field(
        "directly here",
        crate::text::count(c.nprocs, "process", "processes"),
    );
    if let Some(threads) = c.nthreads {
        page.field("threads", threads.to_string());
    }
    page.field("descendants", c.nr_descendants.to_string());
    if c.frozen == Some(true) {
        page.field_tone("state", "frozen", Tone::Warn);
    }
    let parent = path
        .rsplit_once('/')
        .map(|(up, _)| if up.is_empty() { "/" } else { up })
        .filter(|_| path != "/")
        .and_then(|up| model.cgroup(hierarchy, up));
    if let Some(parent) = parent {
        page.link("parent", parent.path.clone(), Tone::Plain, open(parent));
    }
    let children: Vec<&Cgroup> = model
        .cgroups
        .iter()
        .filter(|o| o.hierarchy == hierarchy && o.depth == c.depth + 1 && within(&o.path, path))
        .collect();
    for (i, child) in children.iter().take(CHILDREN_SHOWN).enumerate() {
        let name = child.path.rsplit('/').next().unwrap_or(&child.path);
        let label = if i == 0 { "children" } else { "" };
        page.link(label, name.to_owned(), Tone::Name, open(child));
    }
    if children.len() > CHILDREN_SHOWN {
        page.note(
            format!("… and {} more children", children.len() - CHILDREN_SHOWN),
            Tone::Dim,
        );
    }
    let twins: Vec<&Cgroup> = model
        .cgroups
        .iter()
        .filter(|o| o.path == c.path && o.hierarchy != hierarchy)
        .collect();
    for (i, twin) in twins.iter().enumerate() {
        let label = if i == 0 { "same path in" } else { "" };
        page.link(
            label,
            hierarchy_label(model, twin.hierarchy),
            Tone::Plain,
            open(twin),
        );
    }

    write_memory(c, page);
    write_cpu(c, page);
    write_io_pids(c, page);
    if let Some(psi) = psi_cgroup.and_then(|s| s.pressure.as_ref()) {
        let from = match psi_source {
            Some((s, why)) if s.hierarchy != hierarchy => format!(" (cgroup2:{}, {why})", s.path),
            _ => String::new(),
        };
        page.section(&format!("Pressure, % of time stalled{from}"));
        let stalls: Vec<(&str, Option<&Stall>)> = [
            ("cpu", &psi.cpu),
            ("memory", &psi.memory),
            ("io", &psi.io),
            ("irq", &psi.irq),
        ]
        .into_iter()
        .filter_map(|(name, stall)| Some((name, Some(stall.as_ref()?))))
        .collect();
        page.grid(&grid::pressure("", &stalls, sources.theme));
    }

    write_next_to_die(c, sources, page);
    page.section("Processes");
    if c.procs.is_empty() {
        page.note("none directly here", Tone::Dim);
    }
    let scope = Scope::Cgroup {
        hierarchy,
        path: path.to_owned(),
    };
    process_links(page, model, &c.procs, PROCESSES_SHOWN, Some(scope));
    write_namespaces(c, sources, page);
    if c.workload.container.is_some() {
        write_isolation(c, sources, page);
    }
    (title, charts)
}

/// Where the pressure of a cgroup's processes is read, and why there: its own PSI, else (a
/// v1 cgroup) the cgroup2 cgroup of the same path (systemd keeps hybrid trees alike), else the
/// one cgroup2 cgroup all its processes are in.
pub(super) fn pressure_source<'a>(
    c: &'a Cgroup,
    sources: &Sources<'a>,
) -> Option<(&'a Cgroup, &'static str)> {
    if c.pressure.is_some() {
        return Some((c, ""));
    }
    let model = sources.model;
    let v2 = |path: &str| {
        model
            .cgroups
            .iter()
            .find(|o| o.hierarchy == 0 && o.path == path && o.pressure.is_some())
    };
    if let Some(twin) = v2(&c.path) {
        return Some((twin, "the same path"));
    }
    let mut paths = c.procs.iter().filter_map(|&pid| {
        let p = model.process(pid)?;
        p.cgroups
            .iter()
            .find(|pc| pc.hierarchy == 0)
            .map(|pc| &*pc.path)
    });
    let first = paths.next()?;
    let shared = paths.all(|p| p == first).then(|| v2(first)).flatten();
    shared.map(|v2| (v2, "where its processes are"))
}

fn charts(c: &Cgroup, psi: Option<&Cgroup>, sources: &Sources) -> Vec<Chart> {
    let history = sources.history;
    let series = |c: &Cgroup, metric| history.cgroup(c, metric);
    let mut charts = Vec::new();
    if let Some(m) = &c.memory {
        let mut title = format!("memory {}", or_dash(bytes(m.current)));
        if let Some(max) = m.max {
            title += &format!(" of {}", bytes_or_max(Some(max)));
        }
        // The limit first, so usage is drawn over it where they meet.
        let mut plots = Vec::new();
        if m.max.is_some() {
            plots.push(Plot {
                name: "limit".into(),
                tone: Tone::Alert,
                points: series(c, Metric::MemoryMax),
            });
        }
        plots.push(Plot {
            name: "used".into(),
            tone: Tone::Name,
            points: series(c, Metric::Memory),
        });
        charts.push(Chart {
            title,
            unit: Unit::Bytes,
            legend: false,
            until: None,
            plots,
        });
    }
    if let Some(cpu) = &c.cpu {
        charts.push(Chart {
            title: format!(
                "CPU {}",
                cpu.usage_percent
                    .map_or("-".to_owned(), |p| format!("{p:.1}%"))
            ),
            unit: Unit::Percent,
            legend: false,
            until: None,
            plots: vec![Plot {
                name: "% of a CPU".into(),
                tone: Tone::Name,
                points: series(c, Metric::Cpu),
            }],
        });
    }
    if let Some(psi) = psi {
        charts.push(Chart {
            title: "pressure (some avg10 %)".into(),
            unit: Unit::Percent,
            legend: false,
            until: None,
            plots: pressure_plots(|metric| series(psi, metric)),
        });
    }
    charts
}

fn write_memory(c: &Cgroup, page: &mut Writer) {
    let Some(m) = &c.memory else { return };
    page.section("Memory");
    let percent = m
        .percent_of_max
        .map_or(String::new(), |p| format!("  ({p:.1}% of the limit)"));
    page.field_tone(
        "in use",
        format!("{}{percent}", or_dash(bytes(m.current))),
        severity(m.percent_of_max, 80.0, 95.0),
    );
    page.field("max", bytes_or_max(m.max));
    for (label, value) in [("high", m.high), ("low", m.low), ("min", m.min)] {
        if value.is_some() {
            page.field(label, bytes_or_max(value));
        }
    }
    for (label, value) in [
        ("peak", m.peak),
        ("swap", m.swap_current),
        ("memory+swap", m.memsw_current),
    ] {
        if value.is_some() {
            page.field(label, or_dash(bytes(value)));
        }
    }
    if m.swap_max.is_some() || m.swap_current.is_some() {
        page.field("swap max", bytes_or_max(m.swap_max));
    }
    if m.memsw_current.is_some() {
        page.field("memory+swap max", bytes_or_max(m.memsw_max));
    }
    if let Some(failcnt) = m.failcnt {
        page.field_tone(
            "hit the limit",
            format!("{failcnt} times (failcnt)"),
            if failcnt > 0 { Tone::Warn } else { Tone::Plain },
        );
    }
    if m.under_oom == Some(true) {
        page.field_tone(
            "under OOM",
            "its tasks wait for memory: the OOM killer is disabled",
            Tone::Alert,
        );
    }
    if let Some(group) = m.oom_group {
        page.field("oom.group", if group { "kill all together" } else { "0" });
    }
    if let Some(e) = &m.events {
        let counts: Vec<String> = [
            ("low", e.low),
            ("high", e.high),
            ("max", e.max),
            ("oom", e.oom),
            ("oom_kill", e.oom_kill),
            ("oom_group_kill", e.oom_group_kill),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.map(|v| format!("{name} {v}")))
        .collect();
        let tone = if e.oom_kill.unwrap_or(0) > 0 {
            Tone::Alert
        } else {
            Tone::Plain
        };
        page.field_tone("events", counts.join(" · "), tone);
    }
    if let Some(s) = &m.stat {
        for (label, value) in [
            ("anon", s.anon),
            ("page cache", s.file),
            ("kernel", s.kernel),
            ("shmem", s.shmem),
            ("sock", s.sock),
            ("slab", s.slab),
        ] {
            if value.is_some() {
                page.field(label, or_dash(bytes(value)));
            }
        }
        for (label, value) in [
            ("refaults", s.workingset_refault),
            ("pages scanned", s.pgscan),
        ] {
            if let Some(v) = value {
                page.field(label, v.to_string());
            }
        }
    }
}

fn write_cpu(c: &Cgroup, page: &mut Writer) {
    let Some(cpu) = &c.cpu else { return };
    page.section("CPU");
    page.field(
        "usage",
        cpu.usage_percent
            .map_or("-".to_owned(), |p| format!("{p:.1}% of one CPU")),
    );
    let secs = |usec: Option<u64>| usec.map(|u| format!("{:.1} s", u as f64 / 1e6));
    if let Some(total) = secs(cpu.usage_usec) {
        let split = secs(cpu.user_usec)
            .zip(secs(cpu.system_usec))
            .map_or(String::new(), |(u, s)| format!(" (user {u}, system {s})"));
        page.field("since created", format!("{total}{split}"));
    }
    let quota = match (cpu.quota_usec, cpu.period_usec) {
        (Some(q), Some(p)) if p > 0 => {
            format!(
                "{q} per {p} µs = {:.0}% of a CPU",
                q as f64 * 100.0 / p as f64
            )
        }
        _ => "max (no quota)".to_owned(),
    };
    page.field("quota", quota);
    if let Some(weight) = cpu.weight {
        let shares = cpu
            .shares
            .map_or(String::new(), |s| format!(" (cpu.shares {s})"));
        page.field("weight", format!("{weight}{shares}"));
    }
    if let Some(t) = cpu.throttled_percent {
        page.field_tone(
            "throttled",
            format!("{t:.1}% of periods"),
            severity(Some(t), 10.0, 50.0),
        );
    }
    if let (Some(n), Some(usec)) = (cpu.nr_throttled, cpu.throttled_usec) {
        page.field(
            "throttled total",
            format!("{n} periods, {:.1} s", usec as f64 / 1e6),
        );
    }
}

fn write_io_pids(c: &Cgroup, page: &mut Writer) {
    if let Some(io) = &c.io {
        page.section("IO");
        let rate = |v: Option<f64>| {
            v.map_or("-".to_owned(), |v| {
                format!("{}/s", or_dash(bytes(Some(v as u64))))
            })
        };
        page.field(
            "read / write",
            format!(
                "{} / {}",
                rate(io.read_bytes_per_sec),
                rate(io.write_bytes_per_sec)
            ),
        );
        for d in &io.devices {
            page.field(
                &d.device,
                format!(
                    "read {} ({} ios) · written {} ({} ios)",
                    or_dash(bytes(Some(d.rbytes))),
                    d.rios,
                    or_dash(bytes(Some(d.wbytes))),
                    d.wios
                ),
            );
        }
    }
    if let Some(pids) = &c.pids {
        page.section("Tasks");
        let max = pids.max.map_or("max".to_owned(), |m| m.to_string());
        page.field(
            "pids",
            format!("{} of {max}", or_dash(pids.current.map(|c| c.to_string()))),
        );
        if let Some(refused) = pids.events_max.filter(|&n| n > 0) {
            page.field_tone("forks refused", refused.to_string(), Tone::Warn);
        }
    }
}

/// Whom the kernel would kill first if the cgroup hit its limit now (highest oom_score), and
/// how close it is.
fn write_next_to_die(c: &Cgroup, sources: &Sources, page: &mut Writer) {
    let Some(m) = c.memory.as_ref().filter(|m| m.current.is_some()) else {
        return;
    };
    page.section("Who would die next");
    match (m.current, m.max) {
        (Some(used), Some(max)) => page.field_tone(
            "headroom",
            format!(
                "{} left of {} ({:.1}% used)",
                or_dash(bytes(Some(max.saturating_sub(used)))),
                bytes_or_max(Some(max)),
                used as f64 * 100.0 / max.max(1) as f64
            ),
            severity(m.percent_of_max, 80.0, 95.0),
        ),
        _ => page.field("headroom", "no limit here: the host's memory is the limit"),
    }
    let scores = match sources.described {
        Some(Description::Cgroup { oom_scores, .. }) => oom_scores,
        _ => return page.note("reading oom_score…", Tone::Dim),
    };
    if scores.is_empty() {
        return page.note("no process here or below", Tone::Dim);
    }
    for (pid, score) in crate::model::oom::ranked(scores.clone())
        .into_iter()
        .take(5)
    {
        let Some(p) = sources.model.process(pid) else {
            continue;
        };
        page.link(
            &format!("oom_score {score}"),
            format!(
                "PID {pid}  {}  rss {}",
                p.comm,
                or_dash(bytes(Some(p.rss_bytes)))
            ),
            Tone::Warn,
            Link::process(p),
        );
    }
}

/// The namespaces its processes are in, other than the host's: what isolates them.
fn write_namespaces(c: &Cgroup, sources: &Sources, page: &mut Writer) {
    let model = sources.model;
    let host = model.host_namespaces();
    let own: BTreeSet<NsRef> = c
        .procs
        .iter()
        .filter_map(|&pid| model.process(pid))
        .flat_map(|p| p.namespaces.iter())
        .filter(|(kind, ino)| host.get(kind) != Some(ino))
        .map(|(&kind, &ino)| NsRef { kind, ino })
        .collect();
    page.section("Namespaces of its processes");
    if own.is_empty() {
        page.note("the host's only", Tone::Dim);
    }
    for ns in own {
        page.link(
            ns.kind.name(),
            ns_name(ns),
            Tone::Isolated,
            Link::Open(Subject::Namespace(ns)),
        );
    }
}

/// What its processes have that a default container's do not, as `nstop audit` says.
fn write_isolation(c: &Cgroup, sources: &Sources, page: &mut Writer) {
    let model = sources.model;
    let pids = model.processes_below(c);
    let processes: Vec<&Process> = pids.iter().filter_map(|&pid| model.process(pid)).collect();
    let walls = match sources.described {
        Some(Description::Cgroup { walls, .. }) => Some(walls),
        _ => None,
    };
    write_findings(page, model, &processes, walls);
}

/// Which runtime state file gave the container's (or monitor's) name.
pub(super) fn name_source(w: &crate::model::workload::Workload) -> Option<String> {
    let c = w.container.as_ref().or(w.monitor.as_ref())?;
    Some(crate::text::printable(c.name_source.as_deref()?).into_owned())
}
