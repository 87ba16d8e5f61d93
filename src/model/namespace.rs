//! Namespaces joined from one sample: members, holders, representative process, ioctl facts.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::sample::{
    HolderSample, NsRef, NsType, Sample, holders_by_namespace, members_by_namespace,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Namespace {
    /// nsfs inode number (what lsns calls NS).
    pub ns: u64,
    #[serde(rename = "type")]
    pub kind: NsType,
    /// Member processes (whose /proc/PID/ns link names this namespace), ascending.
    pub pids: Vec<i32>,
    /// The process lsns would show: the lowest member PID, else the process of a holder.
    pub pid: Option<i32>,
    /// A path that opens the namespace, as lsns's PATH column.
    pub path: Option<String>,
    /// Parent namespace (pid and user namespaces: NS_GET_PARENT).
    pub parent: Option<u64>,
    /// Owning user namespace (NS_GET_USERNS).
    pub owner: Option<u64>,
    /// UID of the creator of a user namespace (NS_GET_OWNER_UID), and its name.
    pub owner_uid: Option<u32>,
    pub owner_user: Option<String>,
    /// Network namespaces: the id our namespace assigned to it; -1 when none is assigned.
    pub netnsid: Option<i32>,
    /// The kernel's 64-bit namespace id (NS_GET_ID), never reused, unlike `ns`.
    pub id: Option<u64>,
    /// nsfs bind-mount paths, across every mount namespace.
    pub nsfs: Vec<String>,
    /// What keeps it alive besides member processes.
    pub holders: Vec<HolderSample>,
}

impl Namespace {
    pub fn nprocs(&self) -> usize {
        self.pids.len()
    }

    /// Its holders in the short form tables show, read from mount namespace `reader`.
    pub fn holder_labels(&self, reader: Option<u64>) -> Vec<String> {
        self.holders.iter().map(|h| h.label(reader)).collect()
    }

    /// What keeps a namespace without processes alive, for where a command would be shown.
    pub fn held_by(&self, reader: Option<u64>) -> String {
        format!("[held by {}]", self.holder_labels(reader).join(" "))
    }

    pub fn ns_ref(&self) -> NsRef {
        NsRef {
            kind: self.kind,
            ino: self.ns,
        }
    }
}

/// Joins member processes and holders by namespace. Sorted by inode, then type.
pub fn build(sample: &Sample) -> Vec<Namespace> {
    let mut members = members_by_namespace(&sample.procs);
    let mut holders = holders_by_namespace(&sample.held);
    let refs: BTreeSet<NsRef> = members.keys().chain(holders.keys()).copied().collect();

    let mut namespaces: Vec<Namespace> = refs
        .into_iter()
        .map(|ns_ref| {
            let mut pids = members.remove(&ns_ref).unwrap_or_default();
            pids.sort_unstable();
            let holders = holders.remove(&ns_ref).unwrap_or_default();
            let facts = sample.ns_facts.get(&ns_ref).copied().unwrap_or_default();
            // A path mounted only in another mount namespace opens another namespace (or
            // nothing) from ours: that one is a holder, not an NSFS path.
            let nsfs: BTreeSet<String> = holders
                .iter()
                .filter(|h| h.mounted_at_reader(sample.reader_mnt_ns))
                .filter_map(|h| match h {
                    HolderSample::BindMount { path, .. } => Some(path.clone()),
                    _ => None,
                })
                .collect();
            let pid = pids
                .first()
                .copied()
                .or_else(|| holders.iter().find_map(HolderSample::pid));
            Namespace {
                ns: ns_ref.ino,
                kind: ns_ref.kind,
                path: display_path(ns_ref.kind, pids.first().copied(), &holders, &nsfs),
                pid,
                pids,
                parent: facts.parent,
                owner: facts.owner,
                owner_uid: facts.owner_uid,
                owner_user: facts
                    .owner_uid
                    .and_then(|uid| sample.user_names.get(&uid).cloned()),
                netnsid: facts.netnsid,
                id: facts.id,
                nsfs: nsfs.into_iter().collect(),
                holders,
            }
        })
        .collect();
    namespaces.sort_by_key(|n| (n.ns, n.kind));
    namespaces
}

/// The member's link if there is one; else a bind mount (it outlives any process), else the
/// holder's own /proc path.
fn display_path(
    kind: NsType,
    member: Option<i32>,
    holders: &[HolderSample],
    nsfs: &BTreeSet<String>,
) -> Option<String> {
    if let Some(pid) = member {
        return Some(format!("/proc/{pid}/ns/{kind}"));
    }
    if let Some(path) = nsfs.first() {
        return Some(path.clone());
    }
    holders
        .iter()
        .find_map(|h| h.open_path(Path::new("/proc"), kind))
        .map(|path| path.display().to_string())
}
