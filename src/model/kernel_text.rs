//! Parsers of cgroupfs and PSI text. Pure and total: malformed input gives `None` or skips the
//! line, never a panic (property-tested).

use serde::{Deserialize, Serialize};

/// Undoes four-byte escapes (`\ooo` in mountinfo, `\xNN` in systemd unit names): `decode` turns
/// one candidate sequence into its byte, or `None` when it is not an escape.
pub fn unescape(text: &str, decode: impl Fn(&[u8]) -> Option<u8>) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i..i + 4).and_then(&decode) {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Undoes `\xNN` escapes (systemd unit names, /dev/kmsg records).
pub fn unescape_hex(text: &str) -> String {
    unescape(text, |seq| {
        let hex = seq.strip_prefix(b"\\x")?;
        // Two hex digits exactly (from_str_radix would also take `+f`).
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    })
}

/// A single number file (`memory.current`, `pids.current`).
pub fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// A limit file: `max` (cgroup2's unlimited, also v1 pids.max) is `Some(None)`.
pub fn limit(text: &str) -> Option<Option<u64>> {
    match text.trim() {
        "max" => Some(None),
        value => Some(Some(value.parse().ok()?)),
    }
}

/// A v1 memory limit in bytes: unlimited is PAGE_COUNTER_MAX pages, i.e. the largest
/// page-aligned signed 64-bit value (9223372036854771712 with 4 KiB pages, less with 64 KiB).
pub fn v1_limit(text: &str, page_size: u64) -> Option<Option<u64>> {
    // Unknown (0): the common 4 KiB.
    let page = if page_size == 0 { 4096 } else { page_size };
    let unlimited = i64::MAX as u64 / page * page;
    let bytes: u64 = text.trim().parse().ok()?;
    Some((bytes < unlimited).then_some(bytes))
}

/// `key value` lines (memory.stat, memory.events, cpu.stat, cgroup.events, pids.events,
/// memory.oom_control, cpuacct.stat): the value of `key`.
pub fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// `cpu.max`: quota (`None` = max) and period, in microseconds.
pub fn cpu_max(text: &str) -> Option<(Option<u64>, u64)> {
    let mut fields = text.split_whitespace();
    let quota = match fields.next()? {
        "max" => None,
        q => Some(q.parse().ok()?),
    };
    let period = match fields.next() {
        Some(p) => p.parse().ok()?,
        None => 100_000,
    };
    Some((quota, period))
}

/// v1 `cpu.cfs_quota_us`: -1 is unlimited.
pub fn cfs_quota(text: &str) -> Option<Option<u64>> {
    let quota: i64 = text.trim().parse().ok()?;
    Some(u64::try_from(quota).ok())
}

/// Bytes and operations of one block device.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoDevice {
    /// `major:minor`.
    pub device: String,
    pub rbytes: u64,
    pub wbytes: u64,
    pub rios: u64,
    pub wios: u64,
    pub dbytes: u64,
    pub dios: u64,
}

/// `io.stat`: `MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N` per device.
pub fn io_stat(text: &str) -> Vec<IoDevice> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let mut device = IoDevice {
                device: fields.next().filter(|d| d.contains(':'))?.to_owned(),
                ..IoDevice::default()
            };
            for field in fields {
                let Some((key, value)) = field.split_once('=') else {
                    continue;
                };
                let Ok(value) = value.parse() else { continue };
                match key {
                    "rbytes" => device.rbytes = value,
                    "wbytes" => device.wbytes = value,
                    "rios" => device.rios = value,
                    "wios" => device.wios = value,
                    "dbytes" => device.dbytes = value,
                    "dios" => device.dios = value,
                    _ => {}
                }
            }
            Some(device)
        })
        .collect()
}

/// v1 `blkio.throttle.io_service_bytes` and `io_serviced` (`MAJ:MIN Read N` lines, a final
/// `Total N`): per device, (read, write, discard).
pub fn blkio_throttle(text: &str) -> Vec<(String, u64, u64, u64)> {
    let mut devices: Vec<(String, u64, u64, u64)> = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(device), Some(op), Some(value)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Ok(value) = value.parse::<u64>() else {
            continue;
        };
        if !device.contains(':') {
            continue;
        }
        let index = match devices.iter().position(|d| d.0 == device) {
            Some(i) => i,
            None => {
                devices.push((device.to_owned(), 0, 0, 0));
                devices.len() - 1
            }
        };
        match op {
            "Read" => devices[index].1 = value,
            "Write" => devices[index].2 = value,
            "Discard" => devices[index].3 = value,
            _ => {}
        }
    }
    devices
}

/// One line of a pressure file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PsiLine {
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
    /// Total stall time, microseconds.
    pub total: u64,
}

/// A pressure file: `some` and `full` lines (irq has only `full`; cpu's `full` is system-wide
/// zero on older kernels).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Psi {
    pub some: Option<PsiLine>,
    pub full: Option<PsiLine>,
}

pub fn psi(text: &str) -> Option<Psi> {
    let mut psi = Psi::default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let slot = match fields.next() {
            Some("some") => &mut psi.some,
            Some("full") => &mut psi.full,
            _ => continue,
        };
        let mut parsed = PsiLine::default();
        let mut seen = 0;
        for field in fields {
            let Some((key, value)) = field.split_once('=') else {
                continue;
            };
            let ok = match key {
                "avg10" => value.parse().map(|v| parsed.avg10 = v).is_ok(),
                "avg60" => value.parse().map(|v| parsed.avg60 = v).is_ok(),
                "avg300" => value.parse().map(|v| parsed.avg300 = v).is_ok(),
                "total" => value.parse().map(|v| parsed.total = v).is_ok(),
                _ => false,
            };
            seen += usize::from(ok);
        }
        if seen == 4 {
            *slot = Some(parsed);
        }
    }
    (psi.some.is_some() || psi.full.is_some()).then_some(psi)
}

/// One line of `/proc/PID/cgroup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcCgroupLine<'a> {
    pub hierarchy: u32,
    /// Comma-separated controllers; empty for cgroup2.
    pub controllers: &'a str,
    /// Relative to the reader's cgroup namespace: `/..` leads outside it.
    pub path: &'a str,
}

pub fn proc_cgroup(text: &str) -> Vec<ProcCgroupLine<'_>> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            let hierarchy = fields.next()?.parse().ok()?;
            let controllers = fields.next()?;
            let path = fields.next().filter(|p| p.starts_with('/'))?;
            Some(ProcCgroupLine {
                hierarchy,
                controllers,
                path,
            })
        })
        .collect()
}

/// `cgroup.procs` / `tasks`: one PID per line.
pub fn pids(text: &str) -> Vec<i32> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// cpu.shares (v1) as cpu.weight (v2), as the kernel converts: 1024 shares is weight 100,
/// rounded to the closest and kept within the weight range 1..=10000.
pub fn weight_from_shares(shares: u64) -> u64 {
    (shares.saturating_mul(100).saturating_add(512) / 1024).clamp(1, 10_000)
}

/// A /proc/meminfo value (`MemTotal:   24570488 kB`), in bytes.
pub fn meminfo(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, rest) = line.split_once(':')?;
        if k != key {
            return None;
        }
        let mut fields = rest.split_whitespace();
        let value: u64 = fields.next()?.parse().ok()?;
        Some(match fields.next() {
            Some("kB") => value.saturating_mul(1024),
            _ => value,
        })
    })
}

/// /proc/loadavg: the 1, 5 and 15 minute averages.
pub fn loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// /proc/stat's aggregate `cpu` line as (busy, total) ticks, and the number of `cpuN` lines.
/// Busy excludes idle and iowait; guest time is already inside user and nice.
pub fn cpu_totals(text: &str) -> Option<((u64, u64), usize)> {
    let mut totals = None;
    let mut cpus = 0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("cpu") else {
            continue;
        };
        if rest.starts_with(' ') {
            let values: Vec<u64> = rest
                .split_whitespace()
                .map(|v| v.parse().unwrap_or(0))
                .take(8)
                .collect();
            let total: u64 = values.iter().fold(0, |a, v| a.saturating_add(*v));
            let at = |i: usize| values.get(i).copied().unwrap_or(0);
            let idle = at(3).saturating_add(at(4));
            totals = Some((total.saturating_sub(idle), total));
        } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
            cpus += 1;
        }
    }
    Some((totals?, cpus))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn system_files_as_this_machine_writes_them() {
        // Captured from this machine's /proc (kernel 6.18, 2 CPUs).
        let text = "MemTotal:       24570488 kB\nMemFree:        20111004 kB\n\
                       MemAvailable:   22891344 kB\nHugePages_Total:       0\n";
        assert_eq!(meminfo(text, "MemTotal"), Some(24_570_488 * 1024));
        assert_eq!(meminfo(text, "MemAvailable"), Some(22_891_344 * 1024));
        assert_eq!(meminfo(text, "HugePages_Total"), Some(0));
        assert_eq!(meminfo(text, "Mem"), None);
        assert_eq!(
            loadavg("0.52 0.40 0.33 2/312 20577\n"),
            Some([0.52, 0.40, 0.33])
        );
        assert_eq!(loadavg("0.52"), None);
        let stat = "cpu  1000 20 300 5000 100 0 10 0 0 0\ncpu0 500 10 150 2500 50 0 5 0 0 0\n\
                    cpu1 500 10 150 2500 50 0 5 0 0 0\nintr 12345 0\nctxt 999\n";
        assert_eq!(cpu_totals(stat), Some(((1330, 6430), 2)));
        assert_eq!(cpu_totals("intr 1\n"), None);
    }

    #[test]
    fn limits_v1_and_v2() {
        assert_eq!(limit("max\n"), Some(None));
        assert_eq!(limit("536870912\n"), Some(Some(536_870_912)));
        assert_eq!(v1_limit("9223372036854771712\n", 4096), Some(None));
        assert_eq!(v1_limit("9223372036854710272\n", 65536), Some(None));
        assert_eq!(
            v1_limit("9223372036854710272\n", 4096),
            Some(Some(9_223_372_036_854_710_272))
        );
        assert_eq!(v1_limit("67108864\n", 4096), Some(Some(67_108_864)));
        assert_eq!(limit("garbage"), None);
        assert_eq!(cfs_quota("-1\n"), Some(None));
        assert_eq!(cfs_quota("50000\n"), Some(Some(50_000)));
    }

    #[test]
    fn cpu_max_forms() {
        assert_eq!(cpu_max("max 100000\n"), Some((None, 100_000)));
        assert_eq!(cpu_max("50000 100000\n"), Some((Some(50_000), 100_000)));
        assert_eq!(cpu_max("x 1"), None);
    }

    #[test]
    fn psi_of_this_machine() {
        // /proc/pressure/cpu on 6.18.
        let p = psi("some avg10=0.00 avg60=0.15 avg300=0.27 total=1754162\n\
                     full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
        .unwrap();
        assert_eq!(p.some.unwrap().avg60, 0.15);
        assert_eq!(p.some.unwrap().total, 1_754_162);
        assert_eq!(p.full.unwrap().total, 0);
        let irq = psi("full avg10=1.50 avg60=0.20 avg300=0.04 total=94512\n").unwrap();
        assert!(irq.some.is_none());
        assert_eq!(irq.full.unwrap().avg10, 1.5);
        assert_eq!(psi(""), None);
    }

    #[test]
    fn io_stat_and_blkio() {
        let io = io_stat(
            "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n\
             253:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
        );
        assert_eq!(io.len(), 2);
        assert_eq!(
            (io[0].rbytes, io[0].wbytes, io[0].wios),
            (1_459_200, 314_773_504, 353)
        );
        let blkio = blkio_throttle(
            "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n\
             8:0 Total 12288\nTotal 12288\n",
        );
        assert_eq!(blkio, [("8:0".to_owned(), 4096, 8192, 0)]);
    }

    #[test]
    fn proc_cgroup_lines() {
        let lines = proc_cgroup("4:memory:/process_api/76\n1:name=systemd:/\n0::/../../x\n");
        assert_eq!(lines[0].hierarchy, 4);
        assert_eq!(lines[0].controllers, "memory");
        assert_eq!(lines[1].controllers, "name=systemd");
        assert_eq!(lines[2].path, "/../../x");
    }

    #[test]
    fn shares_to_weight() {
        assert_eq!(weight_from_shares(1024), 100);
        assert_eq!(weight_from_shares(2), 1);
        assert_eq!(weight_from_shares(262_144), 10_000);
        assert_eq!(weight_from_shares(2048), 200);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in "\\PC*") {
            let _ = number(&text);
            let _ = limit(&text);
            let _ = v1_limit(&text, 4096);
            let _ = keyed(&text, "oom_kill");
            let _ = cpu_max(&text);
            let _ = cfs_quota(&text);
            let _ = io_stat(&text);
            let _ = blkio_throttle(&text);
            let _ = psi(&text);
            let _ = proc_cgroup(&text);
            let _ = pids(&text);
            let _ = meminfo(&text, "MemTotal");
            let _ = loadavg(&text);
            let _ = cpu_totals(&text);
        }

        #[test]
        fn psi_lines_round_trip(avg in 0.0f64..100.0, total in any::<u64>()) {
            let text = format!("some avg10={avg:.2} avg60=0.00 avg300=0.00 total={total}\n");
            let p = psi(&text).unwrap().some.unwrap();
            prop_assert_eq!(p.total, total);
            prop_assert!((p.avg10 - avg).abs() < 0.006);
        }

        #[test]
        fn io_stat_shaped_lines(major in 0u32..300, rb in any::<u64>(), wb in any::<u64>()) {
            let text = format!("{major}:0 rbytes={rb} wbytes={wb} rios=1 wios=2 dbytes=0 dios=0\n");
            let io = io_stat(&text);
            prop_assert_eq!(io.len(), 1);
            prop_assert_eq!((io[0].rbytes, io[0].wbytes), (rb, wb));
        }
    }
}
