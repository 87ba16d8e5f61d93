//! Live-kernel test helpers: every scenario is created by the test and torn down by a guard,
//! also when the test fails (ARCHITECTURE.md, "Working safely on a shared kernel").
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};

pub mod tmux;
use nix::unistd::Pid;

/// Live tests need root (CI is root). Outside CI a non-root run skips them with a note.
pub fn require_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "live tests must run as root in CI"
    );
    eprintln!("skipped: live test needs root");
    false
}

/// A name no other test or run uses: `nstop-test-<pid>-<n>`.
pub fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "nstop-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A process the test started; killed by PID (with its namespace, via --kill-child) on drop.
pub struct Spawned(pub Child);

impl Spawned {
    pub fn new(program: &str, args: &[&str]) -> Spawned {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        Spawned(child)
    }

    /// A command line of plain words (no quoting): `"unshare --pid --fork sleep 60"`.
    pub fn cmd(line: &str) -> Spawned {
        let mut words = line.split_whitespace();
        let program = words.next().expect("a program");
        Spawned::new(program, &words.collect::<Vec<_>>())
    }

    pub fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // Once reaped its PID may be another process's: only a child not yet reaped is killed.
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = kill(Pid::from_raw(self.pid()), Signal::SIGKILL);
            let _ = self.0.wait();
        }
    }
}

/// An `ip netns` entry the test added; deleted on drop.
pub struct Netns(pub String);

impl Netns {
    pub fn add() -> Netns {
        let name = unique_name();
        let status = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("ip netns add");
        assert!(status.success(), "ip netns add {name} failed");
        Netns(name)
    }

    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .status();
    }
}

/// Polls `probe` until it returns `Some`, for at most 60 s: a bound against hangs, not a speed
/// test (the emulated real-host guest runs a debug build several times slower than this host).
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Direct children of a process (from /proc/PID/task/PID/children).
pub fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The inode a namespace link names, read independently of nstop (stat, not readlink).
pub fn ns_inode(path: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .ino()
}

/// The inode of namespace `kind` of process `pid`.
pub fn ns_of(pid: i32, kind: &str) -> u64 {
    ns_inode(&format!("/proc/{pid}/ns/{kind}"))
}

/// Waits until `pid` (an `unshare` the test started) is in a `kind` namespace other than the
/// test's own; returns that namespace's inode.
pub fn new_ns_of(pid: i32, kind: &str) -> u64 {
    wait_for(&format!("PID {pid} in a new {kind} namespace"), || {
        let ino = ns_of(pid, kind);
        (ino != ns_inode(&format!("/proc/self/ns/{kind}"))).then_some(ino)
    })
}

/// Whether this kernel answers NS_GET_ID (6.18 here; 6.1 does not), asked independently of nstop.
pub fn kernel_has_ns_get_id() -> bool {
    use std::os::fd::AsRawFd;
    const NS_GET_ID: nix::libc::c_ulong = 0x8008_b70d;
    let ns = std::fs::File::open("/proc/self/ns/net").expect("own net namespace");
    let mut id = 0u64;
    // SAFETY: NS_GET_ID writes one u64 through the pointer it is given.
    unsafe { nix::libc::ioctl(ns.as_raw_fd(), NS_GET_ID, &mut id) == 0 }
}

/// Runs the nstop binary; returns (exit code, stdout, stderr).
pub fn nstop(args: &[&str]) -> (i32, String, String) {
    run_nstop(Command::new(env!("CARGO_BIN_EXE_nstop")).args(args))
}

/// `nstop` with an audit log of the test's own (commands that change things write one).
pub fn nstop_audited(audit: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    run_nstop(
        Command::new(env!("CARGO_BIN_EXE_nstop"))
            .args(args)
            .env("NSTOP_AUDIT_LOG", audit),
    )
}

fn run_nstop(command: &mut Command) -> (i32, String, String) {
    let out = command.output().expect("run nstop");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A network namespace bind-mounted only inside a private mount namespace of its own, on a
/// file in /tmp that the host sees as a plain file (what `ip netns` in a container leaves).
/// Fields drop in order: the holder is killed, then the file removed.
pub struct HiddenNetns {
    holder: Spawned,
    /// The mount point, the same path in both mount namespaces.
    pub point: RemovedOnDrop,
    /// The holder's mount namespace, where the mount is.
    pub mnt: u64,
    pub net: u64,
}

/// A file removed on drop.
pub struct RemovedOnDrop(pub String);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl HiddenNetns {
    pub fn add() -> HiddenNetns {
        let point = RemovedOnDrop(format!("/tmp/{}", unique_name()));
        let script = format!(
            "touch {p} && unshare --net={p} true && exec sleep 600",
            p = point.0
        );
        let holder = Spawned::new(
            "unshare",
            &["--mount", "--propagation", "private", "sh", "-c", &script],
        );
        let pid = holder.pid();
        let mnt = new_ns_of(pid, "mnt");
        let net = wait_for("the netns mounted inside", || {
            let mountinfo = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).ok()?;
            let line = mountinfo.lines().find(|l| l.contains(&point.0))?;
            let root = line.split(' ').nth(3)?;
            root.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
        });
        HiddenNetns {
            holder,
            point,
            mnt,
            net,
        }
    }

    /// The process in the mount namespace that holds the mount.
    pub fn holder(&self) -> i32 {
        self.holder.pid()
    }
}

/// A thread that unshares its uts namespace and holds it until told to stop.
pub struct UtsThread {
    pub ino: u64,
    pub tid: i32,
    stop: std::sync::mpsc::Sender<()>,
    handle: std::thread::JoinHandle<()>,
}

impl UtsThread {
    pub fn start() -> UtsThread {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUTS).expect("unshare uts");
            let tid = nix::unistd::gettid().as_raw();
            tx.send((ns_inode("/proc/thread-self/ns/uts"), tid))
                .unwrap();
            let _ = stopped.recv();
        });
        let (ino, tid) = rx.recv().unwrap();
        UtsThread {
            ino,
            tid,
            stop,
            handle,
        }
    }

    pub fn end(self) {
        self.stop.send(()).unwrap();
        self.handle.join().unwrap();
    }
}

/// Mount point of the hierarchy with `controller` (`""`: cgroup2), from our mountinfo, when it
/// shows the whole hierarchy (root `/`).
pub fn cgroup_mount(controller: &str) -> Option<String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    nstop::sys::cgroupfs::parse_cgroup_mounts(&mountinfo)
        .into_iter()
        .find(|m| {
            m.root == "/"
                && if controller.is_empty() {
                    m.version == 2
                } else {
                    m.controllers.iter().any(|c| c == controller)
                }
        })
        .map(|m| m.mount)
}

/// Fails, naming what is missing, unless the test's own cgroup2 cgroup hands `controller` to its
/// children: no test passes by skipping what it needs.
fn assert_handed_down(controller: &str) {
    let mount = cgroup_mount("").expect("neither a v1 hierarchy nor cgroup2 is mounted");
    let own = own_cgroup("");
    let granted =
        std::fs::read_to_string(format!("{mount}{own}/cgroup.subtree_control")).unwrap_or_default();
    assert!(
        granted.split_whitespace().any(|c| c == controller),
        "no v1 hierarchy has {controller}, and cgroup2 does not hand it to the test's children \
         ({mount}{own}/cgroup.subtree_control is {granted:?}): run the test in a cgroup that \
         delegates it (scripts/realhost/suite.sh runs the suite in the root cgroup)"
    );
}

/// A cgroup beneath the test's own, removed on drop (after its processes are gone: declare it
/// before them).
pub struct TestCgroup {
    /// The directory under the mount point.
    pub dir: std::path::PathBuf,
    /// The path within the hierarchy, as /proc/PID/cgroup writes it.
    pub path: String,
    /// The controller whose v1 hierarchy holds it; `None`: cgroup2.
    pub v1: Option<String>,
}

/// The test process's own cgroup in the hierarchy with `controller` (`""`: cgroup2).
pub fn own_cgroup(controller: &str) -> String {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own = nstop::model::kernel_text::proc_cgroup(&own)
        .into_iter()
        .find(|line| {
            if controller.is_empty() {
                line.hierarchy == 0 && line.controllers.is_empty()
            } else {
                line.controllers.split(',').any(|c| c == controller)
            }
        })
        .expect("own cgroup line")
        .path
        .trim_end_matches('/')
        .to_owned();
    // Outside our cgroup namespace's view we cannot tell where "beneath our own" is.
    assert!(
        !own.split('/').any(|c| c == ".."),
        "own cgroup {own} is outside view"
    );
    own
}

impl TestCgroup {
    /// In the v1 hierarchy with `controller`, or in cgroup2 (`""`, no controller asked for).
    pub fn new(controller: &str) -> TestCgroup {
        let own = own_cgroup(controller);
        let path = format!("{own}/{}", unique_name());
        let mount = cgroup_mount(controller).expect("hierarchy mounted");
        let dir = std::path::PathBuf::from(format!("{mount}{path}"));
        std::fs::create_dir(&dir).expect("create test cgroup");
        TestCgroup {
            dir,
            path,
            v1: (!controller.is_empty()).then(|| controller.to_owned()),
        }
    }

    /// Where `controller` lives on this host: its v1 hierarchy when one is mounted (hybrid and
    /// legacy hosts), else cgroup2.
    pub fn with(controller: &str) -> TestCgroup {
        if cgroup_mount(controller).is_some() {
            return TestCgroup::new(controller);
        }
        assert_handed_down(controller);
        TestCgroup::new("")
    }

    pub fn is_v2(&self) -> bool {
        self.v1.is_none()
    }

    /// `v2` on cgroup2, `v1` on a v1 hierarchy: a file name or a value in each version's terms.
    pub fn either<'a>(&self, v2: &'a str, v1: &'a str) -> &'a str {
        if self.is_v2() { v2 } else { v1 }
    }

    /// How nstop's cgroup commands name it: `/path` (cgroup2) or `controller:/path`.
    pub fn spec(&self) -> String {
        match &self.v1 {
            Some(controller) => format!("{controller}:{}", self.path),
            None => self.path.clone(),
        }
    }

    /// How /proc/PID/cgroup ends the line of a member: `::/path` or `controller:/path`.
    pub fn line(&self) -> String {
        format!("{}:{}", self.v1.as_deref().unwrap_or(":"), self.path)
    }

    /// The file of the memory limit: memory.max or memory.limit_in_bytes.
    pub fn memory_limit(&self) -> std::path::PathBuf {
        self.dir
            .join(self.either("memory.max", "memory.limit_in_bytes"))
    }

    pub fn write(&self, file: &str, value: &str) {
        std::fs::write(self.dir.join(file), value)
            .unwrap_or_else(|e| panic!("write {value} to {}/{file}: {e}", self.dir.display()));
    }

    pub fn add(&self, pid: i32) {
        self.write("cgroup.procs", &pid.to_string());
    }

    /// Python `code` running in this cgroup from its first allocation: a shell moves itself
    /// in, then becomes python3, so the child's PID is the python's.
    pub fn python(&self, code: &str) -> Child {
        let line = format!(
            "echo $$ > {}; exec python3 -c '{code}'",
            self.dir.join("cgroup.procs").display()
        );
        Command::new("sh")
            .args(["-c", &line])
            .spawn()
            .expect("start python3 in the test's cgroup")
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for _ in 0..100 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// The cgroups a test needs, one per hierarchy: on a v1 host one per controller's hierarchy, on
/// cgroup2 one cgroup that has them all.
pub struct TestCgroups(Vec<TestCgroup>);

/// The mount of the hierarchy where `controller` is on this host: its v1 hierarchy when one is
/// mounted, else cgroup2 (`""` asks for cgroup2 itself).
fn hierarchy_of(controller: &str) -> Option<String> {
    let v1 = (!controller.is_empty())
        .then(|| cgroup_mount(controller))
        .flatten();
    v1.or_else(|| cgroup_mount(""))
}

impl TestCgroups {
    /// `""` asks for a cgroup2 cgroup; cgroup2 keeps CPU usage (cpuacct's counters) in every
    /// cgroup, with no controller to enable.
    pub fn with(controllers: &[&str]) -> TestCgroups {
        // Checked before anything is made: a controller cgroup2 would need to hand down.
        controllers
            .iter()
            .filter(|c| !matches!(**c, "" | "cpuacct") && cgroup_mount(c).is_none())
            .for_each(|c| assert_handed_down(c));
        let mut made = TestCgroups(Vec::new());
        for &controller in controllers {
            if made.find(controller).is_none() {
                let v1 = !controller.is_empty() && cgroup_mount(controller).is_some();
                made.0
                    .push(TestCgroup::new(if v1 { controller } else { "" }));
            }
        }
        made
    }

    fn find(&self, controller: &str) -> Option<&TestCgroup> {
        let mount = hierarchy_of(controller);
        self.0
            .iter()
            .find(|c| hierarchy_of(c.v1.as_deref().unwrap_or("")) == mount)
    }

    /// The cgroup where `controller` is (`""`: cgroup2).
    pub fn of(&self, controller: &str) -> &TestCgroup {
        self.find(controller)
            .unwrap_or_else(|| panic!("{controller:?} was asked for"))
    }

    /// Puts `pid` in every one of them.
    pub fn add(&self, pid: i32) {
        self.0.iter().for_each(|c| c.add(pid));
    }
}

/// `nstop ARGS...` running as a recorder (its `--dir` among the args), killed on drop should
/// the test fail first.
pub struct Recorder {
    child: Child,
    dir: std::path::PathBuf,
}

impl Recorder {
    pub fn start(args: &[&str], dir: &std::path::Path) -> Recorder {
        let child = Command::new(env!("CARGO_BIN_EXE_nstop"))
            .args(args)
            .stderr(Stdio::null())
            .spawn()
            .expect("start nstop record");
        Recorder {
            child,
            dir: dir.to_owned(),
        }
    }

    /// Frames written so far (0 before the first).
    pub fn frames(&self) -> usize {
        nstop::store::Recording::open(&self.dir).map_or(0, |r| r.len())
    }

    pub fn wait_frames(&self, n: usize) {
        wait_for(&format!("{n} frames"), || {
            (self.frames() >= n).then_some(())
        });
    }

    /// SIGTERM, as systemd stops it: it must end with 0.
    pub fn stop(mut self) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).unwrap();
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "SIGTERM ends nstop record with 0: {status}"
        );
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A running child, killed by PID on drop.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `nstop serve` on a loopback port the kernel picks, with the address it says it serves.
pub fn serve(interval: &str) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nstop"))
        .args(["serve", "--listen", "127.0.0.1:0", "--interval", interval])
        .stderr(Stdio::piped())
        .spawn()
        .expect("nstop serve");
    let stderr = child.stderr.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("the address in: {line}"))
        .to_owned();
    (running, addr)
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// (status, content type, body) of a GET.
pub fn get(url: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut request = agent().get(url);
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let mut response = request.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let content_type = (response.headers().get("content-type"))
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.body_mut().read_to_string().unwrap();
    (response.status().as_u16(), content_type, body)
}

/// The metrics once a sample is there.
pub fn metrics(addr: &str, accept: &str) -> (String, String) {
    wait_for("a sample", || {
        let (status, content_type, body) = get(&format!("http://{addr}/metrics"), Some(accept));
        (status == 200).then_some((content_type, body))
    })
}
