//! The teaching view: nested PID namespaces as an indented tree, every process with its PID as
//! seen from each level ("host PID 17162 = PID 3 in pid:[…643] = …"). It is rebuilt from each
//! sample, so processes a class starts and kills in `unshare --pid --fork` shells come and go.

use std::collections::HashMap;

use ratatui::text::{Line, Span};

use crate::model::Model;
use crate::model::process::Process;
use crate::model::sample::{NsRef, NsType};
use crate::tui::detail::{Link, Sources, Subject, Writer};
use crate::tui::panes::{Scope, Tone};

/// Pid namespaces nest at most 32 deep (the kernel's MAX_PID_NS_LEVEL).
const MAX_LEVELS: usize = 33;

/// An ancestor namespace with this many processes or fewer shows them all; a larger one
/// (the host's) only those on the way down, up to this many, and counts the rest.
const ON_THE_WAY: usize = 8;

/// The view stops listing after this many lines (the host's namespace on a large host).
const MAX_LINES: usize = 20_000;

/// The namespaces from the outermost known one down to `ino`.
pub(super) fn chain(parents: &HashMap<u64, u64>, ino: u64) -> Vec<u64> {
    let mut chain = vec![ino];
    while let Some(&up) = parents.get(chain.last().expect("never empty")) {
        if chain.len() == MAX_LEVELS || chain.contains(&up) {
            break;
        }
        chain.push(up);
    }
    chain.reverse();
    chain
}

/// "host PID 17162", "= PID 3 in pid:[…]", "= PID 1 in pid:[…]": the phrases of a sentence
/// that wraps between them. `nspid` is outermost first and its last entry is in the last
/// namespace of `chain`.
pub(super) fn levels(nspid: &[i32], chain: &[u64]) -> Vec<String> {
    nspid
        .iter()
        .enumerate()
        .map(|(level, pid)| {
            // The chain may not reach up to ours when a parent is unknown.
            let ns = (chain.len() + level)
                .checked_sub(nspid.len())
                .and_then(|i| chain.get(i));
            match ns {
                _ if level == 0 => format!("host PID {pid}"),
                Some(ino) => format!("= PID {pid} in pid:[{ino}]"),
                None => format!("= PID {pid} at level {level}"),
            }
        })
        .collect()
}

struct Tree<'a> {
    model: &'a Model,
    children: HashMap<u64, Vec<u64>>,
    members: HashMap<u64, Vec<&'a Process>>,
    focus: Option<i32>,
    host: Option<u64>,
    lines: usize,
}

pub(super) fn write(ns: u64, focus: Option<i32>, sources: &Sources, page: &mut Writer) -> String {
    let model = sources.model;
    let title = format!("PID namespaces: pid:[{ns}]");
    let parents = model.pid_parents();
    let mut children: HashMap<u64, Vec<u64>> = HashMap::new();
    for (&child, &parent) in &parents {
        children.entry(parent).or_default().push(child);
    }
    children.values_mut().for_each(|c| c.sort_unstable());
    let mut members: HashMap<u64, Vec<&Process>> = HashMap::new();
    for p in &model.processes {
        if let Some(ino) = p.pid_ns() {
            members.entry(ino).or_default().push(p);
        }
    }
    let chain = chain(&parents, ns);

    page.section("PID namespaces, outermost first");
    page.paragraph(
        "Each process: host PID › its PID in each namespace below › … › its PID in its own.",
        Tone::Dim,
    );
    if let Some(p) = focus.and_then(|pid| model.process(pid)) {
        let comm = format!("{}:", p.comm);
        let levels = levels(&p.nspid, &chain);
        let pieces = std::iter::once(comm.as_str()).chain(levels.iter().map(String::as_str));
        page.wrapped(pieces, Tone::Isolated);
    }
    if model
        .namespace(NsRef {
            kind: NsType::Pid,
            ino: ns,
        })
        .is_none()
    {
        page.note(format!("pid:[{ns}] is gone"), Tone::Warn);
        return title;
    }
    page.push(Line::raw(""), None);

    let mut tree = Tree {
        model,
        children,
        members,
        focus,
        host: model.host_namespaces().get(&NsType::Pid).copied(),
        lines: 0,
    };
    let (above, _) = chain.split_at(chain.len() - 1);
    for (depth, &ino) in above.iter().enumerate() {
        tree.header(page, ino, depth);
        let next = chain[depth + 1];
        tree.on_the_way(page, ino, next, depth);
    }
    tree.subtree(page, ns, above.len());
    title
}

impl Tree<'_> {
    fn header(&mut self, page: &mut Writer, ino: u64, depth: usize) {
        let members = self.members.get(&ino).map_or(&[][..], Vec::as_slice);
        let mut text = format!("pid:[{ino}]  level {depth}");
        if self.host == Some(ino) {
            text += " (the host's)";
        }
        if let Some(init) = members.iter().find(|p| p.nspid.last() == Some(&1)) {
            text += &format!(" · init host PID {} {}", init.pid, init.comm);
        }
        text += &format!(
            " · {}",
            crate::text::count(members.len(), "process", "processes")
        );
        let indent = if depth == 0 {
            String::new()
        } else {
            format!("{}└ ", "  ".repeat(depth - 1))
        };
        let line = Line::from(vec![
            Span::raw(indent),
            Span::styled(text, page.theme.label()),
        ]);
        page.push(
            line,
            Some(Link::Open(Subject::Namespace(NsRef {
                kind: NsType::Pid,
                ino,
            }))),
        );
        self.lines += 1;
    }

    /// An ancestor's processes: all of a few, else those that lead to `next` (the PPID chain
    /// of `next`'s members).
    fn on_the_way(&mut self, page: &mut Writer, ino: u64, next: u64, depth: usize) {
        // Checked before copying: the host's namespace holds every process.
        if self.members.get(&ino).is_none_or(|m| m.len() <= ON_THE_WAY) {
            let members = self.members.get(&ino).cloned().unwrap_or_default();
            return self.processes(page, &members, depth);
        }
        let mut shown: Vec<&Process> = Vec::new();
        for member in self.members.get(&next).into_iter().flatten() {
            let mut ppid = member.ppid;
            for _ in 0..MAX_LEVELS {
                let Some(up) = self.model.process(ppid) else {
                    break;
                };
                if up.pid_ns() == Some(ino) && !shown.iter().any(|s| s.pid == up.pid) {
                    shown.push(up);
                }
                ppid = up.ppid;
            }
        }
        shown.sort_by_key(|p| p.pid);
        shown.truncate(ON_THE_WAY);
        self.processes(page, &shown, depth);
        let all = self.members.get(&ino).map_or(0, Vec::len);
        if all > shown.len() {
            let line = Line::styled(
                format!(
                    "{}  … {} here",
                    "  ".repeat(depth),
                    crate::text::count(all - shown.len(), "other process", "other processes")
                ),
                page.theme.tone(Tone::Dim),
            );
            let scope = Scope::Namespace(NsRef {
                kind: NsType::Pid,
                ino,
            });
            page.push(line, Some(Link::Processes(scope)));
        }
    }

    fn subtree(&mut self, page: &mut Writer, ino: u64, depth: usize) {
        // A sample taken while PIDs were reused could make a cycle: the depth bounds it.
        if self.lines >= MAX_LINES || depth > MAX_LEVELS {
            return;
        }
        self.header(page, ino, depth);
        let members = self.members.get(&ino).cloned().unwrap_or_default();
        self.processes(page, &members, depth);
        for child in self.children.get(&ino).cloned().unwrap_or_default() {
            self.subtree(page, child, depth + 1);
        }
        if self.lines >= MAX_LINES && depth == 0 {
            page.note(
                format!("… the list stops at {MAX_LINES} lines: open a deeper namespace"),
                Tone::Dim,
            );
        }
    }

    /// One line per process, its PIDs aligned by level within the block, in the order of
    /// their PIDs in their own namespace (its init first), as `ps` run there would list them.
    fn processes(&mut self, page: &mut Writer, processes: &[&Process], depth: usize) {
        let mut processes = processes.to_vec();
        processes.sort_by_key(|p| (p.nspid.last().copied(), p.pid));
        let levels = processes.iter().map(|p| p.nspid.len()).max().unwrap_or(0);
        let widths: Vec<usize> = (0..levels)
            .map(|l| {
                processes
                    .iter()
                    .filter_map(|p| p.nspid.get(l))
                    .map(|pid| pid.to_string().len())
                    .max()
                    .unwrap_or(1)
            })
            .collect();
        for p in &processes {
            if self.lines >= MAX_LINES {
                return;
            }
            let pids: Vec<String> = p
                .nspid
                .iter()
                .zip(&widths)
                .map(|(pid, w)| format!("{pid:>w$}"))
                .collect();
            let focused = self.focus == Some(p.pid);
            let tone = if focused { Tone::Isolated } else { Tone::Plain };
            let mut spans = vec![
                Span::raw(format!("{}  ", "  ".repeat(depth))),
                Span::styled(pids.join(" › "), page.theme.tone(tone)),
                Span::raw(format!("  {}", p.command)),
            ];
            if focused {
                spans.push(Span::styled("  ◀", page.theme.key()));
                page.start = Some(page.entries.len());
            }
            page.push(Line::from(spans), Some(Link::process(p)));
            self.lines += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_and_levels_read_outermost_first() {
        let parents = HashMap::from([(645, 644), (644, 643), (643, 836)]);
        let down = chain(&parents, 645);
        assert_eq!(down, vec![836, 643, 644, 645]);
        assert_eq!(
            levels(&[17162, 3, 2, 1], &down).join(" "),
            "host PID 17162 = PID 3 in pid:[643] = PID 2 in pid:[644] = PID 1 in pid:[645]"
        );
        // Unknown parents: the levels the chain does not reach are numbered.
        assert_eq!(
            levels(&[17162, 3, 2, 1], &[644, 645]).join(" "),
            "host PID 17162 = PID 3 at level 1 = PID 2 in pid:[644] = PID 1 in pid:[645]"
        );
        // A cycle in bad data ends the walk.
        let looped = HashMap::from([(1, 2), (2, 1)]);
        assert_eq!(chain(&looped, 1), vec![2, 1]);
    }
}
