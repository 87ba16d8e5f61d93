#![no_main]
//! cpu.max, alone and in cgroups.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    std::hint::black_box(nstop::model::kernel_text::cpu_max(&text));
    nstop_fuzz::cgroup_file("cpu.max", data);
});
