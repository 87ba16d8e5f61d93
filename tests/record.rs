//! Recordings: the format round trip, a torn tail, rotation within --max-size and pruning by
//! age on frames the test makes; then (root) `nstop record` on the live host while the test
//! provokes an OOM kill, replayed by `snapshot --from` and `oom --from`.

mod common;

use std::path::Path;
use std::time::Duration;

use nstop::store::segment::{KEY_EVERY, Kind, Segment, Writer};
use nstop::store::{Recording, Retention, Store};

/// A snapshot-like JSON document of `n` processes, `tick` moving a few values.
fn frame(n: usize, tick: u64) -> Vec<u8> {
    let processes: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "pid": i + 100,
                "comm": format!("worker-{}", i % 17),
                "rss_bytes": 4096 * (i as u64 + 1) + if i % 10 == 0 { tick * 4096 } else { 0 },
                "cpu_percent": if i % 10 == 0 { Some(tick as f64 / 10.0) } else { None },
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "tick": tick, "processes": processes })).unwrap()
}

fn recording(dir: &Path) -> Recording {
    Recording::open(dir).unwrap()
}

#[test]
fn frames_come_back_as_written_with_deltas_between_key_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("20261126T000000.000Z.nsr");
    let mut writer = Writer::create(&path, 1).unwrap();
    let mut kinds = Vec::new();
    for tick in 0..150 {
        kinds.push(writer.append(1_000 * tick, &frame(300, tick)).unwrap());
    }
    // A key frame first and at least every KEY_EVERY frames; deltas in between.
    assert_eq!(kinds[0], Kind::Key);
    let keys: Vec<usize> = (0..kinds.len())
        .filter(|&i| kinds[i] == Kind::Key)
        .collect();
    assert!(
        keys.windows(2).all(|w| w[1] - w[0] <= KEY_EVERY + 1),
        "{keys:?}"
    );
    assert!(kinds.iter().filter(|&&k| k == Kind::Delta).count() > 140);

    let mut rec = recording(dir.path());
    assert_eq!(rec.len(), 150);
    assert!(rec.notes.is_empty());
    // Forward, backward and across key frames: each delta is decoded from the frame before.
    for tick in [0, 1, 59, 60, 61, 149, 30, 148, 2] {
        assert_eq!(rec.time_ms(tick as usize), 1_000 * tick);
        assert_eq!(rec.json(tick as usize).unwrap(), frame(300, tick));
    }
    assert_eq!(rec.at(59_999), 59);
    assert_eq!(rec.at(0), 0);
    // A delta holds what changed: far smaller than the key frame.
    let size = std::fs::metadata(&path).unwrap().len() as usize;
    let raw: usize = (0..150).map(|t| frame(300, t).len()).sum();
    assert!(size * 20 < raw, "{size} bytes for {raw} of JSON");
}

#[test]
fn a_torn_tail_replays_up_to_the_tear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("20261126T000000.000Z.nsr");
    let mut writer = Writer::create(&path, 1).unwrap();
    let mut nine = 0;
    for tick in 0..10 {
        nine = writer.size as usize;
        writer.append(1_000 * tick, &frame(50, tick)).unwrap();
    }
    drop(writer);
    let whole = std::fs::read(&path).unwrap();
    assert_eq!(Segment::index(&path).unwrap().records.len(), 10);
    // Cut anywhere in the last record (header or payload): the nine before it replay.
    for cut in [nine + 3, nine + 24, whole.len() - 1] {
        std::fs::write(&path, &whole[..cut]).unwrap();
        let mut rec = recording(dir.path());
        assert_eq!(rec.len(), 9, "cut at {cut} of {}", whole.len());
        assert_eq!(rec.notes.len(), 1, "{:?}", rec.notes);
        assert!(rec.notes[0].contains("torn write"));
        assert_eq!(rec.json(8).unwrap(), frame(50, 8));
    }
    // A whole-looking last record whose payload was not all written: its checksum fails.
    let mut damaged = whole.clone();
    let end = damaged.len();
    damaged[end - 5] ^= 0xff;
    std::fs::write(&path, &damaged).unwrap();
    let mut rec = recording(dir.path());
    assert_eq!(rec.len(), 9);
    assert_eq!(rec.json(8).unwrap(), frame(50, 8));
}

/// The bytes in the recording's directory.
fn size_of(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[test]
fn rotation_keeps_the_recording_within_its_size_and_age() {
    let dir = tempfile::tempdir().unwrap();
    let max_size = 1 << 20;
    let retention = Retention {
        max_age: Duration::from_secs(7 * 86_400),
        max_size,
    };
    let mut store = Store::open(dir.path(), retention).unwrap();
    // Frames that compress poorly: each differs throughout from the one before.
    let noisy = |tick: u64| -> Vec<u8> {
        let mut state = tick.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let values: Vec<u64> = (0..3000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state % 1_000_000
            })
            .collect();
        serde_json::to_vec(&values).unwrap()
    };
    for tick in 0..400u64 {
        let total = store.append(1_000 * tick, &noisy(tick)).unwrap();
        assert!(total <= max_size, "tick {tick}: {total} bytes");
        assert_eq!(total, size_of(dir.path()));
    }
    let rec = recording(dir.path());
    assert_eq!(rec.time_ms(rec.len() - 1), 399_000, "the newest kept");
    assert!(rec.time_ms(0) > 1000, "the oldest dropped");
    // A time before what is kept is refused, naming the span there is.
    let (code, out, err) = common::nstop(&[
        "snapshot",
        "--from",
        dir.path().to_str().unwrap(),
        "--at",
        "1970-01-01T00:00:01Z",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("the recording begins at 1970-01-01T00:")
            && err.contains("ends at 1970-01-01T00:06:39Z"),
        "{err}"
    );

    // A segment last written eight days ago goes at the next write.
    let oldest = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    let file = std::fs::File::options().write(true).open(&oldest).unwrap();
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(8 * 86_400))
        .unwrap();
    store.append(400_000, &noisy(400)).unwrap();
    assert!(!oldest.exists());
}

#[test]
fn bad_arguments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (args, says) in [
        (
            vec!["record", "--max-size", "10K", "--dir", d],
            "at least 1M",
        ),
        (
            vec!["record", "--retain", "forever", "--dir", d],
            "not an age",
        ),
        (
            vec!["record", "--interval", "0", "--dir", d],
            "out of range",
        ),
        (vec!["snapshot", "--from", d], "no recording here"),
        (vec!["snapshot", "--at", "1h"], "--from"),
        (vec!["oom", "--from", d], "no recording here"),
    ] {
        let (code, out, err) = common::nstop(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// `nstop record` at 200 ms while the test's process grows to its cgroup's limit and is killed;
/// then a snapshot the test took live matches the recorded one taken at that time, and the
/// kill replays with what its cgroup did before it.
#[test]
fn a_recording_replays_what_was_live_and_the_minutes_before_a_kill() {
    if !common::require_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let memory = common::TestCgroup::with("memory");
    std::fs::write(memory.memory_limit(), (40 << 20).to_string()).unwrap();
    let recorder = common::Recorder::start(
        &[
            "record",
            "--interval",
            "200ms",
            "--dir",
            dir.path().to_str().unwrap(),
        ],
        dir.path(),
    );
    recorder.wait_frames(3);

    // Grows by 1 MiB every 40 ms: the recorder sees it climb for about a second and a half.
    let mut child = memory.python(
        "import time
b = []
for _ in range(200):
    b.append(bytearray(1 << 20)); time.sleep(0.04)",
    );
    let pid = child.id() as i32;
    // Live, while it grows: what the recording must give back for this moment.
    std::thread::sleep(Duration::from_millis(600));
    let (code, live, err) = common::nstop(&["snapshot", "--json"]);
    assert_eq!(code, 0, "{err}");
    let live: serde_json::Value = serde_json::from_str(&live).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "killed by the OOM killer"
    );
    recorder.wait_frames(recorder.frames() + 5);
    recorder.stop();

    // The recorded snapshot nearest the live one: the test's cgroup with the same limit, the
    // growing process in it with the same namespaces.
    let uptime = live["host"]["system"]["uptime_secs"].as_f64().unwrap();
    let mut rec = recording(dir.path());
    let nearest = (0..rec.len())
        .map(|i| {
            let m: serde_json::Value = serde_json::from_slice(&rec.json(i).unwrap()).unwrap();
            m
        })
        .min_by(|a, b| {
            let off = |m: &serde_json::Value| {
                (m["host"]["system"]["uptime_secs"].as_f64().unwrap() - uptime).abs()
            };
            off(a).total_cmp(&off(b))
        })
        .unwrap();
    let cgroup_in = |m: &serde_json::Value| {
        m["cgroups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["path"] == memory.path.as_str())
            .cloned()
            .expect("the test's cgroup")
    };
    assert_eq!(
        cgroup_in(&nearest)["memory"]["max"],
        cgroup_in(&live)["memory"]["max"]
    );
    let process_in = |m: &serde_json::Value| {
        m["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == pid)
            .cloned()
            .expect("the growing process")
    };
    for field in ["comm", "namespaces", "nspid", "cgroups", "start_time"] {
        assert_eq!(
            process_in(&nearest)[field],
            process_in(&live)[field],
            "{field}"
        );
    }
    // `snapshot --from --at TIME` prints the last frame taken at or before TIME, as written.
    let second = rec.time_ms(rec.len() / 2) / 1000;
    let (code, out, err) = common::nstop(&[
        "snapshot",
        "--from",
        dir.path().to_str().unwrap(),
        "--at",
        &nstop::model::utc(second),
    ]);
    assert_eq!(code, 0, "{err}");
    let expected = String::from_utf8(rec.json(rec.at(second * 1000)).unwrap()).unwrap();
    assert!(out == expected + "\n", "not the frame at {second}");

    // The kill, and its cgroup climbing to the limit before it.
    let (code, out, err) = common::nstop(&[
        "oom",
        "--json",
        "--from",
        dir.path().to_str().unwrap(),
        "--cgroup",
        &memory.path,
    ]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let event = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["pid"] == pid)
        .unwrap_or_else(|| panic!("the kill of {pid} replays: {out}"));
    assert_eq!(event["comm"], "python3");
    assert_eq!(event["limit_bytes"], 40 << 20);
    let before = &event["before"];
    assert!(before["samples"].as_u64().unwrap() >= 3, "{before}");
    let first = before["memory_first_bytes"].as_u64().unwrap();
    let peak = before["memory_peak_bytes"].as_u64().unwrap();
    assert!(peak > first + (10 << 20), "climbed: {before}");
    assert!(peak > 25 << 20, "near the limit: {before}");
    assert_eq!(before["limit_bytes"], 40 << 20);
    let (_, text, _) = common::nstop(&[
        "oom",
        "--from",
        dir.path().to_str().unwrap(),
        "--cgroup",
        &memory.path,
    ]);
    assert!(text.contains("before: memory "), "{text}");
}

/// The replayer on a recording of fixture models, one a second, with a kill at the sixth:
/// it starts where it is told with the chart window before, steps, seeks, jumps to just after
/// the kill, and says when there is no later one.
#[test]
fn the_replayer_steps_seeks_and_jumps_to_the_next_kill() {
    use nstop::collector::{Control, Delivery};
    use nstop::model::Model;
    use nstop::model::oom::OomEvent;
    let fixture = nstop::sys::sample(
        &nstop::sys::Roots::under(Path::new("tests/fixtures/cg-v2")),
        nstop::sys::Collect::Everything,
    )
    .unwrap();
    let base = Model::new(&fixture, None);
    let start_ms = 1_795_459_000_000;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(
        dir.path(),
        Retention {
            max_age: Duration::from_secs(86_400),
            max_size: 1 << 30,
        },
    )
    .unwrap();
    for i in 0..20u64 {
        let mut model = base.clone();
        model.host.system.as_mut().unwrap().uptime_secs = Some(1000.0 + i as f64);
        if i >= 5 {
            model.oom_events = std::sync::Arc::new(vec![OomEvent {
                seq: 1,
                time: Some(nstop::model::utc(start_ms / 1000 + 5)),
                pid: Some(4242),
                source: "kmsg".into(),
                ..OomEvent::default()
            }]);
        }
        store
            .append(start_ms + i * 1000, &serde_json::to_vec(&model).unwrap())
            .unwrap();
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let replayer = nstop::replayer::spawn(
        recording(dir.path()),
        3,
        Duration::from_secs(600),
        Duration::from_secs(1),
        move |d| tx.send(d).is_ok(),
    );
    // Until the frame itself: (rewound, frames for the charts, where, uptime).
    let next = || {
        let (mut rewound, mut past) = (false, 0);
        loop {
            match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
                Delivery::Rewind => rewound = true,
                Delivery::Past(_) => past += 1,
                Delivery::Replay(at) => {
                    let Delivery::Model(model) = rx.recv().unwrap() else {
                        panic!("a model after where it is from");
                    };
                    let uptime = model.map(|m| m.host.system.unwrap().uptime_secs);
                    return (rewound, past, Some(at), uptime.ok().flatten());
                }
                Delivery::Model(Err(why)) => return (rewound, past, None, Some(why.len() as f64)),
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    let (rewound, past, at, uptime) = next();
    assert!(rewound);
    assert_eq!(past, 3, "the frames before the start, for the charts");
    assert_eq!(at.unwrap().index, 3);
    assert_eq!(uptime, Some(1003.0));
    replayer.send(Control::Step(1));
    let (rewound, past, at, _) = next();
    assert_eq!((rewound, past, at.unwrap().index), (false, 0, 4));
    replayer.send(Control::Seek(start_ms + 15_500));
    let (rewound, _, at, uptime) = next();
    assert!(rewound);
    assert_eq!((at.unwrap().index, uptime), (15, Some(1015.0)));
    replayer.send(Control::Step(-100));
    assert_eq!(next().2.unwrap().index, 0);
    replayer.send(Control::NextOom);
    let (_, _, at, _) = next();
    let at = at.unwrap();
    assert_eq!(
        (at.index, at.kill),
        (6, Some(1)),
        "just after the kill, which it names"
    );
    replayer.send(Control::NextOom);
    let (_, _, at, _) = next();
    assert!(at.is_none(), "no later kill: said, and the frame stays");
    // Played from the second-last frame: the last, then where it stopped by itself.
    replayer.send(Control::Seek(start_ms + 18_000));
    assert_eq!(next().2.unwrap().index, 18);
    replayer.send(Control::Interval(Duration::from_millis(10)));
    replayer.send(Control::Pause(false));
    let (_, _, at, _) = next();
    let at = at.unwrap();
    assert_eq!((at.index, at.playing), (19, true));
    let Delivery::Replay(stopped) = rx.recv_timeout(Duration::from_secs(10)).unwrap() else {
        panic!("where it stopped");
    };
    assert_eq!((stopped.index, stopped.playing), (19, false));
}

/// assets/nstop-record.service's command line is one nstop takes: run as written (its directory
/// swapped for the test's), it records and ends with 0 on SIGTERM, as systemd stops it.
#[test]
fn the_systemd_unit_runs_as_written() {
    if !common::require_root() {
        return;
    }
    let unit = std::fs::read_to_string("assets/nstop-record.service").unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart=");
    let mut words: Vec<String> = exec.split_whitespace().map(str::to_owned).collect();
    assert_eq!(words[0], "/usr/local/bin/nstop");
    let dir = tempfile::tempdir().unwrap();
    let at = words.iter().position(|w| w == "--dir").expect("--dir") + 1;
    assert_eq!(words[at], "/var/lib/nstop/record", "StateDirectory=nstop");
    words[at] = dir.path().to_str().unwrap().to_owned();
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let recorder = common::Recorder::start(&args, dir.path());
    recorder.wait_frames(1);
    recorder.stop();
}

/// What a crash or a hostile user leaves beside good segments: garbage, zeros, a FIFO named
/// like a segment, a frame that is no snapshot.
/// Each is skipped with a note naming it; every good frame is read; nothing hangs.
#[test]
fn bad_segments_are_skipped_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let (code, snapshot, err) = common::nstop(&["--root", "tests/fixtures/cg-v2", "snapshot"]);
    assert_eq!(code, 0, "{err}");
    let good = dir.path().join("20261126T000000.000Z.nsr");
    let mut writer = Writer::create(&good, 1).unwrap();
    for tick in 0..3 {
        writer
            .append(1_000 * tick, snapshot.trim_end().as_bytes())
            .unwrap();
    }
    drop(writer);
    std::fs::write(
        dir.path().join("20261126T000100.000Z.nsr"),
        b"garbage, not a segment",
    )
    .unwrap();
    std::fs::write(dir.path().join("20261126T000200.000Z.nsr"), vec![0u8; 4096]).unwrap();
    let fifo = dir.path().join("20261126T000300.000Z.nsr");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, out, err) = common::nstop(&["snapshot", "--from", d]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim_end(), snapshot.trim_end());
    for name in ["000100", "000200", "000300"] {
        assert!(
            err.contains(&format!("20261126T{name}.000Z.nsr")) && err.contains("(skipped)"),
            "{name}: {err}"
        );
    }
    assert!(err.contains("not a regular file"), "{err}");
    let (code, _, err) = common::nstop(&["oom", "--from", d]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("20261126T000100.000Z.nsr: not an nstop recording segment (skipped)"));

    // A frame that is JSON but no snapshot is refused, not printed.
    let foreign = dir.path().join("20261126T000500.000Z.nsr");
    Writer::create(&foreign, 2)
        .unwrap()
        .append(5_000, b"{\"a\":1}")
        .unwrap();
    let (code, out, err) = common::nstop(&["snapshot", "--from", d]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("frame at"), "{err}");
}

/// `record --dir` refuses a place another user could change under it (exit 2, nothing
/// written), and a file or a symlink named as the directory.
#[test]
fn record_refuses_a_directory_others_control() {
    use std::os::unix::fs::PermissionsExt;
    let base = tempfile::tempdir().unwrap();
    let shared = base.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let file = base.path().join("file");
    std::fs::write(&file, "").unwrap();
    let link = base.path().join("link");
    std::os::unix::fs::symlink(base.path(), &link).unwrap();
    for (dir, says) in [
        (&shared, "writable by group or others"),
        (&file, "--dir"),
        (&link, "is a symlink"),
    ] {
        let (code, _, err) = common::nstop(&["record", "--dir", dir.to_str().unwrap()]);
        assert_eq!(code, 2, "{dir:?}: {err}");
        assert!(err.contains(says), "{dir:?}: {err}");
    }
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0);
}
