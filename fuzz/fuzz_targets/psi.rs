#![no_main]
//! A PSI file (/proc/pressure/*, <cgroup>/*.pressure), alone and in cgroups.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    std::hint::black_box(nstop::model::kernel_text::psi(&text));
    nstop_fuzz::cgroup_file("memory.pressure", data);
});
