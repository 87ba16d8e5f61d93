#![no_main]
//! memory.events (and v1 memory.oom_control, read the same way).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nstop_fuzz::cgroup_file("memory.events", data);
    nstop_fuzz::cgroup_file("memory.oom_control", data);
});
