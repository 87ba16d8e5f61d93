#![no_main]
//! The `NSpid:` line of /proc/PID/status.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    std::hint::black_box(nstop::sys::proc::parse_nspid(data));
});
