//! What `nstop serve` exposes: one tick's model, and what the server keeps across ticks, as
//! metric families that prometheus-client encodes in the format a scrape asked for. Every
//! label set is bounded: no PID, no free text that grows (a cgroup's path and a container's
//! name live as long as they do).

use std::collections::BTreeMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use crate::model::Model;
use crate::model::cgroup::Cgroup;
use crate::model::isolation::Finding;
use crate::model::oom::OomEvent;
use crate::model::sample::{HolderSample, NsType};
use crate::model::workload::{Container, Workload};
use crate::text::printable;

pub type Labels = Vec<(&'static str, String)>;

/// One family: its name without unit or `_total` (the encoder adds them), help, unit, type.
struct Family {
    name: &'static str,
    help: &'static str,
    unit: Option<Unit>,
    kind: MetricType,
}

impl Family {
    const fn gauge(name: &'static str, help: &'static str, unit: Option<Unit>) -> Family {
        Family {
            name,
            help,
            unit,
            kind: MetricType::Gauge,
        }
    }

    const fn counter(name: &'static str, help: &'static str, unit: Option<Unit>) -> Family {
        Family {
            name,
            help,
            unit,
            kind: MetricType::Counter,
        }
    }

    /// The family and each of its samples.
    fn write(
        &self,
        encoder: &mut DescriptorEncoder,
        samples: impl IntoIterator<Item = (Labels, f64)>,
    ) -> std::fmt::Result {
        let mut metric =
            encoder.encode_descriptor(self.name, self.help, self.unit.as_ref(), self.kind)?;
        for (labels, value) in samples {
            let mut sample = metric.encode_family(&labels)?;
            match self.kind {
                MetricType::Counter => sample.encode_counter::<NoLabelSet, _, f64>(&value, None)?,
                _ => sample.encode_gauge(&value)?,
            }
        }
        Ok(())
    }
}

/// A cgroup value: the family and how it reads from the cgroup.
struct CgroupValue {
    family: Family,
    read: fn(&Cgroup) -> Option<f64>,
}

const USEC: f64 = 1e-6;

/// The cgroup values that need no label beyond the cgroup's.
const CGROUP_VALUES: [CgroupValue; 10] = [
    CgroupValue {
        family: Family::gauge(
            "nstop_cgroup_memory_current",
            "Memory in use (memory.current; v1 memory.usage_in_bytes)",
            Some(Unit::Bytes),
        ),
        read: |c| Some(c.memory.as_ref()?.current? as f64),
    },
    CgroupValue {
        family: Family::gauge(
            "nstop_cgroup_memory_max",
            "Memory limit (memory.max; v1 memory.limit_in_bytes); absent when unlimited",
            Some(Unit::Bytes),
        ),
        read: |c| Some(c.memory.as_ref()?.max? as f64),
    },
    CgroupValue {
        family: Family::gauge(
            "nstop_cgroup_memory_high",
            "Memory throttling threshold (memory.high); absent when unlimited",
            Some(Unit::Bytes),
        ),
        read: |c| Some(c.memory.as_ref()?.high? as f64),
    },
    CgroupValue {
        family: Family::gauge(
            "nstop_cgroup_memory_peak",
            "Most memory in use since it was made (memory.peak; v1 memory.max_usage_in_bytes)",
            Some(Unit::Bytes),
        ),
        read: |c| Some(c.memory.as_ref()?.peak? as f64),
    },
    CgroupValue {
        family: Family::gauge(
            "nstop_cgroup_swap_current",
            "Swap in use (memory.swap.current)",
            Some(Unit::Bytes),
        ),
        read: |c| Some(c.memory.as_ref()?.swap_current? as f64),
    },
    CgroupValue {
        family: Family::counter(
            "nstop_cgroup_cpu_usage",
            "CPU time used (cpu.stat usage_usec; v1 cpuacct.usage)",
            Some(Unit::Seconds),
        ),
        read: |c| Some(c.cpu.as_ref()?.usage_usec? as f64 * USEC),
    },
    CgroupValue {
        family: Family::counter(
            "nstop_cgroup_cpu_throttled",
            "Time its CPU quota held it back (cpu.stat throttled_usec)",
            Some(Unit::Seconds),
        ),
        read: |c| Some(c.cpu.as_ref()?.throttled_usec? as f64 * USEC),
    },
    CgroupValue {
        family: Family::gauge(
            "nstop_cgroup_cpu_quota",
            "CPUs its quota allows (cpu.max quota / period); absent when unlimited",
            None,
        ),
        read: |c| {
            let cpu = c.cpu.as_ref()?;
            Some(cpu.quota_usec? as f64 / cpu.period_usec.filter(|&p| p > 0)? as f64)
        },
    },
    CgroupValue {
        family: Family::gauge(
            "nstop_cgroup_pids_current",
            "Tasks in it (pids.current)",
            None,
        ),
        read: |c| Some(c.pids.as_ref()?.current? as f64),
    },
    CgroupValue {
        family: Family::gauge(
            "nstop_cgroup_pids_max",
            "Task limit (pids.max); absent when unlimited",
            None,
        ),
        read: |c| Some(c.pids.as_ref()?.max? as f64),
    },
];

const IO: Family = Family::counter(
    "nstop_cgroup_io",
    "Bytes read and written on every device (io.stat rbytes, wbytes; v1 blkio)",
    Some(Unit::Bytes),
);
const PRESSURE: Family = Family::counter(
    "nstop_cgroup_pressure",
    "Time stalled for a resource (PSI total=, some or full): rate() is the share of time",
    Some(Unit::Seconds),
);
const MEMORY_EVENTS: Family = Family::counter(
    "nstop_cgroup_memory_events",
    "memory.events counters, its descendants' included: oom, oom_kill, high, max",
    None,
);
const NAMESPACES: Family = Family::gauge(
    "nstop_namespaces",
    "Namespaces by type and what keeps each alive: processes, bind_mount, fd, socket, children (pid_for_children) or ghost (only a child namespace or none known)",
    None,
);
const DEPTH: Family = Family::gauge(
    "nstop_processes_by_namespace_depth",
    "Processes by how deep their pid or user namespace is nested (0: the host's)",
    None,
);
const OOM_KILLS: Family = Family::counter(
    "nstop_oom_kills",
    "OOM kills seen since nstop started, from the kernel log (or memory.events where the log said nothing): by the cgroup that hit its limit",
    None,
);
const LAST_KILL_TIME: Family = Family::gauge(
    "nstop_oom_last_kill_timestamp",
    "When the newest OOM kill of each label set happened (Unix time): time() minus it is how long ago",
    Some(Unit::Seconds),
);
const LAST_KILL: Family = Family {
    name: "nstop_oom_last_kill",
    help: "The newest OOM kill: its cgroup, container, constraint and the victim's command",
    unit: None,
    kind: MetricType::Info,
};
const ISOLATION: Family = Family::gauge(
    "nstop_container_isolation_findings",
    "Findings of `nstop audit` for each container, by check and severity (info, warn, alert)",
    None,
);
const COLLECTION: Family = Family::gauge(
    "nstop_collection_duration",
    "How long the newest sample took to read and model",
    Some(Unit::Seconds),
);
const COLLECTIONS: Family = Family::counter(
    "nstop_collections",
    "Samples taken, by result (ok, error)",
    None,
);
const SAMPLE_AGE: Family = Family::gauge(
    "nstop_sample_age",
    "Time since the sample this scrape shows was taken",
    Some(Unit::Seconds),
);
const COLLECTOR: Family = Family {
    name: "nstop_collector",
    help: "How nstop reads the host (source: proc) and its version",
    unit: None,
    kind: MetricType::Info,
};

/// The labels of a recognised workload: its container's name (else its short id), runtime,
/// pod and unit; empty where unknown.
fn workload_labels(w: &Workload) -> Labels {
    let container = w.container.as_ref();
    vec![
        (
            "container",
            container.map(container_name).unwrap_or_default(),
        ),
        (
            "runtime",
            container.map(|c| c.runtime.clone()).unwrap_or_default(),
        ),
        (
            "pod",
            w.pod.as_ref().map(|p| p.uid.clone()).unwrap_or_default(),
        ),
        (
            "unit",
            printable(w.unit.as_deref().unwrap_or_default()).into_owned(),
        ),
    ]
}

fn container_name(c: &Container) -> String {
    let name = match (c.name.as_deref(), c.id.as_deref()) {
        (Some(name), _) => name,
        (None, Some(id)) => id.get(..12).unwrap_or(id),
        (None, None) => "",
    };
    printable(name).into_owned()
}

/// A cgroup's labels: its hierarchy (`cgroup2`, or a v1 hierarchy's controllers), path, and
/// workload.
pub fn cgroup_labels(model: &Model, c: &Cgroup) -> Labels {
    let hierarchy = (model.host.hierarchies.iter())
        .find(|h| h.id == c.hierarchy)
        .map_or_else(String::new, |h| h.label());
    let mut labels = vec![
        ("hierarchy", hierarchy),
        ("path", printable(&c.path).into_owned()),
    ];
    labels.extend(workload_labels(&c.workload));
    labels
}

fn has_limit(c: &Cgroup) -> bool {
    let memory = c.memory.as_ref();
    memory.is_some_and(|m| m.max.is_some() || m.high.is_some())
        || c.cpu.as_ref().is_some_and(|cpu| cpu.quota_usec.is_some())
        || c.pids.as_ref().is_some_and(|p| p.max.is_some())
}

/// The cgroups exposed: each hierarchy's root, the `top` by memory in use, and every one with
/// a limit or a recognised workload, in the model's order.
pub fn exposed_cgroups(model: &Model, top: usize) -> Vec<&Cgroup> {
    let current = |c: &Cgroup| c.memory.as_ref().and_then(|m| m.current);
    let mut by_memory: Vec<(usize, u64)> = (model.cgroups.iter().enumerate())
        .filter_map(|(i, c)| Some((i, current(c)?)))
        .collect();
    by_memory.sort_unstable_by_key(|&(_, bytes)| std::cmp::Reverse(bytes));
    let mut chosen = vec![false; model.cgroups.len()];
    for (i, _) in by_memory.into_iter().take(top) {
        chosen[i] = true;
    }
    let named = |w: &Workload| w.container.is_some() || w.pod.is_some() || w.unit.is_some();
    (model.cgroups.iter().zip(chosen))
        .filter(|(c, chosen)| *chosen || c.depth == 0 || has_limit(c) || named(&c.workload))
        .map(|(c, _)| c)
        .collect()
}

/// What keeps a namespace alive, as the `held_by` label says it: its processes first.
fn held_by(ns: &crate::model::namespace::Namespace) -> &'static str {
    if !ns.pids.is_empty() {
        return "processes";
    }
    let rank = |h: &HolderSample| match h {
        HolderSample::Thread { .. } => (0, "processes"),
        HolderSample::BindMount { .. } => (1, "bind_mount"),
        HolderSample::Fd { .. } => (2, "fd"),
        HolderSample::Socket { .. } => (3, "socket"),
        HolderSample::ForChildren { .. } => (4, "children"),
        HolderSample::ParentOf { .. } | HolderSample::OwnerOf { .. } => (5, "ghost"),
    };
    ns.holders
        .iter()
        .map(rank)
        .min()
        .map_or("ghost", |(_, label)| label)
}

/// How deep each user namespace is nested, by its parent links (NS_GET_PARENT).
fn user_depths(model: &Model) -> BTreeMap<u64, usize> {
    let parents: BTreeMap<u64, Option<u64>> = (model.namespaces.iter())
        .filter(|ns| ns.kind == NsType::User)
        .map(|ns| (ns.ns, ns.parent))
        .collect();
    let depth = |mut ns: u64| {
        let mut depth = 0;
        // A parent the kernel would not name (EPERM above the reader's view) ends the chain.
        // Bounded: the kernel nests at most 32 levels; a cycle in damaged input stops too.
        while let Some(Some(parent)) = parents.get(&ns) {
            depth += 1;
            ns = *parent;
            if depth > 64 {
                break;
            }
        }
        depth
    };
    parents.keys().map(|&ns| (ns, depth(ns))).collect()
}

/// The OOM kill's labels: the cgroup that hit its limit (`/` for the whole host), its
/// container (else the victim's), and the constraint (`memcg`, `none`, `cpuset`,
/// `memory_policy`).
fn oom_labels(e: &OomEvent) -> Labels {
    let cgroup = e.oom_memcg.as_deref().or(e.task_memcg.as_deref());
    let workload = e.oom_workload.as_ref().or(e.task_workload.as_ref());
    let container = workload.and_then(|w| w.container.as_ref());
    let constraint = e.constraint.as_deref().map(|c| {
        c.strip_prefix("CONSTRAINT_")
            .unwrap_or(c)
            .to_ascii_lowercase()
    });
    vec![
        ("cgroup", printable(cgroup.unwrap_or("/")).into_owned()),
        (
            "container",
            container.map(container_name).unwrap_or_default(),
        ),
        (
            "constraint",
            printable(constraint.as_deref().unwrap_or("unknown")).into_owned(),
        ),
    ]
}

/// The OOM kills counted since the server started (the kernel log's since boot at first),
/// when the newest of each label set happened, and the newest of all; kept across ticks, as a
/// tick's model holds only the newest events.
#[derive(Clone, Debug, Default)]
pub struct OomKills {
    seen: u64,
    counts: BTreeMap<Labels, u64>,
    times: BTreeMap<Labels, u64>,
    last: Option<Labels>,
}

impl OomKills {
    /// Counts the model's events not counted before.
    pub fn add(&mut self, model: &Model) {
        let seen = self.seen;
        for e in model.oom_events.iter().filter(|e| e.seq > seen) {
            let labels = oom_labels(e);
            *self.counts.entry(labels.clone()).or_default() += 1;
            if let Some(secs) = e.time.as_deref().and_then(crate::model::parse_utc) {
                let newest = self.times.entry(labels.clone()).or_default();
                *newest = secs.max(*newest);
            }
            let mut last = labels;
            let comm = e.comm.as_deref().unwrap_or_default();
            last.push(("comm", printable(comm).into_owned()));
            self.last = Some(last);
            self.seen = e.seq;
        }
    }
}

/// nstop's own work: how long the newest sample took, how many were taken or failed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cost {
    pub seconds: f64,
    pub ok: u64,
    pub errors: u64,
}

/// One tick as exposed: built by the sampler, encoded by each scrape.
#[derive(Debug)]
pub struct Exposed {
    pub model: Model,
    /// Each exposed container's labels and audit findings.
    pub isolation: Vec<(Labels, Vec<Finding>)>,
    pub oom: OomKills,
    pub cost: Cost,
    /// Cgroups beyond those with limits or names: the top this many by memory.
    pub top: usize,
}

impl Exposed {
    pub fn new(
        model: Model,
        isolation: Vec<(Labels, Vec<Finding>)>,
        oom: &OomKills,
        cost: Cost,
        top: usize,
    ) -> Exposed {
        Exposed {
            model,
            isolation,
            oom: oom.clone(),
            cost,
            top,
        }
    }
}

/// A scrape's view: the tick and how old it is.
#[derive(Debug)]
pub struct Scrape {
    pub exposed: std::sync::Arc<Exposed>,
    pub age_seconds: f64,
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let e = &*self.exposed;
        let model = &e.model;
        write_namespaces(model, &mut encoder)?;
        write_cgroups(model, e.top, &mut encoder)?;
        OOM_KILLS.write(
            &mut encoder,
            e.oom.counts.iter().map(|(l, &n)| (l.clone(), n as f64)),
        )?;
        LAST_KILL_TIME.write(
            &mut encoder,
            e.oom
                .times
                .iter()
                .map(|(l, &secs)| (l.clone(), secs as f64)),
        )?;
        let mut last =
            encoder.encode_descriptor(LAST_KILL.name, LAST_KILL.help, None, LAST_KILL.kind)?;
        if let Some(labels) = &e.oom.last {
            last.encode_info(labels)?;
        }
        ISOLATION.write(
            &mut encoder,
            e.isolation.iter().flat_map(|(labels, findings)| {
                let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
                for f in findings {
                    *counts.entry((f.check, f.severity.mark())).or_default() += 1;
                }
                counts.into_iter().map(|((check, severity), n)| {
                    let mut labels = labels.clone();
                    labels.push(("check", check.to_owned()));
                    labels.push(("severity", severity.to_ascii_lowercase()));
                    (labels, n as f64)
                })
            }),
        )?;
        COLLECTION.write(&mut encoder, [(Labels::new(), e.cost.seconds)])?;
        COLLECTIONS.write(
            &mut encoder,
            [
                (vec![("result", "ok".to_owned())], e.cost.ok as f64),
                (vec![("result", "error".to_owned())], e.cost.errors as f64),
            ],
        )?;
        SAMPLE_AGE.write(&mut encoder, [(Labels::new(), self.age_seconds)])?;
        let mut collector =
            encoder.encode_descriptor(COLLECTOR.name, COLLECTOR.help, None, COLLECTOR.kind)?;
        collector.encode_info(&vec![
            ("source", "proc"),
            ("version", env!("CARGO_PKG_VERSION")),
        ])
    }
}

fn write_namespaces(model: &Model, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for ns in &model.namespaces {
        *counts.entry((ns.kind.name(), held_by(ns))).or_default() += 1;
    }
    NAMESPACES.write(
        encoder,
        counts.into_iter().map(|((kind, held), n)| {
            (
                vec![("type", kind.to_owned()), ("held_by", held.to_owned())],
                n as f64,
            )
        }),
    )?;
    let mut by_depth: BTreeMap<(&str, usize), usize> = BTreeMap::new();
    let user = user_depths(model);
    for p in &model.processes {
        // NSpid has its PID at every level: the kernel's own count of them.
        if let Some(depth) = p.nspid.len().checked_sub(1) {
            *by_depth.entry(("pid", depth)).or_default() += 1;
        }
        if let Some(&depth) = p.namespaces.get(&NsType::User).and_then(|ns| user.get(ns)) {
            *by_depth.entry(("user", depth)).or_default() += 1;
        }
    }
    DEPTH.write(
        encoder,
        by_depth.into_iter().map(|((kind, depth), n)| {
            (
                vec![("type", kind.to_owned()), ("depth", depth.to_string())],
                n as f64,
            )
        }),
    )
}

fn write_cgroups(model: &Model, top: usize, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
    let cgroups: Vec<(&Cgroup, Labels)> = exposed_cgroups(model, top)
        .into_iter()
        .map(|c| (c, cgroup_labels(model, c)))
        .collect();
    for value in &CGROUP_VALUES {
        value.family.write(
            encoder,
            (cgroups.iter()).filter_map(|(c, labels)| Some((labels.clone(), (value.read)(c)?))),
        )?;
    }
    let with = |labels: &Labels, extra: &[(&'static str, &str)]| {
        let mut labels = labels.clone();
        labels.extend(extra.iter().map(|&(k, v)| (k, v.to_owned())));
        labels
    };
    IO.write(
        encoder,
        cgroups.iter().flat_map(|(c, labels)| {
            let devices =
                c.io.as_ref()
                    .map(|io| io.devices.as_slice())
                    .unwrap_or_default();
            let (read, written) = devices
                .iter()
                .fold((0, 0), |(r, w), d| (r + d.rbytes, w + d.wbytes));
            let known = c.io.is_some();
            [("read", read), ("written", written)]
                .into_iter()
                .filter(move |_| known)
                .map(move |(direction, bytes)| {
                    (with(labels, &[("direction", direction)]), bytes as f64)
                })
        }),
    )?;
    PRESSURE.write(
        encoder,
        cgroups.iter().flat_map(|(c, labels)| {
            let pressure = c.pressure.as_ref();
            let resources = pressure.map(|p| {
                [
                    ("cpu", &p.cpu),
                    ("memory", &p.memory),
                    ("io", &p.io),
                    ("irq", &p.irq),
                ]
            });
            resources
                .into_iter()
                .flatten()
                .flat_map(move |(resource, stall)| {
                    let lines = stall
                        .as_ref()
                        .map(|s| [("some", &s.some), ("full", &s.full)]);
                    lines.into_iter().flatten().filter_map(move |(kind, line)| {
                        let total = line.as_ref()?.total;
                        Some((
                            with(labels, &[("resource", resource), ("kind", kind)]),
                            total as f64 * USEC,
                        ))
                    })
                })
        }),
    )?;
    MEMORY_EVENTS.write(
        encoder,
        cgroups.iter().flat_map(|(c, labels)| {
            let events = c.memory.as_ref().and_then(|m| m.events.as_ref());
            let counts = events.map(|e| {
                [
                    ("oom", e.oom),
                    ("oom_kill", e.oom_kill),
                    ("high", e.high),
                    ("max", e.max),
                ]
            });
            counts
                .into_iter()
                .flatten()
                .filter_map(move |(event, n)| Some((with(labels, &[("event", event)]), n? as f64)))
        }),
    )
}
