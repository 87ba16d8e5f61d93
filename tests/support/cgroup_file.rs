//! Shared by the fuzz targets (fuzz/src/lib.rs) and the property tests (tests/parsers.rs): a
//! cgroup sample whose every cgroup, in a cgroup2 hierarchy and in a v1 hierarchy with every
//! controller, holds the given text in one file, joined by the model exactly as a live tick is
//! (twice, so rates are computed from two texts too).

use std::time::Duration;

use nstop::model::cgroup::{Members, build};
use nstop::model::sample::{CgroupSample, CgroupsSample, HierarchySample};

fn sample(name: &'static str, text: &str, taken_at: u64) -> CgroupsSample {
    let hierarchy = |id: u32, version: u8, controllers: &[&str]| HierarchySample {
        id,
        version,
        mount: format!("/sys/fs/cgroup/{id}"),
        root: "/".into(),
        controllers: controllers.iter().map(|c| c.to_string()).collect(),
    };
    let hierarchies = vec![
        hierarchy(0, 2, &["cpu", "io", "memory", "pids"]),
        hierarchy(
            3,
            1,
            &["blkio", "cpu", "cpuacct", "freezer", "memory", "pids"],
        ),
    ];
    let cgroups = hierarchies
        .iter()
        .flat_map(|h| {
            [("/", 0), ("/a", 1)].map(|(path, depth)| CgroupSample {
                hierarchy: h.id,
                path: path.into(),
                inode: u64::from(h.id) * 10 + u64::from(depth),
                depth,
                files: vec![(name, text.to_owned())],
            })
        })
        .collect();
    CgroupsSample {
        taken_at: Duration::from_secs(taken_at),
        page_size: 4096,
        clock_ticks: 100,
        hierarchies,
        cgroups,
        system_pressure: vec![("memory", text.to_owned())],
    }
}

/// The model built from cgroups whose file `name` reads `data` (split in two: the previous
/// tick's text and this one's).
pub fn cgroup_file(name: &'static str, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (before, now) = text.split_at(text.floor_char_boundary(text.len() / 2));
    let prev = sample(name, before, 1);
    let now = sample(name, now, 2);
    std::hint::black_box(build(&now, Some(&prev), Members::new()));
    std::hint::black_box(nstop::model::host::Host::new(&now, Some(&prev)));
}
