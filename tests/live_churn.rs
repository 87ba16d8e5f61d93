//! Races are never errors: while processes start and exit all the time (some in new
//! namespaces), `nstop snapshot`, `ns` and `cg` exit 0 with valid JSON and report as unreadable
//! exactly what was unreadable before the churn (an exit mid-read is not a permission problem).
//! scripts/churn.sh is the five-minute version with the explorer beside it.

mod common;

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
    let before: Vec<String> = commands.iter().map(|args| run(args).1).collect();
    let (baseline, _) = run(commands[0]);

    let stop = AtomicBool::new(false);
    let started = std::thread::scope(|scope| {
        let churn = scope.spawn(|| {
            let mut started = 0;
            while !stop.load(Ordering::Relaxed) {
                // Twenty short-lived processes, two of them in new namespaces, then reaped.
                let status = Command::new("sh")
                    .args([
                        "-c",
                        "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18; do /bin/true & done; \
                         unshare --uts --ipc true & unshare --net --pid --fork true & wait",
                    ])
                    .stdin(Stdio::null())
                    .status()
                    .expect("run sh");
                assert!(status.success());
                started += 21;
            }
            started
        });
        let deadline = Instant::now() + Duration::from_secs(8);
        let mut runs = 0;
        while Instant::now() < deadline {
            for (args, quiet) in commands.iter().zip(&before) {
                let (json, err) = run(args);
                assert_eq!(&err, quiet, "{args:?} said more under churn");
                if args[0] == "snapshot" {
                    assert_eq!(json["unreadable"], baseline["unreadable"]);
                }
                runs += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
        assert!(runs >= 6, "only {runs} runs");
        churn.join().unwrap()
    });
    assert!(started > 200, "only {started} processes started");
}
