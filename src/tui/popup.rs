//! What floats over the screen while the user decides: the limits form of a cgroup, a prompt
//! for a move's target, and the confirmation of a plan (gitui's flow: Confirm(plan) → popup →
//! Confirmed(plan)). Pure state; the ops layer makes and carries out the plans.

use crate::model::cgroup::Cgroup;
use crate::model::host::Host;
use crate::model::sample::NsType;
use crate::ops::limits::or_max;
use crate::ops::{Plan, Request};
use crate::tui::panes::{bytes, bytes_or_max};

/// Signals the confirmation cycles through for a process (`s`).
pub const SIGNALS: [i32; 6] = [15, 9, 1, 2, 19, 18];

#[derive(Debug)]
pub enum Popup {
    /// Limits of one cgroup: each key with its current value and usage; the user types new
    /// values.
    Limits(LimitForm),
    /// A line typed in, for what `asks` says.
    Prompt { asks: Asks, text: String },
    /// A plan waits for y or n; `request` made it (for signals, `s` re-plans another one).
    /// `target` is what it acts on as the screen showed it (`PID 4242 (sleep 600)`).
    Confirm {
        plan: Plan,
        request: Request,
        target: Option<String>,
    },
    /// Which namespaces a new shell gets.
    Unshare(UnshareForm),
}

/// What a prompt's line is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asks {
    /// Where to move a process: a `[controllers:]path`.
    MoveTo { pid: i32, start_time: u64 },
    /// A replay's time to jump to.
    JumpTo,
}

/// The unshare dialog: a checkbox per namespace type, then the two options.
#[derive(Debug)]
pub struct UnshareForm {
    pub types: Vec<(NsType, bool)>,
    pub map_root_user: bool,
    pub mount_proc: bool,
    pub selected: usize,
    /// nstop's own privileges, where read: the shell keeps what a new user namespace does
    /// not replace.
    pub own: Option<crate::model::security::Security>,
}

impl Default for UnshareForm {
    fn default() -> UnshareForm {
        UnshareForm {
            types: NsType::ALL.iter().map(|&k| (k, false)).collect(),
            map_root_user: false,
            mount_proc: false,
            own: None,
            selected: 0,
        }
    }
}

impl UnshareForm {
    /// Rows: the types, then "map root user" and "mount /proc".
    pub fn rows(&self) -> usize {
        self.types.len() + 2
    }

    pub fn toggle(&mut self) {
        match self.selected.checked_sub(self.types.len()) {
            None => self.types[self.selected].1 ^= true,
            Some(0) => self.map_root_user ^= true,
            Some(_) => self.mount_proc ^= true,
        }
    }

    /// `nstop unshare` arguments; `None` when no type is chosen.
    pub fn args(&self) -> Option<Vec<String>> {
        let mut args = vec!["unshare".to_owned()];
        for (kind, on) in &self.types {
            if *on {
                let flag = if *kind == NsType::Mnt {
                    "mount".to_owned()
                } else {
                    kind.to_string()
                };
                args.push(format!("--{flag}"));
            }
        }
        if args.len() == 1 && !self.map_root_user {
            return None;
        }
        if self.map_root_user {
            args.push("--map-root-user".into());
        }
        if self.mount_proc {
            args.push("--mount-proc".into());
        }
        Some(args)
    }
}

#[derive(Debug)]
pub struct Field {
    pub key: &'static str,
    /// The value now, as the file would take it.
    pub current: String,
    /// What the cgroup uses of it now.
    pub usage: String,
    /// What the user typed; empty leaves the value alone.
    pub input: String,
}

#[derive(Debug)]
pub struct LimitForm {
    /// `cgroup2:/path` or `memory:/path`, as `nstop cg set` takes it.
    pub spec: String,
    pub title: String,
    pub fields: Vec<Field>,
    pub selected: usize,
}

impl LimitForm {
    /// The limits this cgroup's hierarchy has controllers for; `None` when it has none.
    pub fn of(c: &Cgroup, host: &Host) -> Option<LimitForm> {
        let h = host.hierarchy(c.hierarchy)?;
        let has = |name: &str| h.controllers.iter().any(|c| c == name);
        let limited = ["memory", "cpu", "pids"].into_iter().find(|c| has(c));
        if h.version == 1 && limited.is_none() {
            return None;
        }
        let spec = h.spec(&c.path, limited)?;
        let mut fields = Vec::new();
        let mut field = |key, current: String, usage: String| {
            fields.push(Field {
                key,
                current,
                usage,
                input: String::new(),
            });
        };
        if let Some(m) = c.memory.as_ref().filter(|m| m.current.is_some()) {
            let used = format!("uses {}", bytes(m.current).unwrap_or_default());
            field("memory.max", bytes_or_max(m.max), used.clone());
            if h.version == 2 {
                field("memory.high", bytes_or_max(m.high), used.clone());
                field("memory.low", bytes_or_max(m.low), used);
            }
        }
        if let Some(cpu) = c
            .cpu
            .as_ref()
            .filter(|cpu| cpu.weight.is_some() || cpu.period_usec.is_some())
        {
            let used = cpu
                .usage_percent
                .map_or("uses -".to_owned(), |p| format!("uses {p:.1}% of a CPU"));
            let max = match (cpu.quota_usec, cpu.period_usec) {
                (Some(q), Some(p)) => format!("{q} {p}"),
                (None, Some(p)) => format!("max {p}"),
                _ => "max".to_owned(),
            };
            field("cpu.max", max, used.clone());
            if let Some(w) = cpu.weight {
                field("cpu.weight", w.to_string(), used);
            }
        }
        if let Some(p) = &c.pids {
            field(
                "pids.max",
                or_max(p.max),
                format!("{} tasks", or_max(p.current)),
            );
        }
        if fields.is_empty() {
            return None;
        }
        Some(LimitForm {
            spec,
            title: format!("{}:{}", h.label(), c.path),
            fields,
            selected: 0,
        })
    }

    /// The typed values as `KEY=VALUE`s (what `cg set` takes).
    pub fn assignments(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| !f.input.trim().is_empty())
            .map(|f| format!("{}={}", f.key, f.input.trim()))
            .collect()
    }
}
