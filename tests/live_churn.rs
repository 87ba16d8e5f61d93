//! Races are never errors: while processes start and exit all the time (some in new
//! namespaces), `nstop snapshot`, `ns` and `cg` exit 0 with valid JSON, say nothing on stderr
//! but permission notices, and never report one of the churn's processes as unreadable (an exit
//! mid-read is not a permission problem). scripts/churn.sh is the five-minute version with the
//! explorer beside it.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::require_root;

/// Runs nstop; returns its stdout after checking the exit status and JSON, and its stderr.
fn run(args: &[&str]) -> (serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nstop"))
        .args(args)
        .output()
        .expect("run nstop");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {err}");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: invalid JSON ({e}); stderr: {err}"));
    (json, err)
}

#[test]
fn churn_is_never_an_error() {
    if !require_root() {
        return;
    }
    let commands: [&[&str]; 3] = [
        &["snapshot", "--json"],
        &["ns", "-J", "--output-all"],
        &["cg", "--json"],
    ];
    let stop = AtomicBool::new(false);
    let (churned, unreadable) = std::thread::scope(|scope| {
        let churn = scope.spawn(|| {
            let mut started = HashSet::new();
            while !stop.load(Ordering::Relaxed) {
                // Twenty short-lived processes, two of them in new namespaces, each PID printed.
                let mut sh = Command::new("sh")
                    .args([
                        "-c",
                        "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18; do /bin/true & echo $!; done; \
                         unshare --uts --ipc true & echo $!; unshare --net --pid --fork true & echo $!; wait",
                    ])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("run sh");
                let out = BufReader::new(sh.stdout.take().unwrap());
                started.extend(out.lines().map(|l| l.unwrap().parse::<u64>().unwrap()));
                assert!(sh.wait().unwrap().success());
            }
            started
        });
        // Eight seconds, and at least two runs of each command however slow the host (an
        // emulated guest runs a debug build a few times a second at most).
        let start = Instant::now();
        let (mut runs, mut unreadable) = (0, HashSet::new());
        while start.elapsed() < Duration::from_secs(8) || runs < 6 {
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "only {runs} runs in 300 s"
            );
            for args in commands {
                let (json, err) = run(args);
                for line in err.lines() {
                    assert!(line.contains("permission denied"), "{args:?}: {line}");
                }
                // By PID and name: a PID the churn used may be another process's by now (one
                // unreadable as a whole is not listed).
                for pid in json["unreadable"]["processes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let comm = json["processes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|p| p["pid"] == *pid)
                        .and_then(|p| p["comm"].as_str());
                    if let (Some(pid), None | Some("sh" | "true" | "unshare")) =
                        (pid.as_u64(), comm)
                    {
                        unreadable.insert(pid);
                    }
                }
                runs += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
        (churn.join().unwrap(), unreadable)
    });
    assert!(
        churned.len() > 200,
        "only {} processes started",
        churned.len()
    );
    let reported: Vec<&u64> = unreadable.intersection(&churned).collect();
    assert!(
        reported.is_empty(),
        "processes of the churn reported unreadable: {reported:?}"
    );
}
