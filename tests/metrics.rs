//! The exposition of `nstop serve` for a real host captured in the real-host guest
//! (tests/fixtures/cg-v2-real: limits on /nstop-fx, a transient unit, a podman container named
//! web; its SCENARIO.md lists the values): which cgroups are exposed, with which labels and
//! values, in both formats.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use nstop::model::{Model, isolation};
use nstop::serve::metrics::{Cost, Exposed, OomKills, cgroup_labels};
use nstop::serve::{encode, wants_openmetrics};
use nstop::sys::{self, Collect, Roots};

const REAL: &str = "tests/fixtures/cg-v2-real";
const CONTAINER: &str = "/machine.slice/libpod-4ef098e6dedd20fd79b82c9bbb84c3b8de1f01e4b9e5ba0bd158fc136b7ba027.scope/container";

fn exposed(top: usize) -> Arc<Exposed> {
    let roots = Roots::under(Path::new(REAL));
    let model = Model::new(&sys::sample(&roots, Collect::Everything).unwrap(), None);
    // The walls are read live: a fixture's findings are its credentials and namespaces.
    let audits = isolation::containers(&model)
        .into_iter()
        .map(|(c, processes)| {
            let findings = isolation::unit_findings(&model, &processes, None);
            (cgroup_labels(&model, c), findings)
        })
        .collect();
    let mut oom = OomKills::default();
    oom.add(&model);
    Arc::new(Exposed::new(model, audits, &oom, Cost::default(), top))
}

/// The value of the one sample of `family` whose labels contain each of `labels`.
fn value(text: &str, family: &str, labels: &[&str]) -> Option<f64> {
    let samples: Vec<f64> = text
        .lines()
        .filter_map(|l| l.strip_prefix(family)?.strip_prefix('{'))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse().ok())
        .collect();
    assert!(samples.len() <= 1, "{family} {labels:?}: {samples:?}");
    samples.first().copied()
}

#[test]
fn limits_units_and_the_container_are_exposed_with_their_labels() {
    let text = encode(exposed(0), Duration::from_millis(1500), true).unwrap();
    let fx = r#"path="/nstop-fx","#;
    assert_eq!(
        value(
            &text,
            "nstop_cgroup_memory_max_bytes",
            &[r#"hierarchy="cgroup2""#, fx]
        ),
        Some(67108864.0)
    );
    assert_eq!(
        value(&text, "nstop_cgroup_memory_high_bytes", &[fx]),
        Some(50331648.0)
    );
    assert_eq!(value(&text, "nstop_cgroup_pids_max", &[fx]), Some(20.0));
    assert_eq!(value(&text, "nstop_cgroup_cpu_quota", &[fx]), Some(0.5));
    let unit = [
        r#"path="/system.slice/nstop-fx.service""#,
        r#"unit="nstop-fx.service""#,
    ];
    assert_eq!(
        value(&text, "nstop_cgroup_memory_max_bytes", &unit),
        Some(83886080.0)
    );
    let web = [r#"container="web""#, r#"runtime="podman""#];
    let path = format!(r#"path="{CONTAINER}""#);
    let web_memory = [web[0], web[1], path.as_str()];
    assert_eq!(
        value(&text, "nstop_cgroup_memory_max_bytes", &web_memory),
        Some(67108864.0)
    );
    // Counters carry _total, units their suffix; PSI totals in seconds.
    let cpu = value(&text, "nstop_cgroup_cpu_usage_seconds_total", &web_memory).unwrap();
    assert!(cpu > 0.0);
    let pressure = [path.as_str(), r#"resource="memory""#, r#"kind="full""#];
    assert!(value(&text, "nstop_cgroup_pressure_seconds_total", &pressure).is_some());
    let oom_kill = [path.as_str(), r#"event="oom_kill""#];
    assert_eq!(
        value(&text, "nstop_cgroup_memory_events_total", &oom_kill),
        Some(0.0)
    );
    // The container's audit: podman's default, nothing above info but what the fixture's
    // sample cannot rule out.
    assert!(
        value(
            &text,
            "nstop_container_isolation_findings",
            &[web[0], r#"check="host-namespace""#, r#"severity="info""#]
        )
        .is_some(),
        "{text}"
    );
    assert_eq!(
        value(&text, "nstop_sample_age_seconds", &[]),
        None,
        "no labels: a plain sample"
    );
    assert!(text.contains("nstop_sample_age_seconds 1.5\n"));
    assert!(text.ends_with("# EOF\n"));
    // With no top N, an unnamed, unlimited cgroup is left out; the top N by memory bring it.
    let below = r#"path="/nstop-fx/a""#;
    assert_eq!(
        value(&text, "nstop_cgroup_memory_current_bytes", &[below]),
        None
    );
    let wider = encode(exposed(1000), Duration::ZERO, true).unwrap();
    assert!(value(&wider, "nstop_cgroup_memory_current_bytes", &[below]).is_some());
}

#[test]
fn the_prometheus_text_format_has_no_info_type_and_no_eof() {
    let text = encode(exposed(50), Duration::ZERO, false).unwrap();
    assert!(
        text.contains("# TYPE nstop_collector_info gauge\n"),
        "{text}"
    );
    assert!(text.contains("nstop_collector_info{source=\"proc\""));
    assert!(!text.contains("# EOF"));
    assert!(!text.contains("# UNIT"));
}

#[test]
fn scrapes_get_the_format_their_accept_header_prefers() {
    let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert!(wants_openmetrics(Some(prometheus)));
    assert!(wants_openmetrics(None));
    assert!(wants_openmetrics(Some("*/*")));
    assert!(!wants_openmetrics(Some("text/plain")));
    assert!(!wants_openmetrics(Some("text/plain;version=0.0.4")));
    assert!(!wants_openmetrics(Some(
        "application/openmetrics-text;q=0.2, text/plain;q=0.9"
    )));
    assert!(!wants_openmetrics(Some("application/openmetrics-text;q=0")));
}
