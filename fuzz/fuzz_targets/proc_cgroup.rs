#![no_main]
//! /proc/PID/cgroup.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    std::hint::black_box(nstop::model::kernel_text::proc_cgroup(&text));
    std::hint::black_box(nstop::sys::cgroupfs::hierarchy_ids(&text));
});
