//! A real OOM kill provoked by the test (root): a memory cgroup beneath the test's own (v1 on a
//! hybrid host, cgroup2 on a unified one) with a 30 MiB limit, and a process there that
//! allocates 200 MiB. `nstop oom` must report the kill from the kernel log, and `nstop cg` the
//! cgroup's counter.

mod common;

use common::{TestCgroup, require_root};

#[test]
fn a_provoked_oom_kill_is_reported_with_its_cgroup_and_limit() {
    if !require_root() {
        return;
    }
    let memory = TestCgroup::with("memory");
    std::fs::write(memory.memory_limit(), (30 << 20).to_string()).unwrap();
    let mut child = memory.python("b = [bytearray(1 << 20) for _ in range(200)]");
    let pid = child.id() as i32;
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "killed by the OOM killer"
    );

    let (code, out, err) = common::nstop(&["oom", "--json", "--cgroup", &memory.spec()]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let events = report["events"].as_array().unwrap();
    let event = events
        .iter()
        .find(|e| e["pid"] == pid)
        .unwrap_or_else(|| panic!("the kill of {pid} is reported: {out}"));
    assert_eq!(event["comm"], "python3");
    assert_eq!(event["constraint"], "CONSTRAINT_MEMCG");
    assert_eq!(event["oom_memcg"], memory.path.as_str());
    assert_eq!(event["task_memcg"], memory.path.as_str());
    assert_eq!(event["limit_bytes"], 30 << 20);
    assert_eq!(event["source"], "kmsg");
    assert!(event["anon_rss_kb"].as_u64().unwrap() > 20_000, "{event}");
    assert!(event["time"].as_str().unwrap().ends_with('Z'));
    assert!(
        event["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["pid"] == pid)
    );
    // The counter of the cgroup itself, and the kill counted as reported.
    let counter = report["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cgroup"] == memory.path.as_str())
        .expect("the cgroup's counter");
    assert_eq!(counter["oom_kill"], 1);
    assert_eq!(counter["reported"], 1);

    let (code, out, _) = common::nstop(&["cg", "--json", "-a", &memory.spec()]);
    assert_eq!(code, 0);
    let cg: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = cg["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == memory.path.as_str())
        .unwrap();
    assert_eq!(row["memory"]["events"]["oom_kill"], 1, "{row}");

    // Empty after its kill, it is still listed without --all, beside the test's own cgroup;
    // an empty sibling that saw nothing is left out of the table but not out of the JSON.
    let quiet = TestCgroup::with("memory");
    // In the guest the suite runs in the root cgroup: the parent is `/`.
    let parent = match memory.path.rsplit_once('/').unwrap().0 {
        "" => "/",
        parent => parent,
    };
    let parent = match &memory.v1 {
        Some(controller) => format!("{controller}:{parent}"),
        None => parent.to_string(),
    };
    let (code, out, err) = common::nstop(&["cg", &parent]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(memory.path.as_str()),
        "the killed cgroup is listed: {out}"
    );
    assert!(!out.contains(quiet.path.as_str()), "{out}");
    let (_, out, _) = common::nstop(&["cg", "--json", &parent]);
    assert!(out.contains(&format!("\"{}\"", quiet.path)), "{out}");

    // The sentence says it plainly.
    let (_, text, _) = common::nstop(&["oom", "--cgroup", &memory.path]);
    assert!(
        text.contains(&format!(
            "killed python3 (pid {pid}): cgroup {} reached its memory limit 30M",
            memory.path
        )),
        "{text}"
    );
}
