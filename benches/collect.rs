//! What one collection costs on the live host, wall and CPU (all threads): the first sample of
//! a one-shot command, a steady-state tick of the explorer's sampler (which re-reads only what
//! may have changed), and its parts. `cargo bench --bench collect` (as root, after
//! `scripts/populate.sh start N` for scale); BENCHMARKS.md has the numbers.

use std::hint::black_box;
use std::time::{Duration, Instant};

use nstop::model::Model;
use nstop::sys::{self, Collect, Roots, cgroupfs};

const RUNS: usize = 11;

/// Median wall time and median CPU time of the whole process over `RUNS` runs.
fn measure(mut f: impl FnMut()) -> (Duration, Duration) {
    let cpu = || {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    };
    let (mut walls, mut cpus): (Vec<_>, Vec<_>) = (0..RUNS)
        .map(|_| {
            let (wall, used) = (Instant::now(), cpu());
            f();
            (wall.elapsed(), cpu() - used)
        })
        .unzip();
    walls.sort();
    cpus.sort();
    (walls[RUNS / 2], cpus[RUNS / 2])
}

fn report(what: &str, (wall, cpu): (Duration, Duration)) {
    println!(
        "{what:<58} wall {:>7.1} ms   cpu {:>7.1} ms",
        wall.as_secs_f64() * 1e3,
        cpu.as_secs_f64() * 1e3
    );
}

fn main() {
    let roots = Roots::default();
    let probe = sys::sample(&roots, Collect::Everything).expect("sample");
    println!(
        "{} processes, {} cgroups (medians of {RUNS} runs)",
        probe.procs.len(),
        probe.cgroups.cgroups.len()
    );
    report(
        "one-shot sample, namespaces (nstop ns)",
        measure(|| {
            black_box(sys::sample(&roots, Collect::Namespaces).expect("sample"));
        }),
    );
    report(
        "one-shot sample, everything (nstop snapshot)",
        measure(|| {
            black_box(sys::sample(&roots, Collect::Everything).expect("sample"));
        }),
    );
    report(
        "  of which cgroup files (no member lists)",
        measure(|| {
            black_box(cgroupfs::sample(&roots, false));
        }),
    );
    let mut sampler = sys::Sampler::background();
    let mut prev = sampler.sample(&roots, Collect::Everything).expect("sample");
    report(
        "explorer tick, everything (warm, one thread)",
        measure(|| {
            prev = sampler.sample(&roots, Collect::Everything).expect("sample");
        }),
    );
    let next = sampler.sample(&roots, Collect::Everything).expect("sample");
    report(
        "explorer tick, model from two samples",
        measure(|| {
            black_box(Model::new(&next, Some(&prev)));
        }),
    );
}
