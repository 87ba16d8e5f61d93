//! The floor for a namespace scan: two threads that only open each /proc/PID/ns directory and
//! readlink its links, with nothing parsed, kept or printed beyond a count. No tool that lists
//! every process's namespaces can do less; BENCHMARKS.md compares nstop against it.
//!
//!   cargo run --release --example ns_floor [-- THREADS]

use std::mem::MaybeUninit;
use std::os::fd::AsFd;

use rustix::fs::{Mode, OFlags, RawDir, openat, readlinkat_raw};

const LINKS: [&str; 8] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .map_or(2, |t| t.parse().expect("THREADS must be a number"));
    let proc_dir = rustix::fs::open(
        "/proc",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .expect("open /proc");
    let mut pids = Vec::new();
    let mut space = [MaybeUninit::<u8>::uninit(); 8192];
    let mut entries = RawDir::new(&proc_dir, &mut space);
    while let Some(entry) = entries.next() {
        let entry = entry.expect("list /proc");
        if entry.file_name().to_bytes().iter().all(u8::is_ascii_digit) {
            pids.push(entry.file_name().to_owned());
        }
    }
    let chunk = pids.len().div_ceil(threads).max(1);
    let links: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = pids
            .chunks(chunk)
            .map(|part| {
                let proc_dir = proc_dir.as_fd();
                scope.spawn(move || {
                    let mut read = 0;
                    let mut path = Vec::with_capacity(16);
                    let mut buf = [0u8; 64];
                    for pid in part {
                        path.clear();
                        path.extend_from_slice(pid.to_bytes());
                        path.extend_from_slice(b"/ns");
                        let Ok(ns_dir) = openat(
                            proc_dir,
                            path.as_slice(),
                            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                            Mode::empty(),
                        ) else {
                            continue;
                        };
                        read += LINKS
                            .iter()
                            .filter(|name| readlinkat_raw(&ns_dir, **name, &mut buf).is_ok())
                            .count();
                    }
                    read
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    println!("{} processes, {links} links", pids.len());
}
