//! The names users gave their containers (`podman run --name web`), read from the state files
//! the runtimes keep on the host for themselves: no daemon is asked, so names show while it
//! is down or hung.
//!
//! | runtime | file |
//! |---|---|
//! | podman, CRI-O (containers/storage) | `/var/lib/containers/storage/<driver>-containers/containers.json`, and the transient store under `/run/containers/storage` |
//! | docker | `/var/lib/docker/containers/<id>/config.v2.json` (`Name`) |
//! | containerd (Kubernetes) | `/run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/config.json` (the CRI annotations) |
//!
//! nstop runs as root and these paths are below directories only root writes to; still, no
//! symlink is followed at any step, every directory on the way and the file itself must belong
//! to root (in a fixture tree: to the tree's owner) and the file must be a regular one, at
//! most `MAX_STATE_FILE` bytes. A missing or unreadable file is no names; a file that is not
//! trusted, too large or malformed is no names and a note.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags, Stat, fstat, openat};
use rustix::io::Errno;
use serde::Deserialize;

use crate::model::oom::OomEvent;
use crate::model::sample::ContainerName;
use crate::model::workload;
use crate::sys::roots::Roots;

/// The largest state file read. containers.json lists every container of the host, running or
/// not (about 1.5 KB each: a few MB on a busy host); docker's and containerd's per-container
/// files are tens of KB. A larger file is skipped with a note, not read into memory each tick.
pub const MAX_STATE_FILE: u64 = 64 << 20;

/// containers/storage keeps its graph (`/var/lib`) and, for `transient_store`, its run
/// (`/run`) state; the containers file is named after the storage driver.
const STORAGE_ROOTS: [&str; 2] = ["/var/lib/containers/storage", "/run/containers/storage"];
const STORAGE_DRIVERS: [&str; 4] = ["overlay", "vfs", "btrfs", "zfs"];

/// A runtime that keeps a file per container: its name (as `workload::recognise` says it),
/// the file's path with `{id}` for the container's id, and what reads the name in it.
type PerContainer = (
    &'static str,
    &'static str,
    fn(&[u8]) -> Result<Option<String>, String>,
);

const PER_CONTAINER: [PerContainer; 2] = [
    (
        "docker",
        "/var/lib/docker/containers/{id}/config.v2.json",
        parse_docker,
    ),
    (
        "containerd",
        "/run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}/config.json",
        parse_containerd,
    ),
];

/// A container to name: its runtime as `workload::recognise` calls it (docker, podman, cri-o,
/// containerd, or cri for a Kubernetes container of unknown runtime) and its full id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Wanted {
    pub runtime: String,
    pub id: String,
}

/// The containers (and monitored containers) the cgroup paths are, each once.
pub fn wanted<'a>(paths: impl IntoIterator<Item = &'a str>) -> Vec<Wanted> {
    let mut seen = HashSet::new();
    let mut out = BTreeSet::new();
    for path in paths {
        if !seen.insert(path) {
            continue;
        }
        let w = workload::recognise(path);
        for c in [w.container, w.monitor].into_iter().flatten() {
            if let Some(id) = c.id {
                out.insert(Wanted {
                    runtime: c.runtime,
                    id,
                });
            }
        }
    }
    out.into_iter().collect()
}

/// Names by full container id, and why some file gave none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeNames {
    pub names: HashMap<String, ContainerName>,
    pub notes: Vec<String>,
}

/// The names of the `wanted` containers, read once.
pub fn container_names(roots: &Roots, wanted: &[Wanted]) -> RuntimeNames {
    NameReader::default().read(roots, wanted)
}

/// Names the containers of OOM events' cgroups (which may be gone by now: the runtimes keep
/// a stopped container's state until it is removed).
pub fn name_events(roots: &Roots, events: &mut [OomEvent]) {
    let wanted = wanted(events.iter().flat_map(OomEvent::cgroup_paths));
    if wanted.is_empty() {
        return;
    }
    let names = container_names(roots, &wanted).names;
    for e in events {
        e.name_workloads(&names);
    }
}

/// What one state file gave: (id, name) pairs, or why none.
type Parsed = Result<Vec<(String, String)>, String>;

/// A file as fstat saw it (device, inode, size, modification and change times): the same
/// stamp twice is the same content (podman and docker write their state to a new file and
/// rename it over the old one: a new inode).
type Stamp = [i128; 7];

fn stamp(st: &Stat) -> Stamp {
    [
        i128::from(st.st_dev),
        i128::from(st.st_ino),
        i128::from(st.st_size),
        i128::from(st.st_mtime),
        i128::from(st.st_mtime_nsec),
        i128::from(st.st_ctime),
        i128::from(st.st_ctime_nsec),
    ]
}

/// Reads names tick after tick, parsing a file again only when it changed (containers.json of
/// a busy host is megabytes of JSON).
#[derive(Default)]
pub struct NameReader {
    /// By host path: the file's stamp and what it gave.
    cache: HashMap<String, (Stamp, Parsed)>,
}

/// Why a file was not read.
enum Refused {
    /// Absent, or not ours to read (nstop without root): simply no names.
    Quiet,
    /// Not trusted or too large: said in a note.
    Said(String),
}

fn refused(e: Errno) -> Refused {
    match e {
        Errno::NOENT | Errno::ACCESS | Errno::PERM => Refused::Quiet,
        Errno::LOOP | Errno::NOTDIR => {
            Refused::Said("a symbolic link or not a directory on the way, not followed".into())
        }
        e => Refused::Said(e.to_string()),
    }
}

/// The roots' `/` opened, and whose files to believe: root's on the host; in a fixture tree
/// (tests, `--root`), whoever owns the tree.
struct Top {
    dir: OwnedFd,
    trusted: u32,
}

impl Top {
    fn open(roots: &Roots) -> Option<Top> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = rustix::fs::open(&roots.fs, flags, Mode::empty()).ok()?;
        let trusted = if roots.fs == Path::new("/") {
            0
        } else {
            fstat(&dir).ok()?.st_uid
        };
        Some(Top { dir, trusted })
    }

    /// Opens `path` (absolute on the host) below the top without following a symlink at any
    /// step: every directory on the way and the file owned by the trusted user, the file a
    /// regular one of at most `MAX_STATE_FILE` bytes.
    fn open_file(&self, path: &str) -> Result<(OwnedFd, Stat), Refused> {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let Some((file, dirs)) = parts.split_last() else {
            return Err(Refused::Quiet);
        };
        let owned = |st: &Stat, what: &str| {
            if st.st_uid == self.trusted {
                Ok(())
            } else {
                Err(Refused::Said(format!(
                    "{what} owned by uid {}, not {}",
                    st.st_uid,
                    self.owner_name()
                )))
            }
        };
        let mut here: Option<OwnedFd> = None;
        for (i, dir) in dirs.iter().enumerate() {
            let at: BorrowedFd = here.as_ref().map_or(self.dir.as_fd(), |fd| fd.as_fd());
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = openat(at, *dir, flags, Mode::empty()).map_err(refused)?;
            let st = fstat(&fd).map_err(refused)?;
            owned(&st, &format!("directory /{}", dirs[..=i].join("/")))?;
            here = Some(fd);
        }
        let at: BorrowedFd = here.as_ref().map_or(self.dir.as_fd(), |fd| fd.as_fd());
        // Non-blocking: a FIFO put there would otherwise hang the open (it is refused below).
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = openat(at, *file, flags, Mode::empty()).map_err(|e| match e {
            Errno::LOOP => Refused::Said("a symbolic link, not followed".into()),
            e => refused(e),
        })?;
        let st = fstat(&fd).map_err(refused)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(Refused::Said("not a regular file".into()));
        }
        owned(&st, "the file")?;
        if st.st_size as u64 > MAX_STATE_FILE {
            return Err(too_large());
        }
        Ok((fd, st))
    }

    fn owner_name(&self) -> String {
        if self.trusted == 0 {
            "root".into()
        } else {
            format!("the tree's owner {}", self.trusted)
        }
    }
}

fn too_large() -> Refused {
    Refused::Said(format!(
        "larger than {} MiB, not read",
        MAX_STATE_FILE >> 20
    ))
}

/// The whole file; refused when it grew past the cap while being read.
fn read_capped(fd: OwnedFd, size: u64) -> Result<Vec<u8>, Refused> {
    let mut text = Vec::with_capacity(size.min(MAX_STATE_FILE) as usize + 1);
    std::fs::File::from(fd)
        .take(MAX_STATE_FILE + 1)
        .read_to_end(&mut text)
        .map_err(|e| Refused::Said(e.to_string()))?;
    if text.len() as u64 > MAX_STATE_FILE {
        return Err(too_large());
    }
    Ok(text)
}

/// Ids name paths: only hex digits (as `workload::recognise` finds them) may go into one.
fn is_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit())
}

impl NameReader {
    /// The names of the `wanted` containers.
    pub fn read(&mut self, roots: &Roots, wanted: &[Wanted]) -> RuntimeNames {
        if wanted.is_empty() {
            self.cache.clear();
            return RuntimeNames::default();
        }
        let Some(top) = Top::open(roots) else {
            return RuntimeNames::default();
        };
        self.read_from(&top, wanted)
    }

    fn read_from(&mut self, top: &Top, wanted: &[Wanted]) -> RuntimeNames {
        let mut out = RuntimeNames::default();
        let mut used = HashSet::new();
        let wanted: Vec<&Wanted> = wanted.iter().filter(|w| is_id(&w.id)).collect();
        let of = |runtimes: &[&str]| -> Vec<&str> {
            wanted
                .iter()
                .filter(|w| w.runtime == "cri" || runtimes.contains(&w.runtime.as_str()))
                .map(|w| w.id.as_str())
                .collect()
        };
        // containers/storage: every container of the host in one file, read only when one of
        // its runtimes' containers is wanted.
        let storage: HashSet<&str> = of(&["podman", "cri-o"]).into_iter().collect();
        if !storage.is_empty() {
            for root in STORAGE_ROOTS {
                for driver in STORAGE_DRIVERS {
                    let path = format!("{root}/{driver}-containers/containers.json");
                    let keep = |id: &str| storage.contains(id);
                    let found =
                        self.file(top, &path, &mut used, &mut out.notes, parse_storage, keep);
                    let source = format!("containers/storage {path}");
                    for (id, name) in found {
                        add(&mut out.names, id, name, &source);
                    }
                }
            }
        }
        // docker and containerd: a directory per container, opened by its id for the wanted
        // ones only. Listing them instead would read every stopped container's file too (a
        // host may keep thousands), where the path of a wanted one is known.
        for (runtime, pattern, parse) in PER_CONTAINER {
            for id in of(&[runtime]) {
                if out.names.contains_key(id) {
                    continue;
                }
                let path = pattern.replace("{id}", id);
                let parse_one = |text: &[u8]| -> Parsed {
                    Ok(parse(text)?
                        .map(|name| (id.to_owned(), name))
                        .into_iter()
                        .collect())
                };
                let found = self.file(top, &path, &mut used, &mut out.notes, parse_one, |_| true);
                for (id, name) in found {
                    add(&mut out.names, id, name, &format!("{runtime} {path}"));
                }
            }
        }
        // Files no longer wanted (their containers gone) leave the cache.
        self.cache.retain(|path, _| used.contains(path));
        out
    }

    /// The (id, name) pairs of the file at host path `path` whose id to `keep`: parsed again
    /// only when its stamp changed.
    fn file(
        &mut self,
        top: &Top,
        path: &str,
        used: &mut HashSet<String>,
        notes: &mut Vec<String>,
        parse: impl FnOnce(&[u8]) -> Parsed,
        keep: impl Fn(&str) -> bool,
    ) -> Vec<(String, String)> {
        used.insert(path.to_owned());
        let parsed = top.open_file(path).and_then(|(fd, st)| {
            let now = stamp(&st);
            let fresh = self.cache.get(path).is_some_and(|(seen, _)| *seen == now);
            if !fresh {
                let parsed = parse(&read_capped(fd, st.st_size as u64)?);
                self.cache.insert(path.to_owned(), (now, parsed));
            }
            Ok(&self.cache[path].1)
        });
        let why = match parsed {
            Ok(Ok(pairs)) => {
                return pairs.iter().filter(|(id, _)| keep(id)).cloned().collect();
            }
            Ok(Err(why)) => why.clone(),
            Err(Refused::Said(why)) => why,
            Err(Refused::Quiet) => return Vec::new(),
        };
        // The parser's message may quote the file: host text.
        let note = format!("container names: {path}: {why}");
        notes.push(crate::text::printable(&note).into_owned());
        Vec::new()
    }
}

/// The first file to name a container wins.
fn add(names: &mut HashMap<String, ContainerName>, id: String, name: String, source: &str) {
    names.entry(id).or_insert_with(|| ContainerName {
        name,
        source: source.to_owned(),
    });
}

/// One container of containers/storage's containers.json; the other fields (layer, image,
/// metadata, created, flags, big-data-*) are not needed.
#[derive(Deserialize)]
struct StorageContainer {
    id: String,
    #[serde(default)]
    names: Vec<String>,
}

/// containers/storage's `containers.json`: a JSON array of containers, each with its `id`
/// and `names` (the first is the one podman and CRI-O show). Each container with a name.
pub fn parse_storage(text: &[u8]) -> Parsed {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let list: Vec<StorageContainer> =
        serde_json::from_slice(text).map_err(|e| format!("not a containers.json: {e}"))?;
    Ok(list
        .into_iter()
        .filter_map(|c| {
            let name = c.names.into_iter().next().filter(|n| !n.is_empty())?;
            Some((c.id, name))
        })
        .collect())
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(rename = "Name", default)]
    name: String,
}

/// docker's `config.v2.json`: `Name` is `/web` for `--name web`.
pub fn parse_docker(text: &[u8]) -> Result<Option<String>, String> {
    let config: DockerConfig =
        serde_json::from_slice(text).map_err(|e| format!("not a config.v2.json: {e}"))?;
    let name = config.name.strip_prefix('/').unwrap_or(&config.name);
    Ok(Some(name.to_owned()).filter(|n| !n.is_empty()))
}

#[derive(Deserialize)]
struct OciSpec {
    #[serde(default)]
    annotations: HashMap<String, String>,
}

/// An OCI runtime spec (`config.json`) that containerd's CRI plugin wrote: the Kubernetes
/// namespace, pod and container names from its annotations, as `namespace/pod/container`;
/// a pod's sandbox (pause) container is `namespace/pod/POD`, as dockershim and CRI-O call it.
pub fn parse_containerd(text: &[u8]) -> Result<Option<String>, String> {
    let spec: OciSpec =
        serde_json::from_slice(text).map_err(|e| format!("not an OCI config.json: {e}"))?;
    let get = |key: &str| {
        spec.annotations
            .get(&format!("io.kubernetes.cri.{key}"))
            .filter(|v| !v.is_empty())
    };
    let container = match get("container-name") {
        Some(name) => name.as_str(),
        None if get("container-type").is_some_and(|t| t == "sandbox") => "POD",
        None => return Ok(None),
    };
    Ok(Some(
        match (get("sandbox-namespace"), get("sandbox-name")) {
            (Some(ns), Some(pod)) => format!("{ns}/{pod}/{container}"),
            (None, Some(pod)) => format!("{pod}/{container}"),
            _ => container.to_owned(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/runtimes");

    /// Podman 4.3 containers: `web` (one name) and `db` (three).
    const WEB: &str = "7166873bbcec2a0e5b1c4a8a10f6d7cd1a3e0e2cc2d31c5c8a6bb4e0c1f7d3a9";
    const DB: &str = "b5f0d9c2a8e14f7e9a3c6d2b1e0f4a7c8d9e2f1a0b3c4d5e6f708192a3b4c5d6";
    /// Podman's transient store (/run).
    const SCRATCH: &str = "0c9e2f7a1b3d5c8e4f6a2b9d7c1e3f5a8b0d2c4e6f8a1b3d5c7e9f0a2b4c6d8e";
    /// CRI-O (containers/storage too).
    const CRIO: &str = "e1d2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f80910";
    const DOCKER: &str = "4f9a1c2e3b5d7f8091a2b3c4d5e6f7081929a0b1c2d3e4f5a6b7c8d9e0f1a2b3";
    const REDIS: &str = "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9";
    const PAUSE: &str = "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f";

    fn want(runtime: &str, id: &str) -> Wanted {
        Wanted {
            runtime: runtime.into(),
            id: id.into(),
        }
    }

    fn name(names: &RuntimeNames, id: &str) -> Option<(String, String)> {
        names
            .names
            .get(id)
            .map(|n| (n.name.clone(), n.source.clone()))
    }

    #[test]
    fn names_from_each_runtime_in_the_fixture_tree() {
        let roots = Roots::under(Path::new(FIXTURE));
        let names = container_names(
            &roots,
            &[
                want("podman", WEB),
                want("podman", DB),
                want("podman", SCRATCH),
                want("cri-o", CRIO),
                want("docker", DOCKER),
                want("containerd", REDIS),
                want("containerd", PAUSE),
                want("podman", "00aa00aa00aa"),
            ],
        );
        assert_eq!(names.notes, Vec::<String>::new());
        let storage =
            "containers/storage /var/lib/containers/storage/overlay-containers/containers.json";
        assert_eq!(name(&names, WEB), Some(("web".into(), storage.into())));
        assert_eq!(name(&names, DB).unwrap().0, "db", "the first of its names");
        assert_eq!(
            name(&names, SCRATCH),
            Some((
                "scratch".into(),
                "containers/storage /run/containers/storage/overlay-containers/containers.json"
                    .into()
            ))
        );
        assert_eq!(
            name(&names, CRIO).unwrap().0,
            "k8s_nginx_web-0_shop_7c1d0e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f_0"
        );
        assert_eq!(
            name(&names, DOCKER),
            Some((
                "api".into(),
                format!("docker /var/lib/docker/containers/{DOCKER}/config.v2.json")
            ))
        );
        assert_eq!(
            name(&names, REDIS),
            Some((
                "default/cache-0/redis".into(),
                format!(
                    "containerd /run/containerd/io.containerd.runtime.v2.task/k8s.io/{REDIS}/config.json"
                )
            ))
        );
        assert_eq!(name(&names, PAUSE).unwrap().0, "default/cache-0/POD");
        assert_eq!(names.names.len(), 7, "the unknown podman id has no name");
    }

    #[test]
    fn only_wanted_ids_and_only_their_runtimes_files() {
        let roots = Roots::under(Path::new(FIXTURE));
        let names = container_names(&roots, &[want("podman", WEB)]);
        assert_eq!(names.names.keys().collect::<Vec<_>>(), [WEB]);
        // A docker id is not looked up in containers.json, nor a podman id in docker's files.
        let names = container_names(&roots, &[want("docker", WEB), want("podman", DOCKER)]);
        assert!(names.names.is_empty());
        // A Kubernetes container of unknown runtime (cgroupfs driver) is looked up everywhere.
        let names = container_names(&roots, &[want("cri", REDIS), want("cri", CRIO)]);
        assert_eq!(names.names.len(), 2);
        // An id that is not hex never reaches a path.
        let names = container_names(&roots, &[want("docker", &format!("../../{DOCKER}"))]);
        assert!(names.names.is_empty() && names.notes.is_empty());
        assert!(container_names(&roots, &[]).names.is_empty());
        let nowhere = Roots::under(Path::new("/nonexistent-nstop-tree"));
        assert_eq!(
            container_names(&nowhere, &[want("podman", WEB)]),
            RuntimeNames::default()
        );
    }

    #[test]
    fn wanted_from_cgroup_paths() {
        let w = wanted([
            format!("/machine.slice/libpod-{WEB}.scope/container").as_str(),
            format!("/machine.slice/libpod-{WEB}.scope").as_str(),
            format!("/machine.slice/libpod-conmon-{DB}.scope").as_str(),
            "/system.slice/sshd.service",
            "/lxc.payload.web1",
        ]);
        assert_eq!(w, [want("podman", WEB), want("podman", DB)]);
    }

    #[test]
    fn oom_events_named_by_their_cgroups_ids() {
        let roots = Roots::under(Path::new(FIXTURE));
        let mut events = vec![
            OomEvent {
                oom_memcg: Some(format!("/machine.slice/libpod-{WEB}.scope")),
                task_memcg: Some(format!("/machine.slice/libpod-{WEB}.scope/container")),
                ..OomEvent::default()
            },
            OomEvent {
                task_memcg: Some(format!("/system.slice/docker-{DOCKER}.scope")),
                ..OomEvent::default()
            },
            OomEvent::default(),
        ];
        for e in &mut events {
            e.recognise_workloads();
        }
        name_events(&roots, &mut events);
        assert_eq!(
            events[0].container.as_deref(),
            Some("podman web (7166873bbcec)")
        );
        let oom = events[0].oom_workload.as_ref().unwrap();
        assert_eq!(oom.container.as_ref().unwrap().name.as_deref(), Some("web"));
        assert_eq!(
            events[1].container.as_deref(),
            Some("docker api (4f9a1c2e3b5d)")
        );
        assert_eq!(events[2].container, None);
    }

    /// A tree of one podman container: containers.json as given.
    fn podman_tree(dir: &Path, containers_json: &str) -> std::path::PathBuf {
        let store = dir.join("var/lib/containers/storage/overlay-containers");
        std::fs::create_dir_all(&store).unwrap();
        let file = store.join("containers.json");
        std::fs::write(&file, containers_json).unwrap();
        file
    }

    fn one_podman(id: &str, name: &str) -> String {
        format!(
            r#"[{{"id":"{id}","names":["{name}"],"layer":"","metadata":"","created":"2026-01-01T00:00:00Z","flags":{{}}}}]"#
        )
    }

    #[test]
    fn a_symlinked_containers_json_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("elsewhere.json");
        std::fs::write(&real, one_podman(WEB, "evil")).unwrap();
        let file = podman_tree(dir.path(), "");
        std::fs::remove_file(&file).unwrap();
        symlink(&real, &file).unwrap();
        let names = container_names(&Roots::under(dir.path()), &[want("podman", WEB)]);
        assert!(names.names.is_empty());
        assert_eq!(names.notes.len(), 1);
        assert!(
            names.notes[0].contains("symbolic link"),
            "{:?}",
            names.notes
        );

        // Nor a symlinked directory on the way.
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        podman_tree(&elsewhere, &one_podman(WEB, "evil"));
        std::fs::create_dir_all(dir.path().join("var/lib")).unwrap();
        symlink(
            elsewhere.join("var/lib/containers"),
            dir.path().join("var/lib/containers"),
        )
        .unwrap();
        let names = container_names(&Roots::under(dir.path()), &[want("podman", WEB)]);
        assert!(names.names.is_empty());
        assert!(names.notes[0].contains("not followed"), "{:?}", names.notes);
    }

    #[test]
    fn a_file_of_another_user_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = podman_tree(dir.path(), &one_podman(WEB, "web"));
        let roots = Roots::under(dir.path());
        let top = Top::open(&roots).unwrap();
        assert_eq!(
            NameReader::default()
                .read_from(&top, &[want("podman", WEB)])
                .names[WEB]
                .name,
            "web"
        );
        // Believing someone else (as the host's reader believes root alone): refused.
        let stranger = Top {
            trusted: top.trusted + 1,
            ..top
        };
        let names = NameReader::default().read_from(&stranger, &[want("podman", WEB)]);
        assert!(names.names.is_empty());
        assert!(names.notes[0].contains("owned by uid"), "{:?}", names.notes);
        // As root: a file really owned by another user, in a tree root owns.
        if crate::sys::is_root() {
            std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
            let names = container_names(&roots, &[want("podman", WEB)]);
            assert!(names.names.is_empty());
            assert!(
                names.notes[0].contains("the file owned by uid 65534"),
                "{:?}",
                names.notes
            );
        }
    }

    #[test]
    fn malformed_large_or_odd_files_give_no_names_and_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let file = podman_tree(dir.path(), "[{\"id\": 12");
        let roots = Roots::under(dir.path());
        let names = container_names(&roots, &[want("podman", WEB)]);
        assert!(names.names.is_empty());
        assert!(
            names.notes[0].contains("not a containers.json"),
            "{:?}",
            names.notes
        );
        // Empty: a store with no container yet.
        std::fs::write(&file, "").unwrap();
        assert_eq!(
            container_names(&roots, &[want("podman", WEB)]),
            RuntimeNames::default()
        );
        // Larger than the cap (sparse: nothing is written).
        let big = std::fs::File::create(&file).unwrap();
        big.set_len(MAX_STATE_FILE + 1).unwrap();
        let names = container_names(&roots, &[want("podman", WEB)]);
        assert!(
            names.notes[0].contains("larger than 64 MiB"),
            "{:?}",
            names.notes
        );
        // A FIFO: refused without blocking.
        std::fs::remove_file(&file).unwrap();
        nix::unistd::mkfifo(&file, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let names = container_names(&roots, &[want("podman", WEB)]);
        assert!(
            names.notes[0].contains("not a regular file"),
            "{:?}",
            names.notes
        );
        // Docker's file with a Name of the wrong type.
        let docker = dir
            .path()
            .join(format!("var/lib/docker/containers/{DOCKER}"));
        std::fs::create_dir_all(&docker).unwrap();
        std::fs::write(docker.join("config.v2.json"), r#"{"Name": 7}"#).unwrap();
        let names = container_names(&roots, &[want("docker", DOCKER)]);
        assert!(names.names.is_empty());
        assert!(
            names.notes[0].contains("not a config.v2.json"),
            "{:?}",
            names.notes
        );
    }

    #[test]
    fn a_changed_file_is_read_again_an_unchanged_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = podman_tree(dir.path(), &one_podman(WEB, "web"));
        let roots = Roots::under(dir.path());
        let mut reader = NameReader::default();
        let wanted = [want("podman", WEB)];
        assert_eq!(reader.read(&roots, &wanted).names[WEB].name, "web");
        // Replaced as podman does (a new file renamed over it).
        let new = file.with_extension("tmp");
        std::fs::write(&new, one_podman(WEB, "web2")).unwrap();
        std::fs::rename(&new, &file).unwrap();
        assert_eq!(reader.read(&roots, &wanted).names[WEB].name, "web2");
        assert_eq!(reader.cache.len(), 1);
        // Unchanged: the cached parse is used.
        let key = file_key();
        reader.cache.get_mut(&key).unwrap().1 = Ok(vec![(WEB.into(), "cached".into())]);
        assert_eq!(reader.read(&roots, &wanted).names[WEB].name, "cached");
        // No longer wanted: dropped from the cache.
        reader.read(&roots, &[]);
        assert!(reader.cache.is_empty());
    }

    fn file_key() -> String {
        "/var/lib/containers/storage/overlay-containers/containers.json".into()
    }

    #[test]
    fn parsers_take_the_formats_and_refuse_the_rest() {
        assert_eq!(
            parse_storage(br#"[{"id":"ab","names":["x","y"]},{"id":"cd","names":[]},{"id":"ef"}]"#),
            Ok(vec![("ab".into(), "x".into())])
        );
        assert!(parse_storage(b"{}").is_err());
        assert_eq!(
            parse_docker(br#"{"ID":"ab","Name":"/web"}"#),
            Ok(Some("web".into()))
        );
        assert_eq!(parse_docker(br#"{"ID":"ab"}"#), Ok(None));
        assert!(parse_docker(b"[").is_err());
        assert_eq!(parse_containerd(br#"{"ociVersion":"1.1.0"}"#), Ok(None));
        assert_eq!(
            parse_containerd(br#"{"annotations":{"io.kubernetes.cri.container-name":"redis"}}"#),
            Ok(Some("redis".into()))
        );
        assert!(parse_containerd(br#"{"annotations":[]}"#).is_err());
    }
}
