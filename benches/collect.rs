//! What one collection costs on the live host, wall and CPU (all threads): the first sample of
//! a one-shot command, a repeated one (`snapshot --interval`) and a steady-state tick of the
//! explorer's sampler (both re-read only what may have changed), and their parts. `cargo bench --bench collect` (as root, after
//! `scripts/populate.sh start N` for scale); BENCHMARKS.md has the numbers.

use std::hint::black_box;
use std::time::{Duration, Instant};

use nstop::model::Model;
use nstop::sys::{self, Collect, Roots, cgroupfs};

const RUNS: usize = 11;

/// Counts the bytes allocated and not yet freed, to report what each structure holds.
struct Counting;

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// The most `LIVE` has been since it was last reset.
static PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn count_up(size: usize) {
    let live = LIVE.fetch_add(size, std::sync::atomic::Ordering::Relaxed) + size;
    PEAK.fetch_max(live, std::sync::atomic::Ordering::Relaxed);
}

// SAFETY: forwards to the system allocator, only counting.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_up(layout.size());
        // SAFETY: same layout.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: allocated by `alloc` with this layout.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        count_up(new);
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: as for realloc.
        unsafe { std::alloc::System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes `make` leaves held (what it returns, and anything it keeps), and the most it
/// had allocated at once on top of what was held before.
fn held<T>(what: &str, make: impl FnOnce() -> T) -> T {
    let before = LIVE.load(std::sync::atomic::Ordering::Relaxed);
    PEAK.store(before, std::sync::atomic::Ordering::Relaxed);
    let value = make();
    let after = LIVE.load(std::sync::atomic::Ordering::Relaxed);
    let peak = PEAK.load(std::sync::atomic::Ordering::Relaxed) - before;
    let change = after as f64 - before as f64;
    println!(
        "{what:<58} heap {:>+7.1} MiB (peak +{:.1})",
        change / 1048576.0,
        peak as f64 / 1048576.0
    );
    value
}

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
        "one-shot sample, namespace list (nstop ns)",
        measure(|| {
            black_box(sys::sample(&roots, Collect::NamespaceList).expect("sample"));
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
    let mut again = sys::Sampler::new(sys::Pace::Again);
    again.sample(&roots, Collect::Everything).expect("sample");
    report(
        "repeated collection, everything (warm, all cores)",
        measure(|| {
            black_box(again.sample(&roots, Collect::Everything).expect("sample"));
        }),
    );
    drop(again);
    let mut sampler = sys::Sampler::new(sys::Pace::Background);
    let mut prev = sampler.sample(&roots, Collect::Everything).expect("sample");
    report(
        "explorer tick, everything (warm, one thread)",
        measure(|| {
            prev = sampler.sample(&roots, Collect::Everything).expect("sample");
        }),
    );
    let next = held("a sample (and what the sampler keeps of it)", || {
        sampler.sample(&roots, Collect::Everything).expect("sample")
    });
    let model = held("a model", || Model::new(&next, Some(&prev)));
    held("the sampler's knowledge of each process (dropped)", || {
        drop(sampler)
    });
    drop(model);
    report(
        "explorer tick, model from two samples",
        measure(|| {
            black_box(Model::new(&next, Some(&prev)));
        }),
    );
}
