#![no_main]
//! Namespace link text (`net:[4026531840]`), as readlink returns it.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    std::hint::black_box(nstop::sys::ns::parse_ns_link(data));
});
