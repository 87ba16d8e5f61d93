//! What the last minutes looked like: per-cgroup and system ring buffers of the values charts
//! draw, one point per sample. Memory is bounded by the capacity, and only series that ever
//! had a value take any (a v1 cpu cgroup has no memory series; an idle or never stalled one no
//! CPU or pressure series): at most `capacity` × 4 bytes per present series.

use std::collections::{HashMap, VecDeque};

use crate::model::Model;
use crate::model::cgroup::{Cgroup, Stall};

/// What is recorded for each cgroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Bytes in use.
    Memory,
    /// The memory limit in bytes (absent when unlimited).
    MemoryMax,
    /// 100 = one CPU busy.
    Cpu,
    /// PSI `some` avg10, in %.
    PressureCpu,
    PressureMemory,
    PressureIo,
    /// PSI memory `full` avg10: every task of the cgroup stalled on memory (before OOM kills).
    PressureMemoryFull,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Metric::Memory,
        Metric::MemoryMax,
        Metric::Cpu,
        Metric::PressureCpu,
        Metric::PressureMemory,
        Metric::PressureIo,
        Metric::PressureMemoryFull,
    ];

    /// The PSI metric of `cpu`, `memory` or `io` (else io).
    pub fn pressure(resource: &str) -> Metric {
        match resource {
            "cpu" => Metric::PressureCpu,
            "memory" => Metric::PressureMemory,
            _ => Metric::PressureIo,
        }
    }

    /// Rates and stalls are 0 for most cgroups most of the time: their series start at the
    /// first other value, the samples before it known to have been 0.
    fn zero_until_seen(self) -> bool {
        matches!(
            self,
            Metric::Cpu
                | Metric::PressureCpu
                | Metric::PressureMemory
                | Metric::PressureIo
                | Metric::PressureMemoryFull
        )
    }

    fn of_cgroup(self, c: &Cgroup) -> Option<f64> {
        let memory = c.memory.as_ref();
        let pressure = c.pressure.as_ref();
        match self {
            Metric::Memory => memory?.current.map(|v| v as f64),
            Metric::MemoryMax => memory?.max.map(|v| v as f64),
            Metric::Cpu => c.cpu.as_ref()?.usage_percent,
            Metric::PressureCpu => Stall::some_avg10(pressure?.cpu.as_ref()),
            Metric::PressureMemory => Stall::some_avg10(pressure?.memory.as_ref()),
            Metric::PressureIo => Stall::some_avg10(pressure?.io.as_ref()),
            Metric::PressureMemoryFull => full_avg10(pressure?.memory.as_ref()),
        }
    }

    /// The host's counterpart: busy CPU share of all CPUs, memory in use, /proc/pressure.
    fn of_host(self, model: &Model) -> Option<f64> {
        let system = model.host.system.as_ref();
        let pressure = model.host.pressure.as_ref();
        match self {
            Metric::Memory => system
                .and_then(|s| s.mem_total.zip(s.mem_available))
                .map(|(total, available)| total.saturating_sub(available) as f64),
            Metric::MemoryMax => system?.mem_total.map(|v| v as f64),
            Metric::Cpu => system?.cpu_percent,
            Metric::PressureCpu => Stall::some_avg10(pressure?.cpu.as_ref()),
            Metric::PressureMemory => Stall::some_avg10(pressure?.memory.as_ref()),
            Metric::PressureIo => Stall::some_avg10(pressure?.io.as_ref()),
            Metric::PressureMemoryFull => full_avg10(pressure?.memory.as_ref()),
        }
    }
}

fn full_avg10(stall: Option<&Stall>) -> Option<f64> {
    stall?.full.as_ref().map(|l| l.avg10)
}

/// One subject's series, each as long as `History::times` once it exists.
#[derive(Debug, Default)]
struct Series {
    /// Samples taken since the subject appeared (up to the capacity).
    seen: usize,
    values: [Option<VecDeque<f32>>; Metric::ALL.len()],
}

impl Series {
    /// Appends this sample's values. A series appears on its first value (or first non-zero
    /// one), padded with gaps before the subject was seen, and zeros since where that is known.
    fn push(&mut self, len: usize, capacity: usize, value: impl Fn(Metric) -> Option<f64>) {
        self.seen = (self.seen + 1).min(capacity);
        for (metric, slot) in Metric::ALL.into_iter().zip(&mut self.values) {
            let v = value(metric);
            let starts = match v {
                Some(v) if metric.zero_until_seen() => v != 0.0,
                other => other.is_some(),
            };
            if slot.is_none() && starts {
                let zeros = if metric.zero_until_seen() {
                    self.seen - 1
                } else {
                    0
                };
                let mut padded = VecDeque::with_capacity(capacity);
                padded.resize(len - 1 - zeros, f32::NAN);
                padded.resize(len - 1, 0.0);
                *slot = Some(padded);
            }
            if let Some(series) = slot {
                if series.len() == capacity {
                    series.pop_front();
                }
                series.push_back(v.map_or(f32::NAN, |v| v as f32));
            }
        }
    }

    fn points(&self, metric: Metric, times: &VecDeque<f64>) -> Vec<(f64, f64)> {
        let Some(series) = &self.values[metric as usize] else {
            return Vec::new();
        };
        let now = times.back().copied().unwrap_or(0.0);
        times
            .iter()
            .zip(series)
            .filter(|(_, v)| !v.is_nan())
            .map(|(t, v)| (t - now, f64::from(*v)))
            .collect()
    }
}

/// 10 minutes at 0.5 s; about 5 KiB per present series.
pub const MAX_SAMPLES: usize = 1200;

#[derive(Debug)]
pub struct History {
    capacity: usize,
    /// Seconds since boot of each sample, oldest first.
    times: VecDeque<f64>,
    host: Series,
    /// By hierarchy and inode: a cgroup removed and made again under the same path is
    /// another directory, and starts afresh.
    cgroups: HashMap<(u32, u64), Series>,
}

impl History {
    /// Keeps `capacity` samples (at least 2, so there is a line to draw).
    pub fn new(capacity: usize) -> History {
        History {
            capacity: capacity.max(2),
            times: VecDeque::new(),
            host: Series::default(),
            cgroups: HashMap::new(),
        }
    }

    /// Enough samples at `interval` to cover `window`, up to `MAX_SAMPLES` (a shorter
    /// window at sub-second intervals).
    pub fn covering(window: std::time::Duration, interval: std::time::Duration) -> History {
        let samples = window.as_secs_f64() / interval.as_secs_f64().max(1e-3);
        History::new((samples.ceil() as usize).min(MAX_SAMPLES))
    }

    /// Forgets every sample (a replay that jumped).
    pub fn clear(&mut self) {
        self.times.clear();
        self.host = Series::default();
        self.cgroups.clear();
    }

    /// Appends one model. Its time is the host's uptime, else one second after the last.
    pub fn record(&mut self, model: &Model) {
        let at = model
            .host
            .system
            .as_ref()
            .and_then(|s| s.uptime_secs)
            .or_else(|| self.times.back().map(|t| t + 1.0))
            .unwrap_or(0.0);
        if self.times.len() == self.capacity {
            self.times.pop_front();
        }
        self.times.push_back(at);
        let (len, capacity) = (self.times.len(), self.capacity);
        self.host.push(len, capacity, |m| m.of_host(model));

        let mut seen = HashMap::with_capacity(model.cgroups.len());
        for c in &model.cgroups {
            let key = (c.hierarchy, c.inode);
            let mut series = self.cgroups.remove(&key).unwrap_or_default();
            series.push(len, capacity, |m| m.of_cgroup(c));
            seen.insert(key, series);
        }
        // Cgroups that are gone take their history with them.
        self.cgroups = seen;
    }

    /// (seconds before the newest sample, value) of a cgroup's metric; empty when unknown.
    pub fn cgroup(&self, c: &Cgroup, metric: Metric) -> Vec<(f64, f64)> {
        self.cgroups
            .get(&(c.hierarchy, c.inode))
            .map_or_else(Vec::new, |s| s.points(metric, &self.times))
    }

    pub fn host(&self, metric: Metric) -> Vec<(f64, f64)> {
        self.host.points(metric, &self.times)
    }

    /// Seconds from the oldest sample kept to the newest.
    pub fn span(&self) -> f64 {
        match (self.times.front(), self.times.back()) {
            (Some(first), Some(last)) => last - first,
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cgroup::Memory;
    use crate::model::host::{Host, HostMode, System};
    use crate::model::{Model, Unreadable};

    fn model(uptime: f64, cgroups: Vec<Cgroup>) -> Model {
        Model {
            host: Host {
                mode: HostMode::Unified,
                hierarchies: Vec::new(),
                pressure: None,
                system: Some(System {
                    uptime_secs: Some(uptime),
                    cpu_percent: Some(uptime),
                    ..System::default()
                }),
            },
            namespaces: Vec::new(),
            processes: Vec::new(),
            cgroups,
            unreadable: Unreadable::default(),
            oom_events: Default::default(),
            oom_notes: Vec::new(),
            name_notes: Vec::new(),
            reader_mnt_ns: None,
            cgroup_index: Default::default(),
        }
    }

    fn cgroup(path: &str, inode: u64, memory: Option<u64>) -> Cgroup {
        Cgroup {
            hierarchy: 0,
            path: path.into(),
            inode,
            depth: 1,
            nprocs: 0,
            nthreads: None,
            procs: Vec::new(),
            populated: false,
            frozen: None,
            nr_descendants: 0,
            memory: Some(Box::new(Memory {
                current: memory,
                ..Memory::default()
            })),
            cpu: None,
            io: None,
            pids: None,
            pressure: None,
            workload: Default::default(),
        }
    }

    #[test]
    fn keeps_the_newest_samples_with_times_relative_to_the_last() {
        let mut history = History::new(3);
        for t in 1..=5u32 {
            history.record(&model(
                f64::from(t),
                vec![cgroup("/a", 7, Some(u64::from(t) * 100))],
            ));
        }
        assert_eq!(
            history.cgroup(&cgroup("/a", 7, None), Metric::Memory),
            vec![(-2.0, 300.0), (-1.0, 400.0), (0.0, 500.0)]
        );
        assert_eq!(
            history.host(Metric::Cpu),
            vec![(-2.0, 3.0), (-1.0, 4.0), (0.0, 5.0)]
        );
        assert_eq!(history.span(), 2.0);
        // Nothing was ever known of these: no series, no memory.
        assert!(
            history
                .cgroup(&cgroup("/a", 7, None), Metric::Cpu)
                .is_empty()
        );
        assert!(history.cgroups[&(0, 7)].values[Metric::Cpu as usize].is_none());
    }

    #[test]
    fn late_values_gaps_and_recreated_cgroups() {
        let mut history = History::new(10);
        history.record(&model(
            1.0,
            vec![cgroup("/a", 7, None), cgroup("/b", 8, Some(1))],
        ));
        history.record(&model(
            2.0,
            vec![cgroup("/a", 7, Some(50)), cgroup("/b", 8, None)],
        ));
        history.record(&model(
            3.0,
            vec![cgroup("/a", 9, Some(60)), cgroup("/b", 8, Some(3))],
        ));
        // /a was made again (new inode): its history restarts, the old one's is dropped.
        assert_eq!(
            history.cgroup(&cgroup("/a", 9, None), Metric::Memory),
            vec![(0.0, 60.0)]
        );
        assert!(
            history
                .cgroup(&cgroup("/a", 7, None), Metric::Memory)
                .is_empty()
        );
        // /b's missing value is a gap, not a zero.
        assert_eq!(
            history.cgroup(&cgroup("/b", 8, None), Metric::Memory),
            vec![(-2.0, 1.0), (0.0, 3.0)]
        );
        history.record(&model(4.0, vec![cgroup("/b", 8, Some(4))]));
        assert!(
            history
                .cgroup(&cgroup("/a", 9, None), Metric::Memory)
                .is_empty(),
            "gone"
        );
        let series = &history.cgroups[&(0, 8)].values[0];
        assert_eq!(series.as_ref().map(VecDeque::len), Some(4));
    }

    #[test]
    fn idle_series_take_no_memory_until_they_move() {
        let busy = |t: f64, cpu: Option<f64>| {
            let mut c = cgroup("/a", 7, Some(1));
            c.cpu = Some(crate::model::cgroup::Cpu {
                usage_percent: cpu,
                ..Default::default()
            });
            model(t, vec![c])
        };
        let mut history = History::new(10);
        history.record(&busy(1.0, None));
        history.record(&busy(2.0, Some(0.0)));
        history.record(&busy(3.0, Some(0.0)));
        assert!(history.cgroups[&(0, 7)].values[Metric::Cpu as usize].is_none());
        history.record(&busy(4.0, Some(25.0)));
        // Zeros back to when the cgroup appeared.
        assert_eq!(
            history.cgroup(&cgroup("/a", 7, None), Metric::Cpu),
            vec![(-3.0, 0.0), (-2.0, 0.0), (-1.0, 0.0), (0.0, 25.0)]
        );
    }

    #[test]
    fn capacity_covers_the_window() {
        let h = History::covering(
            std::time::Duration::from_secs(600),
            std::time::Duration::from_secs(1),
        );
        assert_eq!(h.capacity, 600);
        let h = History::covering(
            std::time::Duration::from_secs(600),
            std::time::Duration::from_millis(10),
        );
        assert_eq!(h.capacity, MAX_SAMPLES);
    }
}
