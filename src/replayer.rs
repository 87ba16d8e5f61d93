//! The explorer's other source: models from a recording (`nstop --replay DIR`), delivered as
//! the collector delivers live ones. It stays on a frame until told to step, seek, jump to
//! the next OOM kill or play (`Pause(false)`: a frame per interval). Each jump first hands over
//! the frames of the chart window before the new one, so charts and the OOM page's minutes
//! before a kill show as they did live.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::collector::{Control, Delivery, Description, Feeder, ReplayAt, Topic};
use crate::store::Recording;

/// Starts on frame `start`; `window` is how far back the charts reach, `pace` the time
/// between frames when playing.
pub fn spawn(
    recording: Recording,
    start: usize,
    window: Duration,
    pace: Duration,
    deliver: impl Fn(Delivery) -> bool + Send + 'static,
) -> Feeder {
    Feeder::spawn("replayer", move |commands| {
        let mut replay = Replay {
            recording,
            window,
            deliver,
            shown_kills: Vec::new(),
            playing: false,
        };
        replay.run(start, pace, &commands);
    })
}

struct Replay<D> {
    recording: Recording,
    window: Duration,
    deliver: D,
    /// The kills in the frame shown (time and PID): the next kill is the first not among them.
    shown_kills: Vec<(Option<String>, Option<i32>)>,
    playing: bool,
}

impl<D: Fn(Delivery) -> bool> Replay<D> {
    fn run(&mut self, start: usize, mut pace: Duration, commands: &Receiver<Control>) {
        let last = self.recording.len() - 1;
        // Each kill with its time, to jump to; or why they could not be read.
        let kills = self.recording.oom_events().map(|events| {
            events
                .into_iter()
                .filter_map(|e| {
                    let ms = crate::model::parse_utc(e.time.as_deref()?)? * 1000;
                    Some((ms, (e.time, e.pid)))
                })
                .collect::<Vec<_>>()
        });
        let mut at = start.min(last);
        if !self.show(None, at, None) {
            return;
        }
        loop {
            let message = if self.playing {
                commands.recv_timeout(pace)
            } else {
                commands.recv().map_err(|_| RecvTimeoutError::Disconnected)
            };
            // At either end a step stays where it is.
            let step = |n: i64| {
                Some((at as i64 + n).clamp(0, last as i64) as usize).filter(|&to| to != at)
            };
            let (target, kill) = match message {
                Err(RecvTimeoutError::Timeout) if at < last => (Some(at + 1), None),
                // Played to the end: stays there, and says it stopped.
                Err(RecvTimeoutError::Timeout) => {
                    self.playing = false;
                    let at = self.position(at, None);
                    if !(self.deliver)(Delivery::Replay(at)) {
                        return;
                    }
                    (None, None)
                }
                Err(RecvTimeoutError::Disconnected) => return,
                Ok(Control::Step(n)) => (step(n), None),
                Ok(Control::Seek(time_ms)) => (Some(self.recording.at(time_ms)), None),
                Ok(Control::NextOom) => {
                    // Kills have whole seconds: one in this frame's second may come after it.
                    let now = self.recording.time_ms(at);
                    let next = kills.as_ref().map(|kills| {
                        kills
                            .iter()
                            .find(|(ms, kill)| ms + 999 >= now && !self.shown_kills.contains(kill))
                    });
                    match next {
                        // The first frame after it, which holds it.
                        Ok(Some(&(kill, _))) => {
                            let next = (self.recording.at(kill + 999) + 1).min(last);
                            (Some(next), Some(kill))
                        }
                        Ok(None) | Err(_) => {
                            let why = match &kills {
                                Ok(_) => format!(
                                    "no OOM kill recorded after {}",
                                    self.recording.label(at)
                                ),
                                Err(e) => format!("the recording's OOM kills: {e}"),
                            };
                            if !(self.deliver)(Delivery::Model(Err(why))) {
                                return;
                            }
                            (None, None)
                        }
                    }
                }
                Ok(Control::Pause(paused)) => {
                    self.playing = !paused;
                    (None, None)
                }
                Ok(Control::RefreshNow) => (Some(at), None),
                Ok(Control::Interval(new)) => {
                    pace = new;
                    (None, None)
                }
                Ok(Control::Describe(Some(topic))) => {
                    // Only the model was recorded: the inside of namespaces, OOM scores and
                    // walls are read live.
                    let not_recorded = || "not recorded: a replay shows what was sampled".into();
                    let description = match topic {
                        Topic::Namespace(_) => Description::Inside(Err(not_recorded())),
                        Topic::Cgroup { .. } => Description::Cgroup {
                            oom_scores: Vec::new(),
                            walls: Err(not_recorded()),
                        },
                        Topic::Process(_) => Description::Walls(Err(not_recorded())),
                    };
                    if !(self.deliver)(Delivery::Described(topic, description)) {
                        return;
                    }
                    (None, None)
                }
                Ok(Control::Describe(None)) => (None, None),
            };
            if let Some(target) = target {
                if !self.show(Some(at), target, kill) {
                    return;
                }
                at = target;
            }
        }
    }

    /// Delivers frame `to`; unless it is the one after `from`, the chart window before it
    /// first. False once the explorer is gone.
    fn show(&mut self, from: Option<usize>, to: usize, kill_ms: Option<u64>) -> bool {
        let time_ms = self.recording.time_ms(to);
        // The next frame, or the same one again (r), keeps the charts as they are.
        if from != Some(to) && from.map(|f| f + 1) != Some(to) {
            if !(self.deliver)(Delivery::Rewind) {
                return false;
            }
            let since = time_ms.saturating_sub(self.window.as_millis() as u64);
            let first = self.recording.at(since);
            for i in first..to {
                if self.recording.time_ms(i) < since {
                    continue;
                }
                // A frame that cannot be read leaves a gap in the charts.
                if let Ok(model) = self.recording.model(i)
                    && !(self.deliver)(Delivery::Past(Box::new(model)))
                {
                    return false;
                }
            }
        }
        let model = self.recording.model(to);
        self.shown_kills = model.as_ref().map_or_else(
            |_| Vec::new(),
            |m| {
                m.oom_events
                    .iter()
                    .map(|e| (e.time.clone(), e.pid))
                    .collect()
            },
        );
        let kill = kill_ms.and_then(|k| {
            let events = &model.as_ref().ok()?.oom_events;
            let second = crate::model::utc(k / 1000);
            events
                .iter()
                .rev()
                .find(|e| e.time.as_deref() == Some(second.as_str()))
                .map(|e| e.seq)
        });
        let at = self.position(to, kill);
        (self.deliver)(Delivery::Replay(at)) && (self.deliver)(Delivery::Model(model.map(Box::new)))
    }

    fn position(&self, index: usize, kill: Option<u64>) -> ReplayAt {
        ReplayAt {
            index,
            len: self.recording.len(),
            time_ms: self.recording.time_ms(index),
            kill,
            playing: self.playing,
        }
    }
}
