//! The background sampler: reads the kernel every interval, joins each sample with the previous
//! one, and hands the boxed `Model` over. A refresh, a new interval or a closed channel ends its
//! sleep early.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::collections::HashMap;

use crate::model::Model;
use crate::model::cgroup::within;
use crate::model::isolation::Walls;
use crate::model::kernel_text;
use crate::model::oom::{self, OomEvent};
use crate::model::sample::{NsDetail, NsRef, Sample};
use crate::sys::{self, Collect, Roots, detail};

/// OOM events the explorer keeps (the newest).
pub const MAX_OOM_EVENTS: usize = 200;

/// What a detail page needs read besides the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Topic {
    /// The inside of a namespace (sys::detail).
    Namespace(NsRef),
    /// The OOM scores of a cgroup's processes (who the kernel would kill first), and, for a
    /// container's, the walls around them.
    Cgroup {
        hierarchy: u32,
        path: String,
        walls: bool,
    },
    /// The walls around a process: its mounts and devices.
    Process(i32),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Description {
    Inside(Result<NsDetail, String>),
    Walls(Result<Walls, String>),
    Cgroup {
        /// (pid, /proc/PID/oom_score) of the cgroup's processes.
        oom_scores: Vec<(i32, u32)>,
        /// Read through its first process.
        walls: Result<Walls, String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// Sample now (also while paused), then keep the interval from here.
    RefreshNow,
    /// Stop or resume sampling; the last model stays on screen.
    Pause(bool),
    Interval(Duration),
    /// Read this now and after every sample, until told `None`: what a detail view shows
    /// that the model does not hold.
    Describe(Option<Topic>),
    /// A replay only: this many frames forward (or back).
    Step(i64),
    /// A replay only: the last frame taken at or before this time (ms since the epoch).
    Seek(u64),
    /// A replay only: the first frame after the next OOM kill.
    NextOom,
}

/// Where a replay is: frame `index` of `len`, taken at `time_ms`; `kill` when it was reached
/// by jumping to that OOM kill (its seq in the frame's model); whether it is playing on (it
/// stops by itself at the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayAt {
    pub index: usize,
    pub len: usize,
    pub time_ms: u64,
    pub kill: Option<u64>,
    pub playing: bool,
}

#[derive(Debug)]
pub enum Delivery {
    /// What one tick produced: a model, or why reading failed (the previous model stays).
    Model(Result<Box<Model>, String>),
    Described(Topic, Description),
    /// A replay: where the next model is from.
    Replay(ReplayAt),
    /// A replay jumped: the charts start again from the models that follow as `Past`.
    Rewind,
    /// A replay: a model from before the next one, for the charts only.
    Past(Box<Model>),
}

/// A thread that delivers models to the explorer (the collector, or a replayer) and takes
/// `Control`s; dropping it closes the control channel, which wakes and ends the thread, and
/// waits for it (a sample in progress is finished first: one tick at most).
pub struct Feeder {
    control: Option<Sender<Control>>,
    thread: Option<JoinHandle<()>>,
}

impl Feeder {
    /// Runs `body` on a thread called `name`, with the receiving end of the controls.
    pub fn spawn(name: &str, body: impl FnOnce(Receiver<Control>) + Send + 'static) -> Feeder {
        let (control, commands) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(commands))
            .expect("spawn a feeder thread");
        Feeder {
            control: Some(control),
            thread: Some(thread),
        }
    }

    pub fn send(&self, control: Control) {
        if let Some(sender) = &self.control {
            // A thread that ended already has nothing to be told.
            let _ = sender.send(control);
        }
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.control.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts sampling at once. `deliver` returns false when nobody listens any more, which ends
/// the thread.
pub fn spawn(
    roots: Roots,
    interval: Duration,
    deliver: impl Fn(Delivery) -> bool + Send + 'static,
) -> Feeder {
    Feeder::spawn("collector", move |commands| {
        run(&roots, interval, &commands, deliver)
    })
}

/// The walls around `pid`, through its cgroups as the sample read them.
fn walls(roots: &Roots, sample: &Sample, pid: i32) -> Result<Walls, String> {
    let p = (sample.procs.iter())
        .find(|p| p.pid == pid)
        .ok_or_else(|| format!("PID {pid} has exited"))?;
    let cgroups: Vec<(u32, &str)> = kernel_text::proc_cgroup(&p.cgroup)
        .iter()
        .map(|line| (line.hierarchy, line.path))
        .collect();
    Ok(sys::security::read_walls(
        roots,
        &sample.cgroups.hierarchies,
        pid,
        &cgroups,
    ))
}

/// The processes in a cgroup or below it, by their own /proc/PID/cgroup (the sampler leaves
/// cgroup.procs unread): the kernel picks its victim among the whole subtree, and a parent with
/// the limit may hold no process of its own.
fn processes_below(sample: &Sample, hierarchy: u32, path: &str) -> Vec<i32> {
    sample
        .procs
        .iter()
        .filter(|p| {
            kernel_text::proc_cgroup(&p.cgroup)
                .iter()
                .any(|line| line.hierarchy == hierarchy && within(line.path, path))
        })
        .map(|p| p.pid)
        .collect()
}

/// Hands the pages freed with the previous tick's sample and model back to the kernel. glibc
/// keeps them in its arenas, where a tick's few thousand short-lived strings fragment them:
/// without this, resident memory settles at twice what is in use.
pub fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}

/// Debug builds only (the tests' binary): `NSTOP_PANIC_IN=main|collector` panics in that thread
/// when a refresh is asked for (r), so a test can show that any panic restores the terminal.
pub fn injected_panic(thread: &str) {
    if cfg!(debug_assertions) && std::env::var_os("NSTOP_PANIC_IN").is_some_and(|v| v == thread) {
        panic!("injected panic in the {thread} thread (NSTOP_PANIC_IN)");
    }
}

/// One model per call, each joined with the sample before it, carrying the OOM kills seen so
/// far: followed in the kernel log (live host only) and in the cgroups' counters. The explorer's
/// collector and `nstop record` tick with it.
pub struct Ticker {
    roots: Roots,
    sampler: sys::Sampler,
    /// The newest sample, whose processes a detail page's reading goes through.
    pub prev: Option<Sample>,
    kernel_log: sys::kmsg::Follower,
    oom_events: std::sync::Arc<Vec<OomEvent>>,
    next_seq: u64,
    kills_before: HashMap<(u32, u64), u64>,
    unmatched: oom::Unmatched,
}

impl Ticker {
    pub fn new(roots: Roots) -> Ticker {
        Ticker::paced(roots, sys::Pace::Background)
    }

    pub fn paced(roots: Roots, pace: sys::Pace) -> Ticker {
        Ticker {
            sampler: sys::Sampler::new(pace),
            prev: None,
            kernel_log: sys::kmsg::Follower::new(roots.clone()),
            roots,
            oom_events: Default::default(),
            next_seq: 1,
            kills_before: HashMap::new(),
            unmatched: oom::Unmatched::new(),
        }
    }

    pub fn tick(&mut self) -> Result<Model, String> {
        let roots = &self.roots;
        let sample = self
            .sampler
            .sample(roots, Collect::Everything)
            .map_err(|e| format!("reading {}: {e}", roots.proc.display()))?;
        let mut model = Model::new(&sample, self.prev.as_ref());
        self.prev = Some(sample);
        let mut reported = self.kernel_log.events();
        if !reported.is_empty() {
            // Their containers may be gone from the cgroups already: named by their own ids.
            sys::runtimes::name_events(roots, &mut reported);
        }
        let now = crate::sys::since_epoch().as_secs();
        oom::note_reported(&mut self.unmatched, &reported);
        let counted = oom::counted_kills(
            &self.kills_before,
            &model.cgroups,
            &mut self.unmatched,
            &crate::model::utc(now),
        );
        self.kills_before = model
            .cgroups
            .iter()
            .filter_map(|c| Some(((c.hierarchy, c.inode), c.local_oom_kills()?)))
            .collect();
        if !reported.is_empty() || !counted.is_empty() {
            let mut events = (*self.oom_events).clone();
            for mut e in reported.into_iter().chain(counted) {
                e.seq = self.next_seq;
                self.next_seq += 1;
                events.push(e);
            }
            // Bounded: the newest kept.
            let excess = events.len().saturating_sub(MAX_OOM_EVENTS);
            events.drain(..excess);
            self.oom_events = std::sync::Arc::new(events);
        }
        model.oom_events = self.oom_events.clone();
        model.oom_notes = self.kernel_log.notes().to_vec();
        Ok(model)
    }
}

fn run(
    roots: &Roots,
    mut interval: Duration,
    commands: &Receiver<Control>,
    deliver: impl Fn(Delivery) -> bool,
) {
    let mut ticker = Ticker::new(roots.clone());
    let mut paused = false;
    let mut described: Option<Topic> = None;
    // Reads the topic through the newest sample (its processes, its cgroups' members).
    let describe = |prev: &Option<Sample>, topic: &Option<Topic>| match (prev, topic) {
        (Some(sample), Some(topic)) => {
            let description = match topic {
                Topic::Namespace(ns) => Description::Inside(detail::describe(roots, sample, *ns)),
                Topic::Cgroup {
                    hierarchy,
                    path,
                    walls: with_walls,
                } => {
                    let members = processes_below(sample, *hierarchy, path);
                    let walls = match members.first() {
                        Some(&first) if *with_walls => walls(roots, sample, first),
                        Some(_) => Err("not a container's".into()),
                        None => Err("no process in it to read them through".into()),
                    };
                    Description::Cgroup {
                        oom_scores: sys::proc::oom_scores(roots, &members),
                        walls,
                    }
                }
                Topic::Process(pid) => Description::Walls(walls(roots, sample, *pid)),
            };
            deliver(Delivery::Described(topic.clone(), description))
        }
        _ => true,
    };
    loop {
        let sampled_at = Instant::now();
        let delivery = ticker.tick().map(Box::new);
        if !deliver(Delivery::Model(delivery)) || !describe(&ticker.prev, &described) {
            return;
        }
        release_free_memory();
        // Never busier than half the time: a sample slower than half the interval stretches it.
        let earliest = Instant::now() + sampled_at.elapsed();
        loop {
            let deadline = (sampled_at + interval).max(earliest);
            let message = if paused {
                commands.recv().map_err(|_| RecvTimeoutError::Disconnected)
            } else {
                commands.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            };
            match message {
                Ok(Control::RefreshNow) => {
                    injected_panic("collector");
                    break;
                }
                Err(RecvTimeoutError::Timeout) => break,
                Ok(Control::Pause(pause)) => paused = pause,
                Ok(Control::Describe(topic)) => {
                    described = topic;
                    if !describe(&ticker.prev, &described) {
                        return;
                    }
                }
                Ok(Control::Interval(new)) => {
                    interval = new;
                    if !paused {
                        break;
                    }
                }
                Ok(Control::Step(_) | Control::Seek(_) | Control::NextOom) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn fixture() -> Roots {
        Roots::under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cg-hybrid"))
    }

    #[test]
    fn delivers_at_once_then_each_interval_and_on_refresh() {
        let (tx, rx) = mpsc::channel();
        let collector = spawn(fixture(), Duration::from_secs(3600), move |d| {
            tx.send(d).is_ok()
        });
        let first = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("first model");
        let Delivery::Model(first) = first else {
            panic!("a model comes first")
        };
        assert!(!first.expect("fixture reads").cgroups.is_empty());
        // The hour-long sleep is cut short by a refresh.
        collector.send(Control::RefreshNow);
        assert!(rx.recv_timeout(Duration::from_secs(10)).is_ok());
        // Paused: a shorter interval does not wake it until resumed.
        collector.send(Control::Pause(true));
        collector.send(Control::Interval(Duration::from_millis(10)));
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "paused"
        );
        collector.send(Control::Pause(false));
        for _ in 0..3 {
            assert!(
                rx.recv_timeout(Duration::from_secs(10)).is_ok(),
                "resumed at 10 ms"
            );
        }
        drop(collector);
    }

    #[test]
    fn describes_the_asked_namespace_at_once_and_after_each_sample() {
        let roots =
            Roots::under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/host-ns"));
        let (tx, rx) = mpsc::channel();
        let collector = spawn(roots, Duration::from_secs(3600), move |d| {
            tx.send(d).is_ok()
        });
        let next = || {
            rx.recv_timeout(Duration::from_secs(10))
                .expect("a delivery")
        };
        assert!(matches!(next(), Delivery::Model(Ok(_))));
        // The fixture's unshared user namespace: its maps are not in the fixture, so the answer
        // is a reason; what matters is that it comes without waiting for the hour.
        let user = NsRef {
            kind: crate::model::sample::NsType::User,
            ino: 4026541786,
        };
        let topic = Topic::Namespace(user);
        collector.send(Control::Describe(Some(topic.clone())));
        assert!(matches!(next(), Delivery::Described(t, _) if t == topic));
        collector.send(Control::RefreshNow);
        assert!(matches!(next(), Delivery::Model(Ok(_))));
        assert!(matches!(next(), Delivery::Described(t, _) if t == topic));
        // Told to stop: a sample comes alone.
        collector.send(Control::Describe(None));
        collector.send(Control::RefreshNow);
        assert!(matches!(next(), Delivery::Model(Ok(_))));
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    }

    #[test]
    fn a_cgroups_processes_include_those_below_it() {
        let sample = sys::sample(&fixture(), Collect::Everything).expect("fixture reads");
        assert_eq!(
            processes_below(&sample, 0, "/nstop-fx-30116"),
            [30171, 30181]
        );
        assert_eq!(
            processes_below(&sample, 0, "/nstop-fx-30116/inner"),
            [30181]
        );
        assert_eq!(processes_below(&sample, 0, "/"), [30116, 30171, 30181]);
        assert!(processes_below(&sample, 0, "/nstop-fx").is_empty());
    }

    #[test]
    fn ends_when_dropped_during_a_long_sleep() {
        let (tx, rx) = mpsc::channel();
        let collector = spawn(fixture(), Duration::from_secs(3600), move |d| {
            tx.send(d).is_ok()
        });
        let first = rx.recv_timeout(Duration::from_secs(10));
        assert!(matches!(first, Ok(Delivery::Model(Ok(_)))));
        // Now it sleeps for an hour; dropping it must end the thread at once.
        let (done, dropped) = mpsc::channel();
        std::thread::spawn(move || {
            drop(collector);
            let _ = done.send(());
        });
        dropped
            .recv_timeout(Duration::from_secs(10))
            .expect("the drop ends the sleeping thread");
    }
}
