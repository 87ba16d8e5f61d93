//! Limits as people type them (`memory.max=512M`, `cpu.max=50%`, `pids.max=max`), checked
//! completely before anything is written, and turned into the files and values of a cgroup2
//! or a v1 hierarchy (ARCHITECTURE.md: v1 names, units and conversions).

use std::fmt;

/// One accepted `KEY=VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    pub key: Key,
    pub value: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    MemoryMax,
    MemoryHigh,
    MemoryLow,
    MemoryMin,
    MemorySwapMax,
    CpuMax,
    CpuWeight,
    PidsMax,
    IoMax,
}

const KEYS: [(Key, &str); 9] = [
    (Key::MemoryMax, "memory.max"),
    (Key::MemoryHigh, "memory.high"),
    (Key::MemoryLow, "memory.low"),
    (Key::MemoryMin, "memory.min"),
    (Key::MemorySwapMax, "memory.swap.max"),
    (Key::CpuMax, "cpu.max"),
    (Key::CpuWeight, "cpu.weight"),
    (Key::PidsMax, "pids.max"),
    (Key::IoMax, "io.max"),
];

impl Key {
    pub fn name(self) -> &'static str {
        KEYS.iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
            .expect("every key is listed")
    }

    /// The controller whose hierarchy (v1) or enabled controller (v2) the key needs.
    pub fn controller(self) -> &'static str {
        match self {
            Key::MemoryMax | Key::MemoryHigh | Key::MemoryLow | Key::MemoryMin => "memory",
            Key::MemorySwapMax => "memory",
            Key::CpuMax | Key::CpuWeight => "cpu",
            Key::PidsMax => "pids",
            Key::IoMax => "io",
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Bytes, or `None` for max.
    Bytes(Option<u64>),
    /// Quota and period in µs; no quota for max.
    Cpu {
        quota: Option<u64>,
        period: u64,
    },
    Weight(u64),
    Count(Option<u64>),
    Io {
        device: String,
        /// (rbps | wbps | riops | wiops, value or None for max).
        limits: Vec<(IoLimit, Option<u64>)>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoLimit {
    Rbps,
    Wbps,
    Riops,
    Wiops,
}

impl IoLimit {
    const ALL: [(IoLimit, &'static str, &'static str); 4] = [
        (IoLimit::Rbps, "rbps", "blkio.throttle.read_bps_device"),
        (IoLimit::Wbps, "wbps", "blkio.throttle.write_bps_device"),
        (IoLimit::Riops, "riops", "blkio.throttle.read_iops_device"),
        (IoLimit::Wiops, "wiops", "blkio.throttle.write_iops_device"),
    ];

    fn name(self) -> &'static str {
        IoLimit::ALL.iter().find(|e| e.0 == self).expect("listed").1
    }

    fn v1_file(self) -> &'static str {
        IoLimit::ALL.iter().find(|e| e.0 == self).expect("listed").2
    }
}

/// The kernel's default CFS period (100 ms).
pub const DEFAULT_PERIOD_USEC: u64 = 100_000;

/// What a limit becomes in one hierarchy: files and the text written to each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileWrite {
    pub file: &'static str,
    pub value: String,
}

const SIZES: &str =
    "bytes with an optional K, M, G, T or P (binary: 1K = 1024), e.g. 512M or 1.5G, or max";

/// A size: `1048576`, `512K`, `512M`, `1.5G`, `2GiB`, `max`.
pub fn parse_size(text: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text == "max" {
        return Ok(None);
    }
    let bad = || format!("'{text}' is not a size (accepted: {SIZES})");
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        "P" | "PB" | "PIB" => 50,
        _ => return Err(bad()),
    };
    if !number.contains(|c: char| c.is_ascii_digit()) || number.matches('.').count() > 1 {
        return Err(bad());
    }
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let scale = 1u128 << shift;
    let mut bytes = whole.checked_mul(scale).ok_or_else(bad)?;
    if !fraction.is_empty() {
        let digits = fraction.len().min(18) as u32;
        let part: u128 = fraction[..digits as usize].parse().map_err(|_| bad())?;
        bytes += part * scale / 10u128.pow(digits);
    }
    u64::try_from(bytes)
        .ok()
        .filter(|&b| b <= i64::MAX as u64)
        .map(Some)
        .ok_or_else(|| format!("'{text}' is too large (at most 8 EiB, or max)"))
}

fn parse_count(text: &str, what: &str) -> Result<Option<u64>, String> {
    match text.trim() {
        "max" => Ok(None),
        t => t
            .parse::<u64>()
            .ok()
            .filter(|&n| n <= i64::MAX as u64)
            .map(Some)
            .ok_or_else(|| format!("'{t}' is not {what} (accepted: a whole number ≥ 0, or max)")),
    }
}

/// `cpu.max`: `50%` (of one CPU, at the default period), `150%`, `"50000 100000"` (quota and
/// period in µs, as the file takes it), `max`, or `"max 100000"`.
fn parse_cpu(text: &str, cpus: usize) -> Result<Value, String> {
    let text = text.trim();
    let cap = cpus.max(1) as f64 * 100.0;
    if let Some(percent) = text.strip_suffix('%') {
        let p: f64 = percent
            .trim()
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite())
            .ok_or_else(|| {
                format!("'{text}' is not a percentage (accepted: e.g. 50% of one CPU)")
            })?;
        if p <= 0.0 || p > cap {
            return Err(format!(
                "cpu.max {text}: a share of CPU time must be above 0% and at most {cap:.0}% \
                 (this host has {cpus} CPUs; 100% = one CPU)"
            ));
        }
        let quota = (p / 100.0 * DEFAULT_PERIOD_USEC as f64).round() as u64;
        return Ok(Value::Cpu {
            quota: Some(quota.max(1000)),
            period: DEFAULT_PERIOD_USEC,
        });
    }
    let mut fields = text.split_whitespace();
    let (quota, period) = (fields.next(), fields.next());
    if fields.next().is_some() || quota.is_none() {
        return Err(format!(
            "'{text}' is not a cpu.max value (accepted: 50%, \"QUOTA PERIOD\" in µs such as \"50000 100000\", or max)"
        ));
    }
    let number = |t: &str, what: &str, range: std::ops::RangeInclusive<u64>| {
        t.parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                format!(
                    "cpu.max {what} '{t}' must be {} to {} µs",
                    range.start(),
                    range.end()
                )
            })
    };
    let period = match period {
        Some(p) => number(p, "period", 1_000..=1_000_000)?,
        None => DEFAULT_PERIOD_USEC,
    };
    let quota = match quota.expect("checked") {
        "max" => None,
        q => Some(number(q, "quota", 1_000..=(i64::MAX as u64 / 1000))?),
    };
    if let Some(q) = quota
        && q as f64 / period as f64 > cpus.max(1) as f64
    {
        return Err(format!(
            "cpu.max '{text}' asks for {:.0}% of a CPU; this host has {cpus} CPUs (at most {cap:.0}%)",
            q as f64 * 100.0 / period as f64
        ));
    }
    Ok(Value::Cpu { quota, period })
}

/// `io.max`: `MAJ:MIN rbps=1M wbps=max riops=100 wiops=100`, at least one limit.
fn parse_io(text: &str) -> Result<Value, String> {
    let accepted = "accepted: \"MAJ:MIN rbps=SIZE wbps=SIZE riops=N wiops=N\", any of them, each a number or max";
    let mut words = text.split_whitespace();
    let device = words.next().unwrap_or("");
    let valid_device = device
        .split_once(':')
        .is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok());
    if !valid_device {
        return Err(format!(
            "io.max '{text}': no MAJ:MIN device first ({accepted})"
        ));
    }
    let mut limits = Vec::new();
    for word in words {
        let (name, value) = word
            .split_once('=')
            .ok_or_else(|| format!("io.max: '{word}' is not NAME=VALUE ({accepted})"))?;
        let kind = IoLimit::ALL
            .iter()
            .find(|e| e.1 == name)
            .map(|e| e.0)
            .ok_or_else(|| format!("io.max: unknown limit '{name}' ({accepted})"))?;
        let parsed = match kind {
            IoLimit::Rbps | IoLimit::Wbps => parse_size(value),
            IoLimit::Riops | IoLimit::Wiops => parse_count(value, "a number of IOs per second"),
        }
        .map_err(|e| format!("io.max {name}: {e}"))?;
        limits.push((kind, parsed));
    }
    if limits.is_empty() {
        return Err(format!("io.max '{text}': no limit given ({accepted})"));
    }
    Ok(Value::Io {
        device: device.to_owned(),
        limits,
    })
}

/// `KEY=VALUE` as typed; `cpus` bounds CPU percentages.
pub fn parse(assignment: &str, cpus: usize) -> Result<Limit, String> {
    let keys: Vec<&str> = KEYS.iter().map(|(_, n)| *n).collect();
    let (name, value) = assignment.split_once('=').ok_or_else(|| {
        format!(
            "'{assignment}' is not KEY=VALUE (keys: {})",
            keys.join(", ")
        )
    })?;
    let key = KEYS
        .iter()
        .find(|(_, n)| *n == name.trim())
        .map(|(k, _)| *k)
        .ok_or_else(|| {
            format!(
                "unknown limit '{}' (accepted: {})",
                name.trim(),
                keys.join(", ")
            )
        })?;
    let value = value.trim();
    if value.contains(['\n', '\0']) {
        return Err(format!("{key}: the value contains a newline or NUL"));
    }
    let with_key = |e: String| format!("{key}: {e}");
    let value = match key {
        Key::MemoryMax | Key::MemoryHigh | Key::MemoryLow | Key::MemoryMin | Key::MemorySwapMax => {
            Value::Bytes(parse_size(value).map_err(with_key)?)
        }
        Key::CpuMax => parse_cpu(value, cpus)?,
        Key::CpuWeight => {
            let weight = value
                .parse::<u64>()
                .ok()
                .filter(|w| (1..=10_000).contains(w))
                .ok_or_else(|| {
                    format!("cpu.weight '{value}' must be 1 to 10000 (100 is the default)")
                })?;
            Value::Weight(weight)
        }
        Key::PidsMax => Value::Count(parse_count(value, "a number of tasks").map_err(with_key)?),
        Key::IoMax => parse_io(value)?,
    };
    Ok(Limit { key, value })
}

/// A count or size as the cgroup files write it, `max` for none.
pub fn or_max(value: Option<u64>) -> String {
    value.map_or_else(|| "max".to_owned(), |v| v.to_string())
}

impl Limit {
    /// The cgroup2 file and its value.
    pub fn v2(&self) -> Vec<FileWrite> {
        let value = match &self.value {
            Value::Bytes(b) => or_max(*b),
            Value::Cpu { quota, period } => format!("{} {period}", or_max(*quota)),
            Value::Weight(w) => w.to_string(),
            Value::Count(n) => or_max(*n),
            Value::Io { device, limits } => {
                let parts: Vec<String> = limits
                    .iter()
                    .map(|(k, v)| format!("{}={}", k.name(), or_max(*v)))
                    .collect();
                format!("{device} {}", parts.join(" "))
            }
        };
        vec![FileWrite {
            file: self.key.name(),
            value,
        }]
    }

    /// The v1 files and values, or why the key has no v1 form.
    pub fn v1(&self) -> Result<Vec<FileWrite>, String> {
        let write = |file, value: String| FileWrite { file, value };
        Ok(match (&self.key, &self.value) {
            // v1 writes -1 for unlimited.
            (Key::MemoryMax, Value::Bytes(b)) => vec![write(
                "memory.limit_in_bytes",
                b.map_or("-1".into(), |b| b.to_string()),
            )],
            (Key::MemoryHigh | Key::MemoryLow | Key::MemoryMin, _) => {
                return Err(format!(
                    "{}: cgroup v1 has no equivalent (only cgroup2 has memory.high, memory.low and memory.min)",
                    self.key
                ));
            }
            (Key::MemorySwapMax, _) => {
                return Err(
                    "memory.swap.max: cgroup v1 limits memory and swap together (memory.memsw.limit_in_bytes), not swap alone"
                        .into(),
                );
            }
            // The period first: the kernel checks the quota against it.
            (Key::CpuMax, Value::Cpu { quota, period }) => vec![
                write("cpu.cfs_period_us", period.to_string()),
                write(
                    "cpu.cfs_quota_us",
                    quota.map_or("-1".into(), |q| q.to_string()),
                ),
            ],
            // The kernel's scale: weight 100 = shares 1024.
            (Key::CpuWeight, Value::Weight(w)) => {
                vec![write("cpu.shares", ((w * 1024 + 50) / 100).to_string())]
            }
            (Key::PidsMax, Value::Count(n)) => vec![write("pids.max", or_max(*n))],
            // v1 takes one device and limit per write; 0 removes the limit.
            (Key::IoMax, Value::Io { device, limits }) => limits
                .iter()
                .map(|(k, v)| write(k.v1_file(), format!("{device} {}", v.unwrap_or(0))))
                .collect(),
            (key, value) => unreachable!("{key} parsed as {value:?}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes_as_people_type_them() {
        assert_eq!(parse_size("512M"), Ok(Some(512 << 20)));
        assert_eq!(parse_size("1.5G"), Ok(Some(3 << 29)));
        assert_eq!(parse_size("2GiB"), Ok(Some(2 << 30)));
        assert_eq!(parse_size("100k"), Ok(Some(102_400)));
        assert_eq!(parse_size("4096"), Ok(Some(4096)));
        assert_eq!(parse_size("max"), Ok(None));
        for bad in ["-1", "1.2.3", "12X", "", "M", "0x10", "1e6", ".", ".M"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert!(parse_size("9P").is_ok());
        assert!(
            parse_size("99999999999P")
                .unwrap_err()
                .contains("too large")
        );
        assert!(parse_size("16E").is_err());
        assert!(parse_size("8192P").unwrap_err().contains("too large"));
    }

    #[test]
    fn every_key_in_both_versions() {
        let limit = |text| parse(text, 2).unwrap();
        let v2 = |text| {
            let w = limit(text).v2();
            (w[0].file, w[0].value.clone())
        };
        assert_eq!(v2("memory.max=512M"), ("memory.max", "536870912".into()));
        assert_eq!(v2("memory.high=max"), ("memory.high", "max".into()));
        assert_eq!(v2("cpu.max=50%"), ("cpu.max", "50000 100000".into()));
        assert_eq!(
            v2("cpu.max=50000 100000"),
            ("cpu.max", "50000 100000".into())
        );
        assert_eq!(v2("cpu.max=max"), ("cpu.max", "max 100000".into()));
        assert_eq!(v2("cpu.weight=200"), ("cpu.weight", "200".into()));
        assert_eq!(v2("pids.max=100"), ("pids.max", "100".into()));
        assert_eq!(
            v2("io.max=8:0 rbps=1M wiops=max"),
            ("io.max", "8:0 rbps=1048576 wiops=max".into())
        );
        let v1 = |text| -> Vec<(&str, String)> {
            limit(text)
                .v1()
                .unwrap()
                .into_iter()
                .map(|w| (w.file, w.value))
                .collect()
        };
        assert_eq!(
            v1("memory.max=max"),
            [("memory.limit_in_bytes", "-1".into())]
        );
        assert_eq!(
            v1("cpu.max=150%"),
            [
                ("cpu.cfs_period_us", "100000".into()),
                ("cpu.cfs_quota_us", "150000".into())
            ]
        );
        assert_eq!(v1("cpu.weight=100"), [("cpu.shares", "1024".into())]);
        assert_eq!(v1("cpu.weight=200"), [("cpu.shares", "2048".into())]);
        assert_eq!(
            v1("io.max=8:0 rbps=1M wbps=max"),
            [
                ("blkio.throttle.read_bps_device", "8:0 1048576".into()),
                ("blkio.throttle.write_bps_device", "8:0 0".into())
            ]
        );
        assert!(
            limit("memory.high=1G")
                .v1()
                .unwrap_err()
                .contains("no equivalent")
        );
        assert!(
            limit("memory.swap.max=1G")
                .v1()
                .unwrap_err()
                .contains("memory and swap together")
        );
    }

    #[test]
    fn bad_input_names_what_is_accepted() {
        let err = |text| parse(text, 2).unwrap_err();
        assert!(err("memory.maxx=1G").contains("accepted: memory.max"));
        assert!(err("memory.max").contains("not KEY=VALUE"));
        assert!(err("memory.max=-5M").contains("not a size"));
        assert!(err("cpu.max=300%").contains("2 CPUs"));
        assert!(err("cpu.max=0%").contains("above 0%"));
        assert!(err("cpu.max=500000 100000").contains("2 CPUs"));
        assert!(err("cpu.max=50000 100").contains("period"));
        assert!(err("cpu.weight=0").contains("1 to 10000"));
        assert!(err("pids.max=-1").contains("whole number"));
        assert!(err("io.max=sda rbps=1M").contains("MAJ:MIN"));
        assert!(err("io.max=8:0").contains("no limit"));
        assert!(err("io.max=8:0 xbps=1").contains("unknown limit"));
        assert!(err("pids.max=1\n2").contains("newline"));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC*") {
            let _ = parse(&text, 4);
            let _ = parse_size(&text);
        }

        #[test]
        fn whole_sizes_round_trip(n in 0u64..(1 << 40), unit in 0usize..4) {
            let (suffix, shift) = [("", 0), ("K", 10), ("M", 20), ("G", 30)][unit];
            let v = n >> shift;
            prop_assert_eq!(parse_size(&format!("{v}{suffix}")), Ok(Some(v << shift)));
        }
    }
}
