#![no_main]
//! /proc/PID/mountinfo: its cgroup mounts and nsfs bind mounts.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    std::hint::black_box(nstop::sys::cgroupfs::parse_cgroup_mounts(&text));
    std::hint::black_box(nstop::sys::mounts::parse_nsfs_mounts(&text));
});
