#![no_main]
//! memory.stat, in cgroup2 and v1 memory cgroups.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nstop_fuzz::cgroup_file("memory.stat", data);
});
