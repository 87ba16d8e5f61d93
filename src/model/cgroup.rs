//! Cgroups as the views show them: v1 and v2 files turned into one shape (v2 names), the tree's
//! derived counts, and rates from two samples.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::kernel_text::{self as text, IoDevice, PsiLine};
use crate::model::sample::{CgroupSample, CgroupsSample, ContainerName};
use crate::model::workload::{self, Workload};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cgroup {
    /// The hierarchy ID (0 = cgroup2), as in `Host::hierarchies`.
    pub hierarchy: u32,
    pub path: String,
    /// The directory's inode (cgroup2: the cgroup id).
    pub inode: u64,
    /// Levels below the hierarchy's root; the list is in pre-order, so this gives the tree.
    pub depth: u32,
    pub nprocs: usize,
    pub nthreads: Option<usize>,
    /// Member processes (cgroup.procs).
    pub procs: Vec<i32>,
    /// Any process here or below (cgroup2's cgroup.events; derived from the tree on v1).
    pub populated: bool,
    /// cgroup.events `frozen`, or v1 freezer.state FROZEN (FREEZING counts as not yet).
    pub frozen: Option<bool>,
    pub nr_descendants: u64,
    /// Boxed: most cgroups of a hybrid host have no memory controller, and a model holds them all.
    pub memory: Option<Box<Memory>>,
    pub cpu: Option<Cpu>,
    pub io: Option<Io>,
    pub pids: Option<Pids>,
    /// cgroup2 only: v1 hierarchies have no PSI.
    pub pressure: Option<Pressure>,
    #[serde(flatten)]
    pub workload: Workload,
}

/// Whether the cgroup path `path` is `root` or below it (whole components: /a/bc is not
/// below /a/b).
pub fn within(path: &str, root: &str) -> bool {
    root == "/"
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl Cgroup {
    /// memory.events oom_kill (v1: memory.oom_control), when known.
    pub fn oom_kills(&self) -> Option<u64> {
        self.memory.as_ref()?.events.as_ref()?.oom_kill
    }

    /// Kills of this cgroup's own processes: cgroup2's memory.events.local (memory.events
    /// counts the subtree's), v1's memory.oom_control.
    pub fn local_oom_kills(&self) -> Option<u64> {
        let m = self.memory.as_ref()?;
        m.events_local
            .as_ref()
            .and_then(|e| e.oom_kill)
            .or_else(|| m.events.as_ref()?.oom_kill)
    }

    /// Whether an empty cgroup still tells something: an OOM kill (a killed container's cgroup
    /// is often empty after), usage that hit a limit, a limit set, or a freeze.
    pub fn notable_when_empty(&self) -> bool {
        let m = self.memory.as_deref();
        self.local_oom_kills().is_some_and(|k| k > 0)
            || m.and_then(|m| m.failcnt).is_some_and(|f| f > 0)
            || m.is_some_and(|m| m.max.is_some() || m.high.is_some() || m.memsw_max.is_some())
            || self.pids.as_ref().is_some_and(|p| p.max.is_some())
            || self.cpu.as_ref().is_some_and(|c| c.quota_usec.is_some())
            || self.frozen == Some(true)
    }

    /// v1 memory.oom_control under_oom: its tasks wait for memory (the OOM killer is off).
    pub fn under_oom(&self) -> bool {
        self.memory.as_ref().and_then(|m| m.under_oom) == Some(true)
    }

    /// The largest `some` avg10 of cpu, memory and io: how stalled the cgroup is at worst.
    pub fn worst_stall(&self) -> Option<f64> {
        self.worst_resource().map(|(_, stall)| stall)
    }

    /// Which of cpu, memory and io stalls the cgroup most (`some` avg10), and how much.
    pub fn worst_resource(&self) -> Option<(&'static str, f64)> {
        let p = self.pressure.as_ref()?;
        [("cpu", &p.cpu), ("memory", &p.memory), ("io", &p.io)]
            .into_iter()
            .filter_map(|(name, s)| Some((name, Stall::some_avg10(s.as_ref())?)))
            .reduce(|worst, next| if next.1 > worst.1 { next } else { worst })
    }
}

/// Memory in bytes; `max`/`high`/`swap_max` are `None` when unlimited.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub current: Option<u64>,
    pub max: Option<u64>,
    /// cgroup2 only: v1 has no memory.high.
    pub high: Option<u64>,
    pub low: Option<u64>,
    pub min: Option<u64>,
    /// memory.peak (v1: memory.max_usage_in_bytes).
    pub peak: Option<u64>,
    pub swap_current: Option<u64>,
    pub swap_max: Option<u64>,
    /// v1 only: memory+swap (memsw), not swap alone.
    pub memsw_current: Option<u64>,
    pub memsw_max: Option<u64>,
    /// current as a percentage of max.
    pub percent_of_max: Option<f64>,
    /// v1 memory.failcnt: how often usage hit the limit.
    pub failcnt: Option<u64>,
    /// v1 memory.oom_control under_oom.
    pub under_oom: Option<bool>,
    pub oom_group: Option<bool>,
    /// Hierarchical events (v1: only oom_kill, from memory.oom_control).
    pub events: Option<MemoryEvents>,
    pub events_local: Option<MemoryEvents>,
    pub stat: Option<MemoryStat>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryEvents {
    pub low: Option<u64>,
    pub high: Option<u64>,
    pub max: Option<u64>,
    pub oom: Option<u64>,
    pub oom_kill: Option<u64>,
    pub oom_group_kill: Option<u64>,
}

/// The memory.stat breakdown, bytes except the page counters (v1: hierarchical `total_*`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryStat {
    pub anon: Option<u64>,
    /// Page cache (v1 `cache`, which includes shmem).
    pub file: Option<u64>,
    pub kernel: Option<u64>,
    pub shmem: Option<u64>,
    pub sock: Option<u64>,
    pub slab: Option<u64>,
    /// Refaults of evicted pages (anon + file): the working set does not fit.
    pub workingset_refault: Option<u64>,
    /// Pages scanned by reclaim.
    pub pgscan: Option<u64>,
}

/// CPU time in microseconds; rates over the interval since the previous sample.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    pub usage_usec: Option<u64>,
    pub user_usec: Option<u64>,
    pub system_usec: Option<u64>,
    pub nr_periods: Option<u64>,
    pub nr_throttled: Option<u64>,
    pub throttled_usec: Option<u64>,
    /// cpu.max quota (v1 cfs_quota_us); `None` when unlimited.
    pub quota_usec: Option<u64>,
    pub period_usec: Option<u64>,
    /// cpu.weight, or v1 cpu.shares converted as the kernel does.
    pub weight: Option<u64>,
    /// v1 cpu.shares as written.
    pub shares: Option<u64>,
    /// 100 = one CPU busy for the whole interval.
    pub usage_percent: Option<f64>,
    /// Share of the interval's enforcement periods that were throttled.
    pub throttled_percent: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Io {
    pub devices: Vec<IoDevice>,
    pub read_bytes_per_sec: Option<f64>,
    pub write_bytes_per_sec: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pids {
    pub current: Option<u64>,
    /// `None` when unlimited.
    pub max: Option<u64>,
    /// pids.events `max`: forks refused by the limit.
    pub events_max: Option<u64>,
}

/// Pressure stall information per resource (cgroup2 cgroups and /proc/pressure).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pressure {
    pub cpu: Option<Stall>,
    pub memory: Option<Stall>,
    pub io: Option<Stall>,
    pub irq: Option<Stall>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stall {
    pub some: Option<StallLine>,
    pub full: Option<StallLine>,
}

impl Stall {
    /// The `some` line's 10-second average, what tables and gauges show.
    pub fn some_avg10(stall: Option<&Stall>) -> Option<f64> {
        stall.and_then(|s| s.some.as_ref()).map(|l| l.avg10)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StallLine {
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
    /// Microseconds stalled since boot (or since the cgroup was made).
    pub total: u64,
    /// Share of the interval since the previous sample spent stalled, from `total`.
    pub stall_percent: Option<f64>,
}

/// Each PSI resource and its cgroup2 file.
const PRESSURE_FILES: [(&str, &str); 4] = [
    ("cpu", "cpu.pressure"),
    ("memory", "memory.pressure"),
    ("io", "io.pressure"),
    ("irq", "irq.pressure"),
];

impl Pressure {
    /// From (resource, pressure file text) pairs, with rates against `prev`'s totals.
    pub fn build<'a>(
        files: impl Iterator<Item = (&'a str, &'a str)>,
        prev: Option<(&Pressure, f64)>,
    ) -> Option<Pressure> {
        let mut pressure = Pressure::default();
        let mut any = false;
        for (resource, body) in files {
            let Some(psi) = text::psi(body) else { continue };
            let before = prev.and_then(|(p, _)| p.get(resource));
            let line = |now: Option<PsiLine>, then: Option<&StallLine>| {
                now.map(|l| StallLine {
                    avg10: l.avg10,
                    avg60: l.avg60,
                    avg300: l.avg300,
                    total: l.total,
                    stall_percent: then.zip(prev).and_then(|(t, (_, secs))| {
                        rate(l.total, t.total, secs).map(|usec| usec / 1e4)
                    }),
                })
            };
            let stall = Stall {
                some: line(psi.some, before.and_then(|b| b.some.as_ref())),
                full: line(psi.full, before.and_then(|b| b.full.as_ref())),
            };
            if let Some(slot) = pressure.slot(resource) {
                *slot = Some(stall);
                any = true;
            }
        }
        any.then_some(pressure)
    }

    pub fn get(&self, resource: &str) -> Option<&Stall> {
        let index = PRESSURE_FILES.iter().position(|(r, _)| *r == resource)?;
        [&self.cpu, &self.memory, &self.io, &self.irq][index].as_ref()
    }

    fn slot(&mut self, resource: &str) -> Option<&mut Option<Stall>> {
        let index = PRESSURE_FILES.iter().position(|(r, _)| *r == resource)?;
        [&mut self.cpu, &mut self.memory, &mut self.io, &mut self.irq]
            .into_iter()
            .nth(index)
    }
}

/// Per second increase of a counter; `None` across a reset (a smaller value).
fn rate(now: u64, then: u64, secs: f64) -> Option<f64> {
    (now >= then && secs > 0.0).then(|| (now - then) as f64 / secs)
}

/// The counters rates are made from, read the same way for both samples.
#[derive(Clone, Copy, Default)]
struct Counters {
    usage_usec: Option<u64>,
    nr_periods: Option<u64>,
    nr_throttled: Option<u64>,
    read_bytes: Option<u64>,
    write_bytes: Option<u64>,
}

fn io_devices(sample: &CgroupSample) -> Option<Vec<IoDevice>> {
    if let Some(body) = sample.file("io.stat") {
        return Some(text::io_stat(body));
    }
    let either = |recursive: &str, own: &str| sample.file(recursive).or_else(|| sample.file(own));
    let bytes = text::blkio_throttle(either(
        "blkio.throttle.io_service_bytes_recursive",
        "blkio.throttle.io_service_bytes",
    )?);
    let ops = either(
        "blkio.throttle.io_serviced_recursive",
        "blkio.throttle.io_serviced",
    )
    .map(text::blkio_throttle)
    .unwrap_or_default();
    Some(
        bytes
            .into_iter()
            .map(|(device, rbytes, wbytes, dbytes)| {
                let op = ops.iter().find(|o| o.0 == device);
                IoDevice {
                    rios: op.map_or(0, |o| o.1),
                    wios: op.map_or(0, |o| o.2),
                    dios: op.map_or(0, |o| o.3),
                    device,
                    rbytes,
                    wbytes,
                    dbytes,
                }
            })
            .collect(),
    )
}

impl Counters {
    fn of(sample: &CgroupSample, v2: bool, io: Option<&[IoDevice]>) -> Counters {
        let cpu_stat = sample.file("cpu.stat");
        let usage_usec = if v2 {
            cpu_stat.and_then(|t| text::keyed(t, "usage_usec"))
        } else {
            sample
                .file("cpuacct.usage")
                .and_then(text::number)
                .map(|ns| ns / 1000)
        };
        let total = |bytes: fn(&IoDevice) -> u64| {
            io.map(|d| d.iter().map(bytes).fold(0, u64::saturating_add))
        };
        Counters {
            usage_usec,
            nr_periods: cpu_stat.and_then(|t| text::keyed(t, "nr_periods")),
            nr_throttled: cpu_stat.and_then(|t| text::keyed(t, "nr_throttled")),
            read_bytes: total(|d| d.rbytes),
            write_bytes: total(|d| d.wbytes),
        }
    }
}

fn memory_events(body: &str) -> MemoryEvents {
    MemoryEvents {
        low: text::keyed(body, "low"),
        high: text::keyed(body, "high"),
        max: text::keyed(body, "max"),
        oom: text::keyed(body, "oom"),
        oom_kill: text::keyed(body, "oom_kill"),
        oom_group_kill: text::keyed(body, "oom_group_kill"),
    }
}

fn memory_stat(body: &str, v2: bool) -> MemoryStat {
    let get = |key: &str| text::keyed(body, key);
    let sum = |a: &str, b: &str| match (get(a), get(b)) {
        (None, None) => None,
        (x, y) => Some(x.unwrap_or(0).saturating_add(y.unwrap_or(0))),
    };
    if v2 {
        MemoryStat {
            anon: get("anon"),
            file: get("file"),
            kernel: get("kernel"),
            shmem: get("shmem"),
            sock: get("sock"),
            slab: get("slab"),
            // Split into anon and file since 5.9.
            workingset_refault: get("workingset_refault")
                .or_else(|| sum("workingset_refault_anon", "workingset_refault_file")),
            pgscan: get("pgscan"),
        }
    } else {
        MemoryStat {
            anon: get("total_rss"),
            file: get("total_cache"),
            shmem: get("total_shmem"),
            workingset_refault: get("total_workingset_refault").or_else(|| {
                sum(
                    "total_workingset_refault_anon",
                    "total_workingset_refault_file",
                )
            }),
            ..MemoryStat::default()
        }
    }
}

fn memory(s: &CgroupSample, v2: bool, page_size: u64) -> Option<Memory> {
    let number = |name: &str| s.file(name).and_then(text::number);
    let limit = |name: &str| s.file(name).and_then(text::limit).flatten();
    let v1_limit = |name: &str| {
        s.file(name)
            .and_then(|t| text::v1_limit(t, page_size))
            .flatten()
    };
    let mut m = if v2 {
        Memory {
            current: number("memory.current"),
            max: limit("memory.max"),
            high: limit("memory.high"),
            // "max" here is full protection, reported like any unlimited value.
            low: limit("memory.low"),
            min: limit("memory.min"),
            peak: number("memory.peak"),
            swap_current: number("memory.swap.current"),
            swap_max: limit("memory.swap.max"),
            oom_group: number("memory.oom.group").map(|v| v == 1),
            events: s.file("memory.events").map(memory_events),
            events_local: s.file("memory.events.local").map(memory_events),
            stat: s.file("memory.stat").map(|b| memory_stat(b, true)),
            ..Memory::default()
        }
    } else {
        let oom_control = s.file("memory.oom_control");
        Memory {
            current: number("memory.usage_in_bytes"),
            max: v1_limit("memory.limit_in_bytes"),
            peak: number("memory.max_usage_in_bytes"),
            memsw_current: number("memory.memsw.usage_in_bytes"),
            memsw_max: v1_limit("memory.memsw.limit_in_bytes"),
            failcnt: number("memory.failcnt"),
            under_oom: oom_control
                .and_then(|t| text::keyed(t, "under_oom"))
                .map(|v| v == 1),
            events: oom_control.map(|t| MemoryEvents {
                oom_kill: text::keyed(t, "oom_kill"),
                ..MemoryEvents::default()
            }),
            stat: s.file("memory.stat").map(|b| memory_stat(b, false)),
            ..Memory::default()
        }
    };
    if m == Memory::default() {
        return None;
    }
    m.percent_of_max = m
        .current
        .zip(m.max)
        .filter(|&(_, max)| max > 0)
        .map(|(cur, max)| cur as f64 * 100.0 / max as f64);
    Some(m)
}

fn cpu(
    s: &CgroupSample,
    v2: bool,
    clock_ticks: u64,
    now: Counters,
    before: Option<(Counters, f64)>,
) -> Option<Cpu> {
    let stat = s.file("cpu.stat");
    let stat_key = |key: &str| stat.and_then(|t| text::keyed(t, key));
    let mut c = if v2 {
        let max = s.file("cpu.max").and_then(text::cpu_max);
        Cpu {
            user_usec: stat_key("user_usec"),
            system_usec: stat_key("system_usec"),
            throttled_usec: stat_key("throttled_usec"),
            quota_usec: max.and_then(|m| m.0),
            period_usec: max.map(|m| m.1),
            weight: s.file("cpu.weight").and_then(text::number),
            ..Cpu::default()
        }
    } else {
        let acct = s.file("cpuacct.stat");
        // Unknown (0): USER_HZ is 100 on every architecture but alpha.
        let user_hz = if clock_ticks == 0 { 100 } else { clock_ticks };
        let ticks = |key: &str| {
            acct.and_then(|t| text::keyed(t, key))
                .map(|t| t.saturating_mul(1_000_000) / user_hz)
        };
        let shares = s.file("cpu.shares").and_then(text::number);
        Cpu {
            user_usec: ticks("user"),
            system_usec: ticks("system"),
            throttled_usec: stat_key("throttled_time").map(|ns| ns / 1000),
            quota_usec: s
                .file("cpu.cfs_quota_us")
                .and_then(text::cfs_quota)
                .flatten(),
            period_usec: s.file("cpu.cfs_period_us").and_then(text::number),
            weight: shares.map(text::weight_from_shares),
            shares,
            ..Cpu::default()
        }
    };
    c.usage_usec = now.usage_usec;
    c.nr_periods = now.nr_periods;
    c.nr_throttled = now.nr_throttled;
    if let Some((then, secs)) = before {
        c.usage_percent = now
            .usage_usec
            .zip(then.usage_usec)
            .and_then(|(n, t)| rate(n, t, secs))
            .map(|usec_per_sec| usec_per_sec / 1e4);
        let periods = now.nr_periods.zip(then.nr_periods);
        let throttled = now.nr_throttled.zip(then.nr_throttled);
        c.throttled_percent = periods.zip(throttled).and_then(|((p, p0), (t, t0))| {
            let periods = p.checked_sub(p0)?;
            let throttled = t.checked_sub(t0)?;
            Some(if periods == 0 {
                0.0
            } else {
                throttled as f64 * 100.0 / periods as f64
            })
        });
    }
    (c != Cpu::default()).then_some(c)
}

fn io(
    devices: Option<Vec<IoDevice>>,
    now: Counters,
    before: Option<(Counters, f64)>,
) -> Option<Io> {
    let devices = devices?;
    let per_sec =
        |n: Option<u64>, t: Option<u64>, secs| n.zip(t).and_then(|(n, t)| rate(n, t, secs));
    Some(Io {
        devices,
        read_bytes_per_sec: before
            .and_then(|(t, secs)| per_sec(now.read_bytes, t.read_bytes, secs)),
        write_bytes_per_sec: before
            .and_then(|(t, secs)| per_sec(now.write_bytes, t.write_bytes, secs)),
    })
}

fn pids(s: &CgroupSample) -> Option<Pids> {
    let p = Pids {
        current: s.file("pids.current").and_then(text::number),
        max: s.file("pids.max").and_then(text::limit).flatten(),
        events_max: s.file("pids.events").and_then(|t| text::keyed(t, "max")),
    };
    (p != Pids::default()).then_some(p)
}

fn frozen(s: &CgroupSample) -> Option<bool> {
    if let Some(events) = s.file("cgroup.events") {
        return text::keyed(events, "frozen").map(|v| v == 1);
    }
    s.file("freezer.state").map(|t| t.trim() == "FROZEN")
}

/// The pressure files of a cgroup2 cgroup, by resource.
fn pressure_files(s: &CgroupSample) -> impl Iterator<Item = (&str, &str)> {
    PRESSURE_FILES
        .into_iter()
        .filter_map(|(resource, file)| Some((resource, s.file(file)?)))
}

/// The nearest ancestor of each item in a pre-ordered list of trees, given each item's tree
/// (hierarchy) and depth.
pub fn parents_by_depth<T>(items: &[T], place: impl Fn(&T) -> (u32, u32)) -> Vec<Option<usize>> {
    let mut parents = Vec::with_capacity(items.len());
    let mut stack: Vec<usize> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let (tree, depth) = place(item);
        while let Some(&top) = stack.last() {
            let (top_tree, top_depth) = place(&items[top]);
            if top_tree == tree && top_depth < depth {
                break;
            }
            stack.pop();
        }
        parents.push(stack.last().copied());
        stack.push(i);
    }
    parents
}

/// Every cgroup, hierarchies in `now.hierarchies` order, each in the sample's pre-order.
/// Rates against `prev` where the same cgroup (same path and inode) was there.
/// Each cgroup's member processes and their threads, by (hierarchy, path), from the processes'
/// own /proc/PID/cgroup (where the sample did not read the member lists).
pub type Members<'a> = HashMap<(u32, &'a str), (Vec<i32>, usize)>;

/// `members` is used up: each cgroup takes its own list.
pub fn build<'a>(
    now: &'a CgroupsSample,
    prev: Option<&CgroupsSample>,
    mut members: Members<'a>,
) -> Vec<Cgroup> {
    let version: HashMap<u32, u8> = now.hierarchies.iter().map(|h| (h.id, h.version)).collect();
    let order: HashMap<u32, usize> = now
        .hierarchies
        .iter()
        .enumerate()
        .map(|(i, h)| (h.id, i))
        .collect();
    let before: HashMap<(u32, &str), &CgroupSample> = prev
        .map(|p| {
            p.cgroups
                .iter()
                .map(|c| ((c.hierarchy, c.path.as_str()), c))
                .collect()
        })
        .unwrap_or_default();
    let secs = prev
        .and_then(|p| now.taken_at.checked_sub(p.taken_at))
        .map_or(0.0, |d| d.as_secs_f64());
    // Files that a cgroup lacks (v1 has no cgroup.events or cgroup.stat, the v2 root no
    // cgroup.events) leave these to the tree.
    let (page_size, clock_ticks) = (now.page_size, now.clock_ticks);
    let mut built: Vec<(Cgroup, (bool, bool))> = now
        .cgroups
        .iter()
        .map(|s| {
            let v2 = version.get(&s.hierarchy) == Some(&2);
            let devices = io_devices(s);
            let counters = Counters::of(s, v2, devices.as_deref());
            let same = before
                .get(&(s.hierarchy, s.path.as_str()))
                .filter(|p| p.inode == s.inode);
            let then = same.map(|p| (Counters::of(p, v2, io_devices(p).as_deref()), secs));
            let prev_pressure = same.and_then(|p| Pressure::build(pressure_files(p), None));
            // Listed by the kernel (`nstop cg`), or joined from the processes' own cgroups.
            let listed_threads = s
                .file("cgroup.threads")
                .or_else(|| s.file("tasks"))
                .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count());
            let (procs, threads) = match s.file("cgroup.procs") {
                Some(text) => (text::pids(text), listed_threads),
                None => {
                    let (pids, threads) = members
                        .remove(&(s.hierarchy, s.path.as_str()))
                        .unwrap_or_default();
                    (pids, Some(threads))
                }
            };
            let populated = s
                .file("cgroup.events")
                .and_then(|t| text::keyed(t, "populated"));
            let descendants = s
                .file("cgroup.stat")
                .and_then(|t| text::keyed(t, "nr_descendants"));
            let from_files = (populated.is_some(), descendants.is_some());
            let cgroup = Cgroup {
                hierarchy: s.hierarchy,
                path: s.path.clone(),
                inode: s.inode,
                depth: s.depth,
                nprocs: procs.len(),
                nthreads: threads,
                populated: populated.map_or(!procs.is_empty(), |v| v == 1),
                procs,
                frozen: frozen(s),
                nr_descendants: descendants.unwrap_or(0),
                memory: memory(s, v2, page_size).map(Box::new),
                cpu: cpu(s, v2, clock_ticks, counters, then),
                io: io(devices, counters, then),
                pids: pids(s),
                pressure: Pressure::build(
                    pressure_files(s),
                    prev_pressure.as_ref().map(|p| (p, secs)),
                ),
                workload: workload::recognise(&s.path),
            };
            (cgroup, from_files)
        })
        .collect();
    // Stable: each hierarchy keeps its pre-order.
    built.sort_by_key(|(c, _)| order.get(&c.hierarchy).copied().unwrap_or(usize::MAX));
    let (mut out, from_files): (Vec<Cgroup>, Vec<(bool, bool)>) = built.into_iter().unzip();
    derive_tree_counts(&mut out, &from_files);
    out
}

/// Names the recognised containers (and monitors) by what their runtimes keep on the host:
/// `names` by full container id, as `sys::runtimes` read them with the sample.
pub fn name_containers(cgroups: &mut [Cgroup], names: &HashMap<String, ContainerName>) {
    if names.is_empty() {
        return;
    }
    for c in cgroups {
        c.workload.name_from(names);
    }
}

/// Whether any process lives below, and how many cgroups, from the tree itself where the
/// kernel's files did not say (`from_files`: populated known, descendants known).
fn derive_tree_counts(cgroups: &mut [Cgroup], from_files: &[(bool, bool)]) {
    let parents = parents_by_depth(cgroups, |c| (c.hierarchy, c.depth));
    // Children come after their parents: walking backwards folds each subtree into its root.
    let mut populated: Vec<bool> = cgroups.iter().map(|c| c.populated).collect();
    let mut descendants: Vec<u64> = vec![0; cgroups.len()];
    for i in (0..cgroups.len()).rev() {
        if let Some(p) = parents[i] {
            populated[p] |= populated[i];
            descendants[p] += 1 + descendants[i];
        }
    }
    for (i, c) in cgroups.iter_mut().enumerate() {
        let (populated_known, descendants_known) = from_files[i];
        if !populated_known {
            c.populated = populated[i];
        }
        if !descendants_known {
            c.nr_descendants = descendants[i];
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::sample::HierarchySample;
    use std::time::Duration;

    fn sample(
        hierarchy: u32,
        path: &str,
        inode: u64,
        files: &[(&'static str, &str)],
    ) -> CgroupSample {
        CgroupSample {
            hierarchy,
            path: path.to_owned(),
            inode,
            depth: path.split('/').filter(|c| !c.is_empty()).count() as u32,
            files: files.iter().map(|&(n, t)| (n, t.to_owned())).collect(),
        }
    }

    pub fn hierarchies() -> Vec<HierarchySample> {
        vec![
            HierarchySample {
                id: 0,
                version: 2,
                mount: "/sys/fs/cgroup".into(),
                root: "/".into(),
                controllers: vec!["cpu".into(), "memory".into()],
            },
            HierarchySample {
                id: 4,
                version: 1,
                mount: "/sys/fs/cgroup/memory".into(),
                root: "/".into(),
                controllers: vec!["memory".into()],
            },
        ]
    }

    #[test]
    fn rates_from_two_samples_and_none_for_a_recreated_cgroup() {
        let cpu = |usage: &str| -> CgroupsSample {
            CgroupsSample {
                hierarchies: hierarchies(),
                cgroups: vec![
                    sample(
                        0,
                        "/a",
                        7,
                        &[
                            ("cpu.stat", usage),
                            (
                                "cpu.pressure",
                                "some avg10=1.00 avg60=0.00 avg300=0.00 total=1000000\n",
                            ),
                        ],
                    ),
                    sample(0, "/b", 8, &[("cpu.stat", usage)]),
                ],
                ..CgroupsSample::default()
            }
        };
        let first = cpu("usage_usec 1000000\nnr_periods 10\nnr_throttled 1\n");
        let mut second = cpu("usage_usec 1500000\nnr_periods 30\nnr_throttled 6\n");
        second.cgroups[0].files[1].1 =
            "some avg10=1.00 avg60=0.00 avg300=0.00 total=1250000\n".into();
        second.cgroups[1].inode = 9;
        second.taken_at = first.taken_at + Duration::from_secs(2);
        let model = build(&second, Some(&first), Members::new());
        let a = model[0].cpu.as_ref().unwrap();
        assert_eq!(a.usage_percent, Some(25.0));
        assert_eq!(a.throttled_percent, Some(25.0));
        let stall = model[0].pressure.as_ref().unwrap().cpu.as_ref().unwrap();
        assert_eq!(stall.some.as_ref().unwrap().stall_percent, Some(12.5));
        assert_eq!(model[1].cpu.as_ref().unwrap().usage_percent, None);
    }

    proptest::proptest! {
        /// Whatever a file holds (a kernel we have not seen, a torn read, counters near
        /// u64::MAX), building the model from it does not panic.
        #[test]
        fn any_file_text_builds(
            texts in proptest::collection::vec(
                proptest::prop_oneof![
                    "\\PC*",
                    "([a-z_]{1,14} [0-9]{1,20}\n){1,8}",
                    "[0-9]{1,20}|max|-1|nan|inf",
                    "(8:0 rbytes=[0-9]{1,20} wbytes=[0-9]{1,20}\n){1,3}",
                    "(8:0 (Read|Write) [0-9]{1,20}\n){1,4}",
                    "(some|full) avg10=(nan|[0-9.]{1,8}) avg60=1 avg300=1 total=[0-9]{1,20}\n",
                ],
                16,
            ),
            ticks in 0u64..1000,
        ) {
            let names = [
                "cgroup.procs", "cgroup.events", "cpu.stat", "cpu.max", "memory.max",
                "memory.stat", "memory.events", "io.stat", "pids.max", "cpu.pressure",
                "memory.oom_control", "blkio.throttle.io_service_bytes", "cpu.shares",
                "cpuacct.stat", "cpuacct.usage", "memory.limit_in_bytes",
            ];
            let files: Vec<(&'static str, &str)> =
                names.iter().copied().zip(texts.iter().map(String::as_str)).collect();
            for hierarchy in [0, 4] {
                let first = CgroupsSample {
                    page_size: 4096,
                    clock_ticks: ticks,
                    hierarchies: hierarchies(),
                    cgroups: vec![sample(hierarchy, "/a", 1, &files)],
                    system_pressure: vec![("cpu", texts[9].clone())],
                    ..CgroupsSample::default()
                };
                let mut second = first.clone();
                second.taken_at = Duration::from_secs(1);
                // Other text in each file the second time: counters jump, shrink or vanish.
                second.cgroups[0].files = names
                    .iter()
                    .copied()
                    .zip(texts.iter().rev().cloned())
                    .collect();
                let model = build(&second, Some(&first), Members::new());
                let _ = crate::model::host::Host::new(&second, Some(&first));
                proptest::prop_assert_eq!(model.len(), 1);
            }
        }
    }

    #[test]
    fn v1_values_in_v2_shape() {
        let s = CgroupsSample {
            hierarchies: hierarchies(),
            cgroups: vec![
                sample(4, "/", 1, &[("cgroup.procs", "1\n2\n")]),
                sample(
                    4,
                    "/x",
                    2,
                    &[
                        ("cgroup.procs", ""),
                        ("memory.usage_in_bytes", "1048576\n"),
                        ("memory.limit_in_bytes", "9223372036854771712\n"),
                        (
                            "memory.oom_control",
                            "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
                        ),
                        (
                            "memory.stat",
                            "cache 10\nrss 20\ntotal_cache 100\ntotal_rss 200\ntotal_shmem 5\n",
                        ),
                    ],
                ),
                sample(
                    4,
                    "/x/y",
                    3,
                    &[
                        ("cgroup.procs", "77\n"),
                        ("memory.limit_in_bytes", "4096\n"),
                    ],
                ),
                sample(4, "/x-z", 4, &[("cgroup.procs", "")]),
                sample(0, "/", 5, &[("cgroup.procs", "")]),
            ],
            ..CgroupsSample::default()
        };
        let model = build(&s, None, Members::new());
        let order: Vec<(u32, &str)> = model
            .iter()
            .map(|c| (c.hierarchy, c.path.as_str()))
            .collect();
        assert_eq!(
            order,
            [(0, "/"), (4, "/"), (4, "/x"), (4, "/x/y"), (4, "/x-z")]
        );
        let model = &model[1..];
        let x = &model[1];
        let m = x.memory.as_ref().unwrap();
        assert_eq!((m.current, m.max), (Some(1_048_576), None));
        assert_eq!(m.events.as_ref().unwrap().oom_kill, Some(3));
        assert_eq!(m.stat.as_ref().unwrap().anon, Some(200));
        assert_eq!(m.stat.as_ref().unwrap().file, Some(100));
        assert!(x.populated, "a process below makes it populated");
        assert_eq!(x.nr_descendants, 1);
        assert_eq!(model[0].nr_descendants, 3);
        assert!(!model[3].populated);
        assert_eq!(model[2].memory.as_ref().unwrap().max, Some(4096));
    }
}
