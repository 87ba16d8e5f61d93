//! Every parser of kernel text and user input, on arbitrary bytes and on lines shaped like the
//! real ones with the numbers and words swapped: none may panic. The same parsers run under
//! cargo-fuzz for millions of inputs (scripts/fuzz.sh); these are the quick version in
//! `cargo test`.

#[path = "support/cgroup_file.rs"]
mod support;

use nstop::model::kernel_text;
use nstop::model::oom;
use nstop::ops::limits;
use nstop::sys::{cgroupfs, mounts, ns, proc};
use proptest::prelude::*;

/// Lines shaped like `pattern`, joined by newlines.
fn lines(pattern: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(pattern, 0..12).prop_map(|lines| lines.join("\n"))
}

/// Arbitrary text, or text shaped like the real file.
fn text(shaped: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), lines(shaped)]
}

proptest! {
    #[test]
    fn namespace_link_text(bytes in any::<Vec<u8>>(), shaped in "[a-z_]{0,20}:\\[[0-9]{0,22}\\]?") {
        ns::parse_ns_link(&bytes);
        ns::parse_ns_link(shaped.as_bytes());
    }

    #[test]
    fn nspid(bytes in any::<Vec<u8>>(), shaped in text("(NSpid|Pid|Name):\t[0-9 \t-]{0,40}")) {
        proc::parse_nspid(&bytes);
        proc::parse_nspid(shaped.as_bytes());
    }

    #[test]
    fn mountinfo(text in text("[0-9]{1,4} [0-9]{1,4} [0-9]{1,3}:[0-9]{1,3} /[a-z/\\\\0-9:\\[\\]]{0,20} /[a-z/\\\\0-9]{0,20} [a-z,]{0,10}( [a-z:0-9]{0,8})* - (cgroup2?|nsfs|proc) [a-z]{0,8} [a-z,=]{0,30}")) {
        cgroupfs::parse_cgroup_mounts(&text);
        mounts::parse_nsfs_mounts(&text);
    }

    #[test]
    fn proc_cgroup(text in text("[0-9]{1,3}:[a-z_=,]{0,20}:/[a-z0-9/._-]{0,30}")) {
        kernel_text::proc_cgroup(&text);
        cgroupfs::hierarchy_ids(&text);
    }

    #[test]
    fn psi(text in text("(some|full) avg10=[0-9.]{0,8} avg60=[0-9.]{0,8} avg300=[0-9.]{0,8} total=[0-9]{0,22}")) {
        kernel_text::psi(&text);
        support::cgroup_file("cpu.pressure", text.as_bytes());
    }

    #[test]
    fn memory_stat(text in text("[a-z_]{1,24} (-?[0-9]{1,22}|max|[0-9]+\\.[0-9]+)")) {
        support::cgroup_file("memory.stat", text.as_bytes());
    }

    #[test]
    fn memory_events(text in text("(low|high|max|oom|oom_kill|oom_group_kill|under_oom|oom_kill_disable) -?[0-9]{0,22}")) {
        support::cgroup_file("memory.events", text.as_bytes());
        support::cgroup_file("memory.oom_control", text.as_bytes());
    }

    #[test]
    fn cpu_max(text in text("(max|-?[0-9]{0,22})( -?[0-9]{0,22})?")) {
        kernel_text::cpu_max(&text);
        support::cgroup_file("cpu.max", text.as_bytes());
    }

    #[test]
    fn io_stat(text in text("[0-9]{1,4}:[0-9]{1,4}( [a-z]{1,8}=-?[0-9]{0,22}){0,8}")) {
        kernel_text::io_stat(&text);
        support::cgroup_file("io.stat", text.as_bytes());
    }

    #[test]
    fn oom_report(text in text("(\\[ *[0-9]{1,6}\\.[0-9]{6}\\] |[0-9],[0-9]{1,6},[0-9]{1,12},-;)?([a-z_ ]{0,12} invoked oom-killer: gfp_mask=0x[0-9a-f]{0,8}\\([A-Z_|]{0,20}\\), order=-?[0-9]{0,3}, oom_score_adj=-?[0-9]{0,5}|oom-kill:constraint=[A-Z_]{0,20},nodemask=[a-z()]{0,8},cpuset=[a-z/]{0,12},mems_allowed=[0-9-]{0,4},oom_memcg=/[a-z/]{0,12},task_memcg=/[a-z/]{0,12},task=[a-z]{0,8},pid=[0-9]{0,8},uid=[0-9]{0,6}|Memory cgroup out of memory: Killed process -?[0-9]{0,8} \\([a-z) (]{0,10}\\) total-vm:[0-9]{0,12}kB, anon-rss:[0-9]{0,12}kB, file-rss:[0-9]{0,12}kB, shmem-rss:[0-9]{0,12}kB, UID:[0-9]{0,8} pgtables:[0-9]{0,10}kB oom_score_adj:-?[0-9]{0,5}|memory: usage [0-9]{0,12}kB, limit [0-9]{0,12}kB, failcnt [0-9]{0,10}|\\[ *[0-9]{0,8}\\] +[0-9]{0,8} +[0-9]{0,8} +[0-9]{0,12} +[0-9]{0,8} +[0-9]{0,8} +[0-9]{0,8} +-?[0-9]{0,5} [a-z]{0,10}|Tasks state \\(memory values in pages\\):)")) {
        let lines: Vec<_> = text.lines().map(oom::log_line).collect();
        let (whole, _) = oom::split_unfinished(lines);
        oom::parse_reports(whole);
    }

    #[test]
    fn limit_value(text in text("(memory\\.(max|high|low|min|swap\\.max)|cpu\\.(max|weight)|pids\\.max|io\\.max)=[0-9a-zA-Z.%: =-]{0,24}"), cpus in 0usize..300) {
        let _ = limits::parse(&text, cpus);
        let _ = limits::parse_size(&text);
    }
}
