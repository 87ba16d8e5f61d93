#![no_main]
//! Kernel log lines (kmsg records, dmesg, syslog) parsed into OOM reports.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<_> = text.lines().map(nstop::model::oom::log_line).collect();
    let (whole, _) = nstop::model::oom::split_unfinished(lines);
    std::hint::black_box(nstop::model::oom::parse_reports(whole));
});
