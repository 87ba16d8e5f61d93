//! Pure joins over a `Sample`: no I/O here. The serialized `Model` is the CLI's JSON contract.

pub mod cgroup;
pub mod history;
pub mod host;
pub mod isolation;
pub mod kernel_text;
pub mod namespace;
pub mod oom;
pub mod process;
pub mod sample;
pub mod security;
pub mod workload;

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use cgroup::Cgroup;
use host::Host;
use namespace::Namespace;
use process::{Process, ProcessCgroup};
use sample::{DeniedPart, Sample};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Model {
    pub host: Host,
    pub namespaces: Vec<Namespace>,
    pub processes: Vec<Process>,
    /// Every hierarchy's cgroups, cgroup2 first, each hierarchy in tree order.
    pub cgroups: Vec<Cgroup>,
    pub unreadable: Unreadable,
    /// OOM kills seen so far, oldest first: the explorer's collector follows the kernel log
    /// and the cgroups' counters (the CLI's `nstop oom` reads them itself).
    /// Shared, not copied: the same list goes into every model until a kill is added.
    #[serde(default, skip_serializing_if = "empty")]
    pub oom_events: std::sync::Arc<Vec<oom::OomEvent>>,
    /// Why the kernel log could not be read, or not all of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oom_notes: Vec<String>,
    /// Why a container runtime's state file gave no names (not trusted, too large, malformed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name_notes: Vec<String>,
    /// The mount namespace the sample was read from (see `Sample::reader_mnt_ns`).
    #[serde(default)]
    pub reader_mnt_ns: Option<u64>,
    /// Where each cgroup is in `cgroups`, built at the first lookup.
    #[serde(skip)]
    cgroup_index: CgroupIndex,
}

/// `(hierarchy, path)` → position in `Model::cgroups`. A model's cgroups do not change once it
/// is built; a lookup still checks the entry it finds and scans when it is stale.
#[derive(Clone, Default)]
struct CgroupIndex(std::sync::OnceLock<CgroupPlaces>);

/// Positions by hierarchy, then path.
type CgroupPlaces = HashMap<u32, HashMap<Box<str>, usize>>;

impl std::fmt::Debug for CgroupIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CgroupIndex")
    }
}

fn empty(events: &std::sync::Arc<Vec<oom::OomEvent>>) -> bool {
    events.is_empty()
}

/// What permission hid from this sample.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Unreadable {
    /// Processes whose namespace links (or whole /proc entry) could not be read.
    pub processes: Vec<i32>,
    /// Processes whose fd directory could not be listed (their fd holders are unknown).
    pub fds: Vec<i32>,
}

/// Each cgroup's processes (sorted, as the process list is) and their threads, from the
/// processes' own cgroups. Processes with the same cgroups share one list, so each list's
/// members are gathered first and spread over its cgroups once.
fn members_by_cgroup(processes: &[Process]) -> cgroup::Members<'_> {
    /// A list of cgroups, its processes and their threads.
    type Sharers<'a> = (&'a [ProcessCgroup], Vec<i32>, usize);
    let mut by_list: HashMap<*const [ProcessCgroup], Sharers> = HashMap::new();
    for p in processes {
        let list = by_list
            .entry(Arc::as_ptr(&p.cgroups))
            .or_insert_with(|| (&p.cgroups, Vec::new(), 0));
        list.1.push(p.pid);
        list.2 += p.threads as usize;
    }
    let mut members = cgroup::Members::new();
    for (cgroups, pids, threads) in by_list.into_values() {
        for pc in cgroups {
            let entry = members.entry((pc.hierarchy, &*pc.path)).or_default();
            entry.0.extend_from_slice(&pids);
            entry.1 += threads;
        }
    }
    for (pids, _) in members.values_mut() {
        pids.sort_unstable();
    }
    members
}

impl Model {
    /// Joins one sample; with the previous one, rates (CPU, throttling, IO, stall) too.
    pub fn new(sample: &Sample, prev: Option<&Sample>) -> Model {
        let mut unreadable = Unreadable::default();
        for denied in &sample.denied {
            match denied.part {
                DeniedPart::Fds => unreadable.fds.push(denied.pid),
                DeniedPart::Process | DeniedPart::Namespaces => {
                    unreadable.processes.push(denied.pid)
                }
            }
        }
        unreadable.processes.sort_unstable();
        unreadable.processes.dedup();
        unreadable.fds.sort_unstable();
        let processes = process::build(sample, prev);
        let mut cgroups = cgroup::build(
            &sample.cgroups,
            prev.map(|p| &p.cgroups),
            members_by_cgroup(&processes),
        );
        cgroup::name_containers(&mut cgroups, &sample.container_names);
        Model {
            host: Host {
                system: host::System::new(&sample.system, prev.map(|p| &p.system)),
                ..Host::new(&sample.cgroups, prev.map(|p| &p.cgroups))
            },
            namespaces: namespace::build(sample),
            processes,
            cgroups,
            unreadable,
            oom_events: Default::default(),
            oom_notes: Vec::new(),
            name_notes: sample.name_notes.clone(),
            reader_mnt_ns: sample.reader_mnt_ns,
            cgroup_index: CgroupIndex::default(),
        }
    }

    pub fn namespace(&self, ns: sample::NsRef) -> Option<&Namespace> {
        self.namespaces
            .binary_search_by_key(&(ns.ino, ns.kind), |n| (n.ns, n.kind))
            .ok()
            .map(|i| &self.namespaces[i])
    }

    /// A pid namespace's init (the member that is PID 1 inside) and how many processes live
    /// in it and in every pid namespace below it.
    pub fn pid_detail(&self, ns: &Namespace) -> sample::NsDetail {
        let init = ns.pids.iter().copied().find(|&pid| {
            self.process(pid)
                .is_some_and(|p| p.nspid.last() == Some(&1))
        });
        let parents = self.pid_parents();
        let below_or_at = |mut ino: u64| {
            // Bounded: pid namespaces nest at most 32 deep.
            for _ in 0..=32 {
                if ino == ns.ns {
                    return true;
                }
                match parents.get(&ino) {
                    Some(&up) => ino = up,
                    None => return false,
                }
            }
            false
        };
        let processes = self
            .processes
            .iter()
            .filter_map(Process::pid_ns)
            .filter(|&ino| below_or_at(ino))
            .count();
        sample::NsDetail::Pid { init, processes }
    }

    /// The namespaces of the host: those of the lowest PID whose links are readable (init, or
    /// kthreadd when init is hidden), which outside any container are the initial ones.
    /// Bytes per page of the kernel read (0 where not known).
    pub fn page_size(&self) -> u64 {
        self.host.system.as_ref().map_or(0, |s| s.page_size)
    }

    pub fn host_namespaces(&self) -> &std::collections::BTreeMap<sample::NsType, u64> {
        static NONE: std::collections::BTreeMap<sample::NsType, u64> =
            std::collections::BTreeMap::new();
        self.processes
            .iter()
            .find(|p| !p.namespaces.is_empty())
            .map_or(&NONE, |p| &p.namespaces)
    }

    /// Each pid namespace's parent: NS_GET_PARENT where the kernel answered, else read off the
    /// process list: a member whose parent process is one level up has it there. (A holder's
    /// pid_for_children proves nothing: after setns it may be any level below the holder.)
    pub fn pid_parents(&self) -> std::collections::HashMap<u64, u64> {
        self.namespaces
            .iter()
            .filter(|n| n.kind == sample::NsType::Pid)
            .filter_map(|n| {
                let from_members = || {
                    n.pids.iter().find_map(|&pid| {
                        let p = self.process(pid)?;
                        let up = self.process(p.ppid)?;
                        (up.nspid.len() + 1 == p.nspid.len())
                            .then(|| up.pid_ns())
                            .flatten()
                    })
                };
                let parent = n.parent.or_else(from_members)?;
                (parent != n.ns).then_some((n.ns, parent))
            })
            .collect()
    }

    pub fn cgroup(&self, hierarchy: u32, path: &str) -> Option<&Cgroup> {
        let index = self.cgroup_index.0.get_or_init(|| {
            let mut index: CgroupPlaces = HashMap::new();
            for (i, c) in self.cgroups.iter().enumerate() {
                index
                    .entry(c.hierarchy)
                    .or_default()
                    .insert(c.path.as_str().into(), i);
            }
            index
        });
        let place = index.get(&hierarchy).and_then(|paths| paths.get(path));
        match place.and_then(|&i| self.cgroups.get(i)) {
            Some(c) if c.hierarchy == hierarchy && c.path == path => Some(c),
            None if index.values().map(HashMap::len).sum::<usize>() == self.cgroups.len() => None,
            // Stale: the list changed after the index was built.
            _ => self
                .cgroups
                .iter()
                .find(|c| c.hierarchy == hierarchy && c.path == path),
        }
    }

    /// The processes in a cgroup or below it (by their /proc/PID/cgroup paths).
    pub fn processes_below(&self, c: &Cgroup) -> Vec<i32> {
        self.processes
            .iter()
            .filter(|p| {
                p.cgroups
                    .iter()
                    .any(|pc| pc.hierarchy == c.hierarchy && cgroup::within(&pc.path, &c.path))
            })
            .map(|p| p.pid)
            .collect()
    }

    pub fn process(&self, pid: i32) -> Option<&Process> {
        self.processes
            .binary_search_by_key(&pid, |p| p.pid)
            .ok()
            .map(|i| &self.processes[i])
    }
}

/// Bytes with binary units, as htop shows memory: `512M`, `1.5G`.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}{}", UNITS[unit])
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

/// Seconds in an age: 30s, 10m, 2h, 7d; `None` when `text` is not one.
pub fn parse_age(text: &str) -> Option<u64> {
    let unit = text.chars().last().filter(|c| "smhd".contains(*c))?;
    let n: u64 = text[..text.len() - 1].parse().ok()?;
    n.checked_mul(match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        _ => 86_400,
    })
}

/// An age as `parse_age` reads it, in the largest unit that holds it whole: 604800 is `7d`.
pub fn format_age(secs: u64) -> String {
    let (size, unit) = [(86_400, 'd'), (3600, 'h'), (60, 'm')]
        .into_iter()
        .find(|&(size, _)| secs > 0 && secs.is_multiple_of(size))
        .unwrap_or((1, 's'));
    format!("{}{unit}", secs / size)
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ` (as `utc` writes it); `None` otherwise.
pub fn parse_utc(text: &str) -> Option<u64> {
    let valid = text.len() == 20
        && text.ends_with('Z')
        && text.as_bytes()[10] == b'T'
        && text.chars().enumerate().all(|(i, c)| {
            matches!(i, 4 | 7) && c == '-'
                || matches!(i, 13 | 16) && c == ':'
                || i == 10
                || i == 19
                || c.is_ascii_digit()
        });
    if !valid {
        return None;
    }
    // Bisection over the formatter: exact, and no second date parser. Up to
    // 9999-12-31T23:59:59Z, while the text compares in time order (four-digit years).
    let (mut low, mut high) = (0u64, 253_402_300_799u64);
    while low < high {
        let mid = (low + high) / 2;
        if utc(mid).as_str() < text {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    (utc(low) == text).then_some(low)
}

/// `2026-11-23T18:36:51Z` from seconds since the epoch (civil-from-days, proleptic Gregorian).
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample::{CgroupSample, ContainerName};

    const ID: &str = "7166873bbcec2a0e5b1c4a8a10f6d7cd1a3e0e2cc2d31c5c8a6bb4e0c1f7d3a9";

    #[test]
    fn ages_read_back_as_typed() {
        for typed in ["7d", "12h", "30m", "45s", "90m", "1s"] {
            assert_eq!(format_age(parse_age(typed).unwrap()), typed);
        }
        assert_eq!(format_age(604_800), "7d");
        assert_eq!(format_age(0), "0s");
    }

    /// A cgroup2 tree of a podman container (its payload one level down, as podman makes it)
    /// and its conmon, with the name podman keeps for the id.
    fn podman_sample() -> Sample {
        let cgroup = |path: &str, depth| CgroupSample {
            hierarchy: 0,
            path: path.to_owned(),
            inode: u64::from(depth) + 10,
            depth,
            files: vec![("cgroup.procs", String::new())],
        };
        let mut sample = Sample::default();
        sample.cgroups.hierarchies = crate::model::cgroup::tests::hierarchies();
        sample.cgroups.cgroups = vec![
            cgroup("/", 0),
            cgroup("/machine.slice", 1),
            cgroup(&format!("/machine.slice/libpod-{ID}.scope"), 2),
            cgroup(&format!("/machine.slice/libpod-{ID}.scope/container"), 3),
            cgroup(&format!("/machine.slice/libpod-conmon-{ID}.scope"), 2),
        ];
        sample.container_names = HashMap::from([(
            ID.to_owned(),
            ContainerName {
                name: "web".into(),
                source: "containers/storage /var/lib/containers/storage/overlay-containers/containers.json".into(),
            },
        )]);
        sample
    }

    #[test]
    fn containers_are_labelled_with_the_names_their_runtime_keeps() {
        let model = Model::new(&podman_sample(), None);
        let payload = model
            .cgroup(0, &format!("/machine.slice/libpod-{ID}.scope/container"))
            .unwrap();
        assert_eq!(
            payload.workload.label().as_deref(),
            Some("podman web (7166873bbcec)")
        );
        let container = payload.workload.container.as_ref().unwrap();
        assert_eq!(container.id.as_deref(), Some(ID));
        assert!(
            container
                .name_source
                .as_deref()
                .unwrap()
                .starts_with("containers/storage /var/lib/")
        );
        let conmon = model
            .cgroup(0, &format!("/machine.slice/libpod-conmon-{ID}.scope"))
            .unwrap();
        assert_eq!(
            conmon.workload.label().as_deref(),
            Some("podman conmon web (7166873bbcec)")
        );
        // In the JSON of the cgroup (nstop cg -J, snapshots, recordings), and read back.
        let json = serde_json::to_value(payload).unwrap();
        assert_eq!(json["container"]["name"], "web");
        assert_eq!(json["container"]["id"], ID);
        assert!(json["container"]["name_source"].is_string());
        let back: Model = serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
        assert_eq!(back.cgroups, model.cgroups);
        // Without names (a sample without the runtimes' files): the short id alone.
        let mut unnamed = podman_sample();
        unnamed.container_names.clear();
        let model = Model::new(&unnamed, None);
        let payload = model
            .cgroup(0, &format!("/machine.slice/libpod-{ID}.scope/container"))
            .unwrap();
        assert_eq!(
            payload.workload.label().as_deref(),
            Some("podman 7166873bbcec")
        );
    }

    #[test]
    fn cgroup_lookups_by_index_and_after_a_change() {
        let mut model = Model::new(&podman_sample(), None);
        assert_eq!(model.cgroup(0, "/machine.slice").unwrap().depth, 1);
        assert!(model.cgroup(0, "/nowhere").is_none());
        assert!(model.cgroup(4, "/machine.slice").is_none());
        // Changed after the index was built: still found where they are now.
        model.cgroups.remove(1);
        assert!(model.cgroup(0, "/machine.slice").is_none());
        assert_eq!(
            model
                .cgroup(0, &format!("/machine.slice/libpod-conmon-{ID}.scope"))
                .unwrap()
                .depth,
            2
        );
    }

    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc(1_795_459_011), "2026-11-23T18:36:51Z");
        assert_eq!(super::utc(951_782_400), "2000-02-29T00:00:00Z");
    }
}
