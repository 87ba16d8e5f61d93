//! The real binary in a real terminal: tmux at 120×40 on the live host. Every wait polls the
//! pane; nothing sleeps a fixed time. After q, and after SIGTERM, the shell must be back with
//! the same `stty -a`, the alternate screen left and mouse reporting off.

mod common;

use std::path::Path;

use common::tmux::Tmux;
use common::{Spawned, ns_of, require_root, wait_for};

/// Kills the nstop this test started, by PID, should the test fail before it ended.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", self.0)).unwrap_or_default();
        if comm.trim() != "nstop" {
            return; // ended (and maybe reaped): the PID may be someone else's now
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Starts nstop from the shell, remembering `stty -a` before and after.
fn launch(tmux: &Tmux, dir: &Path) {
    launch_as(tmux, dir, "", "");
}

/// `launch`, with nstop's command line after `run_as` (`setpriv ... --`) and with `args`.
fn launch_as(tmux: &Tmux, dir: &Path, run_as: &str, args: &str) {
    let bin = env!("CARGO_BIN_EXE_nstop");
    let (before, after) = (dir.join("before"), dir.join("after"));
    tmux.shell(&format!(
        "stty -a > {}; {run_as} {bin} {args}; echo \"exit=$?\"; stty -a > {}",
        before.display(),
        after.display()
    ));
    tmux.wait("the first frame", |s| {
        s.contains("NPROCS") && s.contains("1 Namespaces")
    });
    let modes = tmux.terminal_modes();
    assert!(
        modes.starts_with("alternate=1 ") && modes != "alternate=1 mouse=00000",
        "{modes}"
    );
}

/// Shows each screen in turn, ending on Namespaces.
fn visit_every_screen(tmux: &Tmux) {
    // Each screen's title line starts at column 0 (the tab labels start with a space).
    for (key, title) in [
        ("2", "Cgroups  "),
        ("3", "Processes  "),
        ("4", "Pressure  "),
        ("5", "Limits  "),
        ("6", "OOM  "),
        ("1", "Namespaces  "),
    ] {
        tmux.keys(&[key]);
        tmux.wait(title, |s| s.lines().any(|l| l.starts_with(title)));
    }
}

/// The status the shell echoed as `exit=N` (the command line's `exit=$?` has no digits; a
/// command line of exactly the pane's width gets the output joined to it).
fn exit_status(screen: &str) -> Option<i32> {
    screen.split("exit=").skip(1).find_map(|rest| {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

/// After nstop ended with `code`: the shell answers, the terminal is as it was.
fn assert_restored(tmux: &Tmux, dir: &Path, code: i32) {
    let screen = tmux.wait("nstop's exit status", |s| exit_status(s).is_some());
    assert_eq!(exit_status(&screen), Some(code), "{screen}");
    tmux.shell("echo back-$((40+2))");
    tmux.wait("the shell to answer", |s| s.contains("back-42"));
    assert_eq!(tmux.terminal_modes(), "alternate=0 mouse=00000");
    let before = std::fs::read_to_string(dir.join("before")).unwrap();
    let after = std::fs::read_to_string(dir.join("after")).unwrap();
    assert!(
        before.contains("icanon") && before.contains("echo"),
        "{before}"
    );
    assert_eq!(before, after, "stty -a changed");
}

#[test]
fn explore_search_and_quit() {
    if !require_root() {
        return;
    }
    let uts = Spawned::cmd("unshare --uts sleep 600");
    let host_uts = ns_of(std::process::id() as i32, "uts");
    let inode = wait_for("the new uts namespace", || {
        let ino = ns_of(uts.pid(), "uts");
        (ino != host_uts).then_some(ino)
    });
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(120, 40);
    launch(&tmux, dir.path());

    visit_every_screen(&tmux);
    assert!(tmux.screen().contains("NPROCS"));
    tmux.keys(&["?"]);
    tmux.wait("the help", |s| {
        s.contains("Keys · any key closes") && s.contains("pause / resume sampling")
    });
    tmux.keys(&["Escape"]);
    tmux.wait("the help to close", |s| {
        !s.contains("Keys · any key closes")
    });

    tmux.keys(&["/"]);
    tmux.run(&["send-keys", "-t", "main", "-l", &inode.to_string()]);
    tmux.keys(&["Enter"]);
    let row = format!("{inode}   uts");
    let screen = tmux.wait("the uts namespace's row", |s| s.contains(&row));
    let line = screen.lines().find(|l| l.contains(&row)).unwrap();
    assert!(
        line.contains(&uts.pid().to_string()) && line.contains("sleep 600"),
        "{line}"
    );

    tmux.keys(&["q"]);
    assert_restored(&tmux, dir.path(), 0);
}

/// SIGTERM and SIGINT (from another process: in raw mode Ctrl-C is a key) end nstop with
/// 128 + the signal and the terminal restored.
#[test]
fn signals_restore_the_terminal() {
    if !require_root() {
        return;
    }
    for (signal, code) in [
        (nix::sys::signal::Signal::SIGTERM, 143),
        (nix::sys::signal::Signal::SIGINT, 130),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let tmux = Tmux::start(120, 40);
        launch(&tmux, dir.path());
        tmux.keys(&["3"]);
        tmux.wait("the processes screen", |s| {
            s.lines().any(|l| l.starts_with("Processes  "))
        });
        // The process this test started through the shell, by PID.
        let pid = tmux.foreground_pid();
        assert!(
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .unwrap()
                .starts_with("nstop")
        );
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).unwrap();
        assert_restored(&tmux, dir.path(), code);
    }
}

/// A panic in the main thread or in the collector's restores the terminal, prints the panic
/// message on it and ends nstop with 101 (debug builds panic on r when NSTOP_PANIC_IN names
/// the thread).
#[test]
fn a_panic_in_any_thread_restores_the_terminal() {
    if !require_root() {
        return;
    }
    for thread in ["main", "collector"] {
        let dir = tempfile::tempdir().unwrap();
        let tmux = Tmux::start(120, 40);
        launch_as(
            &tmux,
            dir.path(),
            &format!("env NSTOP_PANIC_IN={thread}"),
            "",
        );
        tmux.keys(&["r"]);
        assert_restored(&tmux, dir.path(), 101);
        let message = format!("injected panic in the {thread} thread");
        assert!(tmux.screen().contains(&message), "{}", tmux.screen());
    }
}

/// As nobody the explorer shows what it can see, says how many processes it could not read and
/// how to see them, goes through every screen and quits cleanly.
#[test]
fn explorer_as_nobody() {
    if !require_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(120, 40);
    launch_as(
        &tmux,
        dir.path(),
        "setpriv --reuid=65534 --regid=65534 --clear-groups --",
        "",
    );
    tmux.wait("the notice of what is hidden", |s| {
        s.contains("unreadable: permission denied (run as root to see them)")
    });
    visit_every_screen(&tmux);
    tmux.keys(&["q"]);
    assert_restored(&tmux, dir.path(), 0);
}

#[test]
fn hangup_ends_nstop_with_status_129() {
    if !require_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status");
    let tmux = Tmux::start(120, 40);
    // sh ignores SIGHUP so it outlives the terminal and records nstop's status.
    tmux.shell(&format!(
        "sh -c 'trap \"\" HUP; {}; echo $? > {}'",
        env!("CARGO_BIN_EXE_nstop"),
        status.display()
    ));
    tmux.wait("the first frame", |s| s.contains("NPROCS"));
    let sh = tmux.foreground_pid();
    let pid = wait_for("nstop under sh", || common::children(sh).first().copied());
    let _reaper = KillOnDrop(pid);
    // The terminal goes away: tmux closes the pty and the kernel hangs up its processes.
    drop(tmux);
    let code = wait_for("nstop's status after SIGHUP", || {
        std::fs::read_to_string(&status)
            .ok()
            .filter(|s| s.ends_with('\n'))
    });
    assert_eq!(code.trim(), "129");
}

/// The PIDs of `pid` at every level, outermost first (/proc/PID/status NSpid).
fn nspid(pid: i32) -> Vec<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect())
        .unwrap_or_default()
}

/// Three nested pid namespaces with a sleep in the innermost, named by a unique duration.
struct NestedSleep {
    /// The outermost unshare (killing it ends them all, by --kill-child).
    _outer: Spawned,
    tag: String,
    /// The sleep's host PID.
    sleep: i32,
    /// Its PID at each level, host first.
    pids: Vec<i32>,
    /// The three namespaces, outermost first.
    levels: Vec<u64>,
}

impl NestedSleep {
    fn start() -> NestedSleep {
        let tag = format!("{}.{}", 600 + std::process::id() % 1000, std::process::id());
        let outer = Spawned::cmd(&format!(
            "unshare --pid --fork --kill-child unshare --pid --fork --kill-child unshare --pid --fork --kill-child sleep {tag}"
        ));
        // outer → its child (PID 1 of level 1) → PID 1 of level 2 → the sleep, PID 1 of level 3.
        let chain: Vec<i32> = wait_for("three nested pid namespaces", || {
            let mut chain = vec![outer.pid()];
            for _ in 0..3 {
                chain.push(*common::children(*chain.last().unwrap()).first()?);
            }
            let sleep = *chain.last().unwrap();
            (nspid(sleep).len() == 4
                && std::fs::read_to_string(format!("/proc/{sleep}/comm")).ok()? == "sleep\n")
                .then_some(chain)
        });
        NestedSleep {
            _outer: outer,
            tag,
            sleep: chain[3],
            pids: nspid(chain[3]),
            levels: chain[1..].iter().map(|&p| ns_of(p, "pid")).collect(),
        }
    }

    /// The sentence of its PIDs, in its phrases (each stays whole where it wraps).
    fn phrases(&self) -> Vec<String> {
        let (pids, levels) = (&self.pids, &self.levels);
        vec![
            format!("host PID {}", pids[0]),
            format!("= PID {} in pid:[{}]", pids[1], levels[0]),
            format!("= PID {} in pid:[{}]", pids[2], levels[1]),
            format!("= PID 1 in pid:[{}]", levels[2]),
        ]
    }

    /// Processes, only ours, as a tree (under their ancestors): the sleep is the last row; P
    /// opens the PID-namespace view on it.
    fn open_pid_view(&self, tmux: &Tmux) {
        tmux.keys(&["3", "\\"]);
        tmux.run(&["send-keys", "-t", "main", "-l", &self.tag]);
        tmux.keys(&["Enter", "t"]);
        // The rows say it is a tree (a kill elsewhere on the host may fill the title).
        tmux.wait("our processes as a tree", |s| {
            s.lines().any(|l| l.starts_with("Processes ")) && s.lines().any(|l| l.contains("▾ "))
        });
        tmux.keys(&["G", "P"]);
    }
}

#[test]
fn teaching_view_finds_a_pid_at_every_level() {
    if !require_root() {
        return;
    }
    let scene = NestedSleep::start();
    let (tag, sleep, pids, levels) = (&scene.tag, scene.sleep, &scene.pids, &scene.levels);
    let expected = scene.phrases().join(" ");

    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(140, 40);
    launch(&tmux, dir.path());
    scene.open_pid_view(&tmux);
    // The sentence, each level's namespace, and the sleep's PIDs aligned, outermost first;
    // all in one capture (one taken while a frame is being written shows only part of it).
    let row = format!("{} › {} › {} › 1  sleep {tag}", pids[0], pids[1], pids[2]);
    tmux.wait("the PID at every level", |s| {
        s.contains(&expected)
            && s.contains(&row)
            && levels
                .iter()
                .all(|ns| s.contains(&format!("pid:[{ns}]  level")))
    });

    // Live: a process a class starts in the innermost namespace appears with its PIDs.
    let tag2 = format!("{tag}1");
    let joined = Spawned::cmd(&format!("nsenter -t {sleep} --pid -- sleep {tag2}"));
    let second = wait_for("the process started inside", || {
        let child = *common::children(joined.pid()).first()?;
        (nspid(child).len() == 4).then_some(child)
    });
    let p = nspid(second);
    let row = format!("{} › {} › {} › {}  sleep {tag2}", p[0], p[1], p[2], p[3]);
    tmux.wait("the new process in the tree", |s| s.contains(&row));
    tmux.keys(&["q"]);
    assert_restored(&tmux, dir.path(), 0);
}

#[test]
fn a_limit_edited_in_the_explorer_lands_in_the_file() {
    if !require_root() {
        return;
    }
    let memory = common::TestCgroup::with("memory");
    let name = memory.path.rsplit('/').next().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let tmux = Tmux::start(140, 40);
    tmux.shell(&format!("export NSTOP_AUDIT_LOG={}", audit.display()));
    launch(&tmux, dir.path());
    tmux.keys(&["2", "/"]);
    tmux.run(&["send-keys", "-t", "main", "-l", &name]);
    tmux.keys(&["Enter", "e"]);
    tmux.wait("the limits form", |s| {
        s.contains("Limits of ")
            && s.contains(&format!(":{} ", memory.path))
            && s.contains("memory.max")
    });
    tmux.run(&["send-keys", "-t", "main", "-l", "48M"]);
    tmux.keys(&["Enter"]);
    let limit = memory.memory_limit();
    tmux.wait("the confirmation with the exact write", |s| {
        s.contains("This will:") && s.contains("write \"50331648\" to")
    });
    let before = std::fs::read_to_string(&limit).unwrap();
    assert_ne!(before.trim(), "50331648", "nothing written before y");
    tmux.keys(&["y"]);
    tmux.wait("the change done", |s| {
        s.contains("done: write \"50331648\"")
    });
    assert_eq!(std::fs::read_to_string(&limit).unwrap().trim(), "50331648");
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.contains("\"after\":\"50331648\""), "{log}");
    // u writes back what the change replaced (max, or v1's unlimited), after its own y.
    let was = before.trim();
    tmux.keys(&["u"]);
    tmux.wait("the undo's confirmation", |s| {
        s.contains("This will:") && s.contains(&format!("write \"{was}\" to"))
    });
    tmux.keys(&["y"]);
    tmux.wait("the undo done", |s| {
        s.contains(&format!("done: write \"{was}\""))
    });
    assert_eq!(std::fs::read_to_string(&limit).unwrap().trim(), was);
    tmux.keys(&["q"]);
    assert_restored(&tmux, dir.path(), 0);
}

/// The OOM debugger's path (issue 21): two processes the test starts in a memory cgroup of its
/// own are OOM-killed while the explorer watches. The second dies while the Processes screen
/// is shown: its title says so. On the OOM screen the cursor is on that kill, so `d` opens its
/// diagnosis (it opened an older kill's), which counts the limit hits since the first kill
/// and charts the cgroup's memory up to the kill.
#[test]
fn the_oom_debugger_path() {
    if !require_root() {
        return;
    }
    let memory = common::TestCgroup::with("memory");
    std::fs::write(memory.memory_limit(), (24 << 20).to_string()).unwrap();
    let name = memory.path.rsplit('/').next().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(160, 45);
    launch(&tmux, dir.path());
    tmux.keys(&["6"]);
    tmux.wait("the OOM screen", |s| {
        s.lines().any(|l| l.starts_with("OOM  "))
    });
    let kill = || {
        let mut victim = memory.python("b = [bytearray(1 << 20) for _ in range(200)]");
        let pid = victim.id();
        let status = victim.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "killed by the OOM killer"
        );
        pid
    };
    let listed = |pid: u32| {
        let name = name.clone();
        move |s: &str| {
            s.lines()
                .any(|l| l.contains("python3") && l.contains(&pid.to_string()) && l.contains(&name))
        }
    };
    let first = kill();
    tmux.wait("the first kill listed", listed(first));
    tmux.keys(&["3"]);
    tmux.wait("the Processes screen", |s| {
        s.lines().any(|l| l.starts_with("Processes  "))
    });
    let second = kill();
    tmux.wait("the second kill announced on the Processes screen", |s| {
        s.lines()
            .any(|l| l.starts_with("Processes  ") && l.contains("new OOM kill: python3"))
    });
    tmux.keys(&["6"]);
    tmux.wait("the second kill listed", listed(second));
    tmux.keys(&["d"]);
    tmux.wait("the second kill's diagnosis", |s| {
        // The sentence wraps to the terminal's width; the limit has a row of its own.
        s.contains(&format!("killed python3 (pid {second})"))
            && s.contains("CONSTRAINT_MEMCG")
            && s.contains("since the previous kill here")
            && s.contains("memory before the kill")
    });
    tmux.keys(&["q"]);
    assert_restored(&tmux, dir.path(), 0);
}

/// The teacher's path at 80×24 (issue 21): the footer keeps `? help` and `q quit`; the
/// PID-namespace view's sentence wraps between its phrases, none cut (it lost its last);
/// the help scrolls to its last key (rows were missing); `y` shows pid namespaces first.
#[test]
fn the_teacher_path_at_80x24() {
    if !require_root() {
        return;
    }
    let scene = NestedSleep::start();
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(80, 24);
    launch(&tmux, dir.path());
    let screen = tmux.screen();
    let footer = screen.lines().last().unwrap_or_default();
    assert!(footer.starts_with("? help  q quit"), "{screen}");
    scene.open_pid_view(&tmux);
    // The view opens on the sleep, at its end; the sentence is at its top.
    tmux.wait("the view", |s| s.contains(" ◀"));
    tmux.keys(&["g"]);
    let phrases = scene.phrases();
    tmux.wait("every phrase of the sentence, whole", |s| {
        phrases.iter().all(|p| s.contains(p.as_str()))
    });
    tmux.keys(&["?"]);
    tmux.wait("the help", |s| s.contains(" Keys 1–"));
    for _ in 0..4 {
        tmux.keys(&["PageDown"]);
    }
    tmux.wait("the help's last key", |s| {
        s.contains("Ctrl-U") && s.contains("clear the search or filter being typed")
    });
    // Esc alone: with the next key it would read as Alt-that-key.
    tmux.keys(&["Escape"]);
    tmux.wait("the help closed", |s| !s.contains(" Keys 1–"));
    tmux.keys(&["1", "y"]);
    tmux.wait("pid namespaces first", |s| {
        s.lines().any(|l| l.starts_with("Namespaces of type pid"))
    });
    tmux.keys(&["q"]);
    assert_restored(&tmux, dir.path(), 0);
}

/// The ops engineer's path (issue 21): `x` on a network namespace only a bind mount holds
/// enters exactly it (it said "select a process or a namespace"): the shell's prompt and
/// NSTOP_NS say where it is, and its net namespace is that one. What is typed in the shell
/// stays there (`e` opened the limits form), and after it Esc on a screen chosen by its key
/// goes nowhere (it jumped to a detail from minutes before).
#[test]
fn the_ops_path_enters_a_held_namespace_and_comes_back() {
    if !require_root() {
        return;
    }
    let netns = common::Netns::add();
    let ino = common::ns_inode(&netns.path());
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(120, 30);
    launch_as(&tmux, dir.path(), "env SHELL=/bin/bash", "");
    tmux.keys(&["1", "/"]);
    tmux.run(&["send-keys", "-t", "main", "-l", &ino.to_string()]);
    tmux.keys(&["Enter"]);
    tmux.wait("the namespace and its holder", |s| {
        s.lines().any(|l| {
            l.contains(&ino.to_string()) && l.contains("[held by mount:/") && l.contains(&netns.0)
        })
    });
    tmux.keys(&["x"]);
    let marked = format!("(nstop net:[{ino}]) ");
    tmux.wait("the shell's prompt", |s| s.contains(&marked));
    tmux.shell("echo \"in $NSTOP_NS\" $(readlink /proc/self/ns/net); e");
    tmux.wait("the shell's answer", |s| {
        s.contains(&format!("in net:[{ino}] net:[{ino}]")) && s.contains("e: command not found")
    });
    // `exit 0`: a quick non-zero exit (the `e` above) would be held for reading first.
    tmux.shell("exit 0");
    tmux.wait("the explorer back", |s| {
        s.lines().any(|l| l.starts_with("Namespaces  "))
    });
    // Esc, then a key whose effect shows: once the table is a tree, Esc was handled too.
    tmux.keys(&["Escape"]);
    tmux.keys(&["t"]);
    // (A kill elsewhere on the host may fill the title: the rows say it is a tree.)
    let screen = tmux.wait("the tree", |s| {
        s.lines().any(|l| l.starts_with("Namespaces  ")) && s.lines().any(|l| l.starts_with("▾ "))
    });
    assert!(!screen.contains("Limits of"), "{screen}");
    tmux.keys(&["q"]);
    assert_restored(&tmux, dir.path(), 0);
}

/// A recording (of the v2 fixture tree) replayed: the footer names the frame, every screen
/// shows, [ and ] move between frames, changes are refused, q restores the terminal.
#[test]
fn a_replay_shows_every_screen_and_changes_nothing() {
    if !require_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("rec");
    let recorder = common::Recorder::start(
        &[
            "--root",
            "tests/fixtures/cg-v2",
            "record",
            "--interval",
            "50ms",
            "--dir",
            recording.to_str().unwrap(),
        ],
        &recording,
    );
    // Enough to step back and forth (an emulated guest writes a frame a second at most).
    recorder.wait_frames(3);
    recorder.stop();
    let frames = nstop::store::Recording::open(&recording).unwrap().len();

    let tmux = Tmux::start(120, 40);
    launch_as(
        &tmux,
        dir.path(),
        "",
        &format!("--replay {}", recording.display()),
    );
    let last = format!("frame {frames} of {frames}");
    tmux.wait("the newest frame", |s| s.contains(&last));
    visit_every_screen(&tmux);
    tmux.keys(&["["]);
    let before = format!("frame {} of {frames}", frames - 1);
    tmux.wait("the frame before", |s| s.contains(&before));
    tmux.keys(&["]"]);
    tmux.wait("the newest again", |s| s.contains(&last));
    tmux.keys(&["3", "K"]);
    tmux.wait("the refusal", |s| {
        s.contains("a replay shows a recording: nothing is changed from it")
    });
    tmux.keys(&["q"]);
    assert_restored(&tmux, dir.path(), 0);
}

/// A config file opens the explorer where it says (the Processes screen, flat, by PID
/// descending); `s` then `W` writes the new sort back into it; a file with a wrong line opens
/// on the defaults and the footer names the line.
#[test]
fn a_config_file_opens_the_explorer_where_it_says_and_w_saves_it() {
    if !require_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "screen = \"processes\"\n\n[screens.processes]\nsort = \"PID\"\ndescending = true\ntree = false\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_nstop");
    let tmux = Tmux::start(120, 40);
    tmux.shell(&format!(
        "{bin} --config {}; echo exit=$?",
        config.display()
    ));
    let screen = tmux.wait("the Processes screen, flat, by PID descending", |s| {
        s.contains("sort PID▼") && s.contains("flat") && s.contains("COMMAND")
    });
    // The rows' PIDs fall.
    let pids: Vec<i32> = screen
        .lines()
        .skip_while(|l| !l.contains("COMMAND"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(
        pids.len() > 3 && pids.windows(2).all(|w| w[0] > w[1]),
        "{screen}"
    );
    tmux.keys(&["s"]);
    tmux.wait("the next sort", |s| s.contains("sort NSPID▼"));
    tmux.keys(&["W"]);
    tmux.wait("saved", |s| s.contains("saved to"));
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(saved.contains("screen = \"processes\""), "{saved}");
    assert!(
        saved.contains("[screens.processes]\nsort = \"NSPID\""),
        "{saved}"
    );
    tmux.keys(&["q"]);
    tmux.wait("nstop to end", |s| s.contains("exit=0"));
    // `sort` outside a screen's table: line 2 is wrong.
    std::fs::write(&config, "screen = \"processes\"\nsort = \"PID\"\n").unwrap();
    tmux.shell("clear");
    tmux.shell(&format!(
        "{bin} --config {}; echo exit=$?",
        config.display()
    ));
    tmux.wait("the defaults, and the wrong line named", |s| {
        s.contains("NPROCS") && s.contains("toml:2: unknown field `sort`")
    });
    tmux.keys(&["q"]);
    tmux.wait("nstop to end again", |s| s.matches("exit=0").count() == 1);
    // The same file, checked: exit 2 naming the line.
    let out = std::process::Command::new(bin)
        .args(["config", "check"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("config.toml:2: unknown field `sort`, expected one of"),
        "{err}"
    );
}
