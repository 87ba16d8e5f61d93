//! `nstop serve` scraped by the real thing (root; Debian's `prometheus` package: the server and
//! promtool): both exposition formats, promtool's lint, and a Prometheus server on loopback
//! with the example scrape config and alert rules (assets/prometheus/), which sees an OOM kill
//! in a cgroup the test makes and a network namespace it bind-mounts, and fires the OOM alert.
//! On the host only: the guest's lane checks the container labels (tests/live_containers.rs).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{
    Netns, Running, Spawned, TestCgroup, agent, get, metrics, require_root, serve, wait_for,
};
use serde_json::Value;

/// Prometheus's server and promtool: in CI they must be there; elsewhere the test says it
/// skipped.
fn require_prometheus() -> bool {
    let missing: Vec<&str> = ["prometheus", "promtool"]
        .into_iter()
        .filter(|tool| {
            Command::new(tool)
                .arg("--version")
                .output()
                .map_or(true, |o| !o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} missing (Debian's prometheus package)",
        missing.join(" and ")
    );
    eprintln!(
        "skipped: needs {} (apt-get install prometheus)",
        missing.join(" and ")
    );
    false
}

/// promtool's lint of an exposition: its exit status and what it said.
fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

#[test]
fn the_endpoint_speaks_both_formats_and_promtool_accepts_them() {
    if !require_root() || !require_prometheus() {
        return;
    }
    let (_serve, addr) = serve("1s");
    // Prometheus's own Accept header gets OpenMetrics, ended by its EOF marker.
    let prometheus_accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let (content_type, open) = metrics(&addr, prometheus_accept);
    assert!(
        content_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "{content_type}"
    );
    assert!(open.ends_with("# EOF\n"), "{open}");
    assert!(open.contains("# TYPE nstop_oom_last_kill info"), "{open}");
    // Asked for the 0.0.4 text, it gets it, which promtool lints clean.
    let (content_type, text) = metrics(&addr, "text/plain;version=0.0.4");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert!(!text.contains("# EOF"));
    let (clean, said) = promtool_check(&text);
    assert!(clean, "promtool: {said}");
    // Processes by how deep their namespaces nest: this test's at 0, a sleep of its own one
    // pid namespace down, another one user namespace down.
    let _pid = Spawned::cmd("unshare --pid --fork --kill-child sleep 3600");
    let _user = Spawned::cmd("unshare --user --map-root-user sleep 3600");
    let at = |text: &str, kind: &str, depth: u32| {
        let prefix =
            format!("nstop_processes_by_namespace_depth{{type=\"{kind}\",depth=\"{depth}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map_or(0.0, |n| n.parse::<f64>().unwrap())
    };
    assert!(at(&text, "pid", 0) >= 1.0, "{text}");
    wait_for("the nested sleeps counted", || {
        let (_, text) = metrics(&addr, "text/plain");
        (at(&text, "pid", 1) >= 1.0 && at(&text, "user", 1) >= 1.0).then_some(())
    });
    // The test process is in the snapshot.
    let (status, content_type, json) = get(&format!("http://{addr}/snapshot"), None);
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let doc: Value = serde_json::from_str(&json).unwrap();
    let me = std::process::id() as i64;
    assert!(
        doc["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pid"] == me)
    );
    assert_eq!(get(&format!("http://{addr}/healthz"), None).0, 200);
    assert_eq!(get(&format!("http://{addr}/nothing"), None).0, 404);
    let post = agent()
        .post(format!("http://{addr}/metrics"))
        .send_empty()
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);
    // Any address but loopback is warned about (an ephemeral port, stopped at once).
    let mut open = Command::new(env!("CARGO_BIN_EXE_nstop"))
        .args(["serve", "--listen", "0.0.0.0:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(open.stderr.take().unwrap()),
        &mut first,
    )
    .unwrap();
    let _ = open.kill();
    let _ = open.wait();
    assert!(
        first.starts_with("nstop: warning: listening on 0.0.0.0:"),
        "{first}"
    );
    assert!(
        first.contains("reverse proxy with TLS and authentication"),
        "{first}"
    );
    // Bad input: exit 2, nothing served.
    for (args, said) in [
        (
            &["serve", "--listen", "localhost"][..],
            "invalid socket address",
        ),
        (
            &["serve", "--interval", "10ms"][..],
            "'10ms' is shorter than 100ms",
        ),
    ] {
        let (code, _, err) = common::nstop(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(said), "{args:?}: {err}");
    }
}

/// A Prometheus server on a loopback port of its own, configured by the example in
/// assets/prometheus/ pointed at `target` and sped up to 1 s.
fn prometheus(dir: &Path, target: &str) -> (Running, String) {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/prometheus");
    let config = std::fs::read_to_string(assets.join("prometheus.yml")).unwrap();
    assert!(config.contains("localhost:9847") && config.contains("15s"));
    let config = config
        .replace("localhost:9847", target)
        .replace("15s", "1s");
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    std::fs::copy(assets.join("alerts.yml"), dir.join("alerts.yml")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .expect("prometheus");
    (Running(child), addr)
}

/// The value of each series an instant query returns, with its labels (none while the
/// server is starting).
fn query(prometheus: &str, promql: &str) -> Vec<(Value, f64)> {
    let url = format!("http://{prometheus}/api/v1/query");
    let Ok(mut response) = agent().get(&url).query("query", promql).call() else {
        return Vec::new();
    };
    // Starting, the server answers 503 with plain text.
    let body = response.body_mut().read_to_string().unwrap_or_default();
    let Ok(doc) = serde_json::from_str::<Value>(&body) else {
        return Vec::new();
    };
    doc["data"]["result"]
        .as_array()
        .map(|series| {
            series
                .iter()
                .map(|s| {
                    (
                        s["metric"].clone(),
                        s["value"][1].as_str().unwrap().parse().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn prometheus_sees_an_oom_kill_and_a_netns_leak_and_fires_the_alert() {
    if !require_root() || !require_prometheus() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_serve, target) = serve("1s");
    let (_prometheus, server) = prometheus(dir.path(), &target);
    wait_for("Prometheus scraping nstop", || {
        let up = query(&server, "up{job=\"nstop\"}");
        (up.first()?.1 == 1.0).then_some(())
    });
    // The example rules load whole.
    let (_, _, rules) = get(&format!("http://{server}/api/v1/rules"), None);
    let rules: Value = serde_json::from_str(&rules).unwrap();
    let loaded = rules["data"]["groups"][0]["rules"].as_array().unwrap();
    assert!(
        loaded.len() >= 5 && loaded.iter().all(|r| r["health"] == "ok"),
        "{rules:#}"
    );

    let bind_mounted = "nstop_namespaces{type=\"net\",held_by=\"bind_mount\"}";
    let before = query(&server, bind_mounted).first().map_or(0.0, |s| s.1);
    let _netns = Netns::add();
    let memory = TestCgroup::with("memory");
    std::fs::write(memory.memory_limit(), (30 << 20).to_string()).unwrap();
    let mut child = memory.python("b = [bytearray(1 << 20) for _ in range(200)]");
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );

    let kills = format!("nstop_oom_kills_total{{cgroup=\"{}\"}}", memory.path);
    wait_for("the kill counted in Prometheus", || {
        let series = query(&server, &kills);
        (series.first()?.1 == 1.0).then_some(())
    });
    let (labels, _) = query(&server, &kills).remove(0);
    assert_eq!(labels["constraint"], "memcg", "{labels}");
    wait_for("the bind-mounted netns counted", || {
        let now = query(&server, bind_mounted).first()?.1;
        (now > before).then_some(())
    });
    // Every query of the example dashboard runs, its variables given values.
    let dashboard =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/grafana/nstop-dashboard.json");
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(dashboard).unwrap()).unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let promql = expr
                .replace("$instance", ".*")
                .replace("$__rate_interval", "1m");
            let url = format!("http://{server}/api/v1/query");
            let mut response = agent().get(&url).query("query", &promql).call().unwrap();
            let doc: Value =
                serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
            assert_eq!(
                doc["status"], "success",
                "{}: {expr}: {doc}",
                panel["title"]
            );
        }
    }
    // The OOM rule fires for this cgroup.
    wait_for("NstopOomKill firing", || {
        let (_, _, alerts) = get(&format!("http://{server}/api/v1/alerts"), None);
        let alerts: Value = serde_json::from_str(&alerts).ok()?;
        alerts["data"]["alerts"]
            .as_array()?
            .iter()
            .any(|a| {
                a["labels"]["alertname"] == "NstopOomKill"
                    && a["labels"]["cgroup"] == memory.path.as_str()
                    && a["state"] == "firing"
            })
            .then_some(())
    });
}

/// The systemd unit's command line, run as written (the binary where it is installed
/// substituted): it serves on the unit's address.
#[test]
fn the_systemd_units_command_line_serves() {
    if !require_root() {
        return;
    }
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/nstop-serve.service"),
    )
    .unwrap();
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/nstop"));
    let args: Vec<&str> = words.collect();
    let listen = args
        .iter()
        .skip_while(|a| **a != "--listen")
        .nth(1)
        .expect("--listen")
        .to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nstop"))
        .args(&args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _running = Running(child);
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut first).unwrap();
    assert!(
        first.contains(&format!("serving http://{listen}/metrics")),
        "{first} (is {listen} taken?)"
    );
    wait_for("the unit's endpoint healthy", || {
        (get(&format!("http://{listen}/healthz"), None).0 == 200).then_some(())
    });
}
