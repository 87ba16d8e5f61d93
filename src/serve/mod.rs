//! `nstop serve`: the host's namespaces, cgroups, OOM kills and container isolation as an
//! OpenMetrics endpoint for Prometheus. A sampler thread takes one sample per interval (the
//! explorer's and the recorder's tick) and swaps it in whole; a scrape encodes the newest one
//! and never waits for a sample.

pub mod metrics;

use std::net::SocketAddr;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use clap::Args;
use prometheus_client::registry::Registry;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use tiny_http::{Header, Method, Request, Response, Server};

use crate::collector::Ticker;
use crate::model::isolation;
use crate::sys::Roots;
use metrics::{Cost, Exposed, OomKills, Scrape};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on; anything but loopback is reachable by others
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9847")]
    pub listen: SocketAddr,
    /// Time between samples: 15s (default), 5s, 1m; scrapes in between get the newest
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_interval)]
    pub interval: Duration,
    /// Cgroups exposed besides those with a limit or a container, pod or unit: the top N by
    /// memory in use
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub top_cgroups: usize,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = crate::cli::cg::parse_duration(text)?;
    match interval >= Duration::from_millis(100) {
        true => Ok(interval),
        false => Err(format!("'{text}' is shorter than 100ms (e.g. 15s, 5s, 1m)")),
    }
}

/// The newest tick, swapped in whole by the sampler.
#[derive(Default)]
struct Newest {
    exposed: Option<Arc<Exposed>>,
    taken: Option<Instant>,
    /// Why the newest sample failed, while no later one succeeded.
    error: Option<String>,
}

type Shared = Arc<RwLock<Newest>>;

pub fn run(args: ServeArgs, roots: Roots) -> anyhow::Result<u8> {
    let server = Server::http(args.listen).map_err(|e| {
        let privilege = match args.listen.port() < 1024 && !crate::sys::is_root() {
            true => " (a port below 1024 needs root or CAP_NET_BIND_SERVICE)",
            false => "",
        };
        anyhow::anyhow!("cannot listen on {}: {e}{privilege}", args.listen)
    })?;
    let server = Arc::new(server);
    let bound = server.server_addr().to_ip().unwrap_or(args.listen);
    if !bound.ip().is_loopback() {
        crate::text::tell(format_args!(
            "warning: listening on {bound}, reachable from other hosts: /metrics and /snapshot show every process and container (put a reverse proxy with TLS and authentication in front)"
        ));
    }
    crate::text::tell(format_args!(
        "serving http://{bound}/metrics (a sample every {:?})",
        args.interval
    ));
    let interval = args.interval;
    let newest: Shared = Arc::default();
    let (stop, stopped) = mpsc::channel::<()>();
    let sampler = {
        let newest = newest.clone();
        std::thread::spawn(move || sample(&roots, &args, &newest, &stopped))
    };
    // A signal stops the sampler and unblocks each waiting worker.
    const WORKERS: usize = 2;
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    {
        let server = server.clone();
        std::thread::spawn(move || {
            if signals.forever().next().is_some() {
                let _ = stop.send(());
                for _ in 0..WORKERS {
                    server.unblock();
                }
            }
        });
    }
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (server, newest) = (server.clone(), newest.clone());
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    answer(request, &newest, interval);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    let _ = sampler.join();
    Ok(0)
}

/// One sample per interval until told to stop; each swapped in whole.
fn sample(roots: &Roots, args: &ServeArgs, newest: &Shared, stopped: &mpsc::Receiver<()>) {
    // Its metrics count processes, not their own numbers: one that did not run is not read.
    let mut ticker = Ticker::paced(roots.clone(), crate::sys::Pace::Unattended);
    let mut oom = OomKills::default();
    let mut cost = Cost::default();
    loop {
        let started = Instant::now();
        match ticker.tick() {
            Ok(model) => {
                oom.add(&model);
                let audits = isolation::containers(&model)
                    .into_iter()
                    .map(|(c, processes)| {
                        let findings = crate::cli::isolation::audit_unit(&model, roots, &processes);
                        (metrics::cgroup_labels(&model, c), findings)
                    })
                    .collect();
                cost.ok += 1;
                cost.seconds = started.elapsed().as_secs_f64();
                let exposed = Exposed::new(model, audits, &oom, cost, args.top_cgroups);
                let mut slot = newest.write().unwrap_or_else(|e| e.into_inner());
                *slot = Newest {
                    exposed: Some(Arc::new(exposed)),
                    taken: Some(started),
                    error: None,
                };
            }
            Err(e) => {
                cost.errors += 1;
                crate::text::tell(&e);
                newest.write().unwrap_or_else(|e| e.into_inner()).error = Some(e);
            }
        }
        crate::collector::release_free_memory();
        match stopped.recv_timeout(args.interval.saturating_sub(started.elapsed())) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether a scrape's Accept header prefers OpenMetrics to the Prometheus 0.0.4 text: by
/// their q-values, OpenMetrics where neither is named. (Parsed here: the header's grammar is
/// a few lines, and no HTTP crate this server uses negotiates.)
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    let quality = |media: &str| {
        accept?
            .split(',')
            .filter_map(|part| {
                let mut params = part.split(';').map(str::trim);
                (params.next()? == media).then(|| {
                    params
                        .find_map(|p| p.strip_prefix("q="))
                        .map_or(1.0, |q| q.parse::<f64>().unwrap_or(0.0))
                })
            })
            .reduce(f64::max)
    };
    match (
        quality("application/openmetrics-text"),
        quality("text/plain"),
    ) {
        (Some(om), Some(text)) => om > 0.0 && om >= text,
        (Some(om), None) => om > 0.0,
        (None, Some(_)) => false,
        (None, None) => true,
    }
}

/// The exposition of a tick taken `age` ago: OpenMetrics text, or Prometheus 0.0.4 text.
pub fn encode(
    exposed: Arc<Exposed>,
    age: Duration,
    openmetrics: bool,
) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape {
        exposed,
        age_seconds: age.as_secs_f64(),
    }));
    let mut body = String::new();
    match openmetrics {
        true => prometheus_client::encoding::text::encode(&mut body, &registry)?,
        false => prometheus_client::encoding::prometheus_text::encode(&mut body, &registry)?,
    }
    Ok(body)
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn answer(request: Request, newest: &Shared, interval: Duration) {
    let text = |status: u16, body: String| {
        Response::from_string(body)
            .with_status_code(status)
            .with_header(header("Content-Type", "text/plain; charset=utf-8"))
    };
    if !matches!(request.method(), Method::Get | Method::Head) {
        let _ = request.respond(text(405, "only GET and HEAD\n".into()));
        return;
    }
    let (exposed, taken, error) = {
        let slot = newest.read().unwrap_or_else(|e| e.into_inner());
        (slot.exposed.clone(), slot.taken, slot.error.clone())
    };
    let age = taken.map(|t| t.elapsed());
    let path = request
        .url()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let response = match (path.as_str(), exposed) {
        ("/metrics" | "/snapshot", None) => text(
            503,
            error.map_or("no sample yet\n".into(), |e| format!("no sample: {e}\n")),
        ),
        ("/metrics", Some(exposed)) => {
            let accept = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Accept"))
                .map(|h| h.value.as_str());
            let openmetrics = wants_openmetrics(accept);
            let content_type = match openmetrics {
                true => OPENMETRICS,
                false => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            };
            match encode(exposed, age.unwrap_or_default(), openmetrics) {
                Ok(body) => {
                    Response::from_string(body).with_header(header("Content-Type", content_type))
                }
                Err(e) => text(500, format!("encoding the metrics: {e}\n")),
            }
        }
        ("/snapshot", Some(exposed)) => match serde_json::to_string(&exposed.model) {
            Ok(json) => Response::from_string(json + "\n")
                .with_header(header("Content-Type", "application/json")),
            Err(e) => text(500, format!("encoding the snapshot: {e}\n")),
        },
        ("/healthz", _) => {
            // Healthy while samples keep coming: the newest younger than three intervals.
            match (age, error) {
                (Some(age), _) if age < interval * 3 => text(200, "ok\n".into()),
                (_, Some(e)) => text(503, format!("sampling fails: {e}\n")),
                (None, None) => text(503, "no sample yet\n".into()),
                (Some(age), None) => text(503, format!("the newest sample is {age:.0?} old\n")),
            }
        }
        ("/", _) => text(200, "nstop serve: /metrics (OpenMetrics, or Prometheus text by Accept), /snapshot (JSON), /healthz\n".into()),
        _ => text(404, "not found: /metrics, /snapshot or /healthz\n".into()),
    };
    let _ = request.respond(response);
}
