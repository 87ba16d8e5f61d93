#![no_main]
//! A limit a user types (`memory.max=1.5G`, `cpu.max=50%`...); the first byte picks the CPU count.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((&cpus, rest)) = data.split_first() {
        let text = String::from_utf8_lossy(rest);
        let _ = nstop::ops::limits::parse(&text, usize::from(cpus));
        let _ = nstop::ops::limits::parse_size(&text);
    }
});
