//! `nstop audit`: how isolated each container is (or the process or cgroup named), each
//! finding a sentence with its evidence, worst first. Exit status 1 when something is weaker
//! than a default container, for cron and CI.

use serde::Serialize;

use crate::cli::UsageError;
use crate::model::Model;
use crate::model::cgroup::{Cgroup, within};
use crate::model::isolation::{self, Finding, Severity};
use crate::model::process::Process;
use crate::sys::roots::Roots;
use crate::text::printable;

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// A PID, or a cgroup (`/path` on cgroup2, `memory:/path`); every container when none
    #[arg(value_name = "PID|CGROUP")]
    pub target: Option<String>,
    /// Every container (the default)
    #[arg(long, conflicts_with = "target")]
    pub all: bool,
    /// JSON output
    #[arg(long)]
    pub json: bool,
}

/// What was audited: a container, a process or a cgroup's processes.
#[derive(Debug, Serialize)]
pub struct Subject {
    pub name: String,
    pub kind: &'static str,
    pub cgroup: Option<String>,
    pub pids: Vec<i32>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    /// Something is weaker than a default container's (a warning or worse).
    pub exceeds_baseline: bool,
    pub subjects: Vec<Subject>,
}

/// How the audit names a cgroup: `hierarchy:path`.
fn cgroup_spec(model: &Model, c: &Cgroup) -> String {
    let label = (model.host.hierarchies.iter())
        .find(|h| h.id == c.hierarchy)
        .map_or_else(|| "?".to_owned(), |h| h.label());
    format!("{label}:{}", c.path)
}

/// The findings of processes that form one isolated unit, its walls read through the first.
pub fn audit_unit(model: &Model, roots: &Roots, processes: &[&Process]) -> Vec<Finding> {
    let walls = processes.first().map(|first| {
        let cgroups: Vec<(u32, &str)> = (first.cgroups.iter())
            .map(|c| (c.hierarchy, &*c.path))
            .collect();
        crate::sys::security::read_walls(roots, &model.host.hierarchies, first.pid, &cgroups)
    });
    isolation::unit_findings(model, processes, walls.as_ref())
}

fn subjects(
    model: &Model,
    roots: &Roots,
    target: Option<&str>,
) -> Result<Vec<Subject>, UsageError> {
    let Some(target) = target else {
        return Ok(isolation::containers(model)
            .into_iter()
            .map(|(c, processes)| Subject {
                findings: audit_unit(model, roots, &processes),
                name: c.workload.label().unwrap_or_else(|| c.path.clone()),
                kind: "container",
                cgroup: Some(cgroup_spec(model, c)),
                pids: processes.iter().map(|p| p.pid).collect(),
            })
            .collect());
    };
    if let Ok(pid) = target.parse::<i32>() {
        let p = model.process(pid).ok_or_else(|| {
            UsageError(format!("no process {pid} (a PID of a running process, or a cgroup: /path or controller:/path)"))
        })?;
        // Named, it is judged as a container would be, as its cgroup is: a host process
        // shares everything with the host, and is said to.
        let container = isolation::container_cgroup(model, p);
        let findings = audit_unit(model, roots, &[p]);
        return Ok(vec![Subject {
            name: format!("PID {pid} {}", printable(&p.comm)),
            kind: "process",
            cgroup: container.map(|c| cgroup_spec(model, c)),
            pids: vec![pid],
            findings,
        }]);
    }
    let (controllers, path) = crate::ops::cgroup::parse_spec(target).map_err(UsageError)?;
    let hierarchy = model
        .host
        .hierarchies
        .iter()
        .find(|h| match controllers.as_deref() {
            None | Some([]) => h.version == 2,
            Some(names) => names.iter().all(|n| h.controllers.contains(n)),
        });
    let cgroup = hierarchy
        .and_then(|h| model.cgroup(h.id, &path))
        .ok_or_else(|| {
            UsageError(format!(
                "no cgroup '{target}' (cgroup2's /path, or controller:/path of a v1 hierarchy)"
            ))
        })?;
    let processes: Vec<&Process> = model
        .processes
        .iter()
        .filter(|p| {
            p.cgroups
                .iter()
                .any(|pc| pc.hierarchy == cgroup.hierarchy && within(&pc.path, &cgroup.path))
        })
        .collect();
    Ok(vec![Subject {
        name: cgroup.workload.label().unwrap_or_else(|| target.to_owned()),
        kind: "cgroup",
        cgroup: Some(target.to_owned()),
        pids: processes.iter().map(|p| p.pid).collect(),
        findings: audit_unit(model, roots, &processes),
    }])
}

pub fn report(model: &Model, roots: &Roots, target: Option<&str>) -> Result<Report, UsageError> {
    let subjects = subjects(model, roots, target)?;
    let exceeds_baseline = subjects
        .iter()
        .flat_map(|s| &s.findings)
        .any(|f| f.severity > Severity::Info);
    Ok(Report {
        exceeds_baseline,
        subjects,
    })
}

/// The report as text: each subject, then its findings with their evidence.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    if report.subjects.is_empty() {
        out += "no container here: name a PID or a cgroup to audit it\n";
    }
    for s in &report.subjects {
        let pids: Vec<String> = s.pids.iter().take(8).map(ToString::to_string).collect();
        let more = if s.pids.len() > 8 { " …" } else { "" };
        let cgroup = s.cgroup.as_deref().filter(|c| *c != s.name);
        out += &format!(
            "{}{}  PIDs {}{more}\n",
            printable(&s.name),
            cgroup.map_or(String::new(), |c| format!("  {}", printable(c))),
            pids.join(" ")
        );
        if s.findings.iter().all(|f| f.severity == Severity::Info) {
            out += "  nothing weaker than a default container\n";
        }
        for f in &s.findings {
            out += &format!(
                "  {:<5} {}  [{}]\n",
                f.severity.mark(),
                f.what,
                printable(&f.evidence)
            );
        }
    }
    out
}
