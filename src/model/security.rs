//! A process's privileges as the views show them: its capability sets by name, seccomp,
//! no_new_privs, its LSM label, its ids on the host and inside its user namespace, and whether
//! its root directory is the reader's.

use serde::{Deserialize, Serialize};

use crate::model::sample::{CapSets, SecuritySample};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seccomp {
    Disabled,
    /// SECCOMP_MODE_STRICT: read, write, exit and sigreturn only.
    Strict,
    Filter,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Security {
    #[serde(with = "cap_names")]
    pub caps: CapSets,
    pub no_new_privs: bool,
    /// `None` where the kernel has no seccomp.
    pub seccomp: Option<Seccomp>,
    pub seccomp_filters: Option<u32>,
    /// AppArmor profile and mode (`docker-default (enforce)`, `unconfined`) or SELinux context.
    pub lsm: Option<String>,
    /// Effective ids as the host (the reader's user namespace) sees them.
    pub uid: u32,
    pub gid: u32,
    /// The same ids inside its user namespace, where that is not the reader's; `None` there
    /// when they are unmapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inside: Option<Ids>,
    /// Whether its root directory is the reader's; `None` where it could not be followed.
    pub host_root: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ids {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Security {
    pub fn new(s: &SecuritySample, reader_root: Option<(u64, u64)>) -> Security {
        let inside = (s.uid_map.is_some() || s.gid_map.is_some()).then(|| Ids {
            uid: s
                .uid_map
                .as_deref()
                .and_then(|m| map_to_inside(m, s.uids[1])),
            gid: s
                .gid_map
                .as_deref()
                .and_then(|m| map_to_inside(m, s.gids[1])),
        });
        Security {
            caps: s.caps,
            no_new_privs: s.no_new_privs,
            seccomp: s.seccomp.map(|mode| match mode {
                0 => Seccomp::Disabled,
                1 => Seccomp::Strict,
                _ => Seccomp::Filter,
            }),
            seccomp_filters: s.seccomp_filters,
            lsm: s.lsm.clone(),
            uid: s.uids[1],
            gid: s.gids[1],
            inside,
            host_root: s.root.zip(reader_root).map(|(own, reader)| own == reader),
        }
    }

    /// Root inside its user namespace (or on the host where it has none of its own).
    pub fn is_root(&self) -> bool {
        match &self.inside {
            Some(ids) => ids.uid == Some(0),
            None => self.uid == 0,
        }
    }

    /// "root in its user namespace, uid 100000 on the host", "uid 1000", "root".
    pub fn who(&self) -> String {
        match self.inside.and_then(|ids| ids.uid) {
            Some(0) => format!("root in its user namespace, uid {} on the host", self.uid),
            Some(inside) => format!(
                "uid {inside} in its user namespace, {} on the host",
                self.uid
            ),
            None if self.inside.is_some() => format!(
                "unmapped in its user namespace, uid {} on the host",
                self.uid
            ),
            None if self.uid == 0 => "root".to_owned(),
            None => format!("uid {}", self.uid),
        }
    }

    /// What a shell it starts in new namespaces keeps: its capabilities, unless a new user
    /// namespace gives it its own (root's there, none on the host), its seccomp and LSM label.
    pub fn kept(&self, new_user_ns: bool) -> String {
        let seccomp = match self.seccomp {
            Some(Seccomp::Disabled) | None => "disabled",
            Some(Seccomp::Strict) => "strict",
            Some(Seccomp::Filter) => "filter",
        };
        let lsm = crate::text::printable(self.lsm.as_deref().unwrap_or("none"));
        match new_user_ns {
            false => format!(
                "the shell keeps nstop's capabilities ({}), seccomp ({seccomp}) and LSM label ({lsm})",
                describe(self.caps.effective)
            ),
            true => format!(
                "the shell keeps nstop's seccomp ({seccomp}) and LSM label ({lsm}); its capabilities are the new user namespace's"
            ),
        }
    }

    /// The LSM confines it: a profile or context other than unconfined.
    pub fn lsm_confined(&self) -> Option<bool> {
        let label = self.lsm.as_deref()?;
        Some(
            !(label == "unconfined"
                || label.contains("unconfined_t")
                || label.ends_with("(unconfined)")),
        )
    }
}

/// The inside id of host id `outside` by a uid_map or gid_map text (`inside outside count`
/// per line, the outside ids as the reader's namespace sees them).
fn map_to_inside(map: &str, outside: u32) -> Option<u32> {
    map.lines().find_map(|line| {
        let mut fields = line.split_whitespace().map(|f| f.parse::<u64>().ok());
        let (inside, start, count) = (fields.next()??, fields.next()??, fields.next()??);
        let id = u64::from(outside);
        (start..start.saturating_add(count))
            .contains(&id)
            .then(|| u32::try_from(inside + (id - start)).ok())
            .flatten()
    })
}

/// Every capability this build knows, by number, and their mask: built once (sets are
/// named for every process of every recorded frame).
fn known() -> &'static (Vec<caps::Capability>, u64) {
    static KNOWN: std::sync::OnceLock<(Vec<caps::Capability>, u64)> = std::sync::OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut all: Vec<caps::Capability> = caps::all().into_iter().collect();
        all.sort_by_key(|c| c.index());
        let mask = all.iter().fold(0, |m, c| m | c.bitmask());
        (all, mask)
    })
}

/// The mask of every capability this build knows.
fn known_mask() -> u64 {
    known().1
}

/// The names of a capability set's members, by number (`cap_41` for one this build does not
/// know).
pub fn names(mask: u64) -> Vec<String> {
    (0..64)
        .filter(|bit| mask & (1 << bit) != 0)
        .map(|bit| match known().0.iter().find(|c| c.index() == bit) {
            Some(cap) => cap.to_string(),
            None => format!("cap_{bit}"),
        })
        .collect()
}

/// Whether a set holds every capability this build knows.
pub fn is_full(mask: u64) -> bool {
    mask & known_mask() == known_mask()
}

/// A set in words: `all (41)`, `none`, or the names with their count.
pub fn describe(mask: u64) -> String {
    if mask == 0 {
        return "none".to_owned();
    }
    let names = names(mask);
    let short = |names: &[String]| -> String {
        let short: Vec<&str> = names
            .iter()
            .map(|n| n.strip_prefix("CAP_").unwrap_or(n))
            .collect();
        short.join(" ")
    };
    let missing = self::names(known_mask() & !mask);
    match missing.len() {
        0 => format!("all ({})", names.len()),
        // Root's usual set less a few: what it lacks says more.
        1..=5 => format!("all but {} ({})", short(&missing), names.len()),
        _ => format!("{} ({})", short(&names), names.len()),
    }
}

/// The capability sets in JSON and recordings: each `"all"` (every capability this build
/// knows, as root usually has) or the list of names, as `capsh --decode` prints them.
mod cap_names {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::model::sample::CapSets;

    /// A set the short way: `"all"`, `{"all_but": [names]}` where fewer are missing than
    /// present, else its names.
    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Set {
        All(String),
        AllBut { all_but: Vec<String> },
        Names(Vec<String>),
    }

    fn mask(names: &[String]) -> u64 {
        names
            .iter()
            .filter_map(|n| match n.strip_prefix("cap_") {
                Some(bit) => bit.parse::<u32>().ok().and_then(|b| 1u64.checked_shl(b)),
                None => n.parse::<caps::Capability>().ok().map(|c| c.bitmask()),
            })
            .fold(0, |m, bit| m | bit)
    }

    impl Set {
        fn of(set: u64) -> Set {
            let missing = super::known_mask() & !set;
            // Only where every member is a known capability: the short forms name known ones.
            if set & !super::known_mask() != 0 || missing.count_ones() >= set.count_ones() {
                return Set::Names(super::names(set));
            }
            match missing {
                0 => Set::All("all".into()),
                _ => Set::AllBut {
                    all_but: super::names(missing),
                },
            }
        }

        fn mask(&self) -> u64 {
            match self {
                Set::All(_) => super::known_mask(),
                Set::AllBut { all_but } => super::known_mask() & !mask(all_but),
                Set::Names(names) => mask(names),
            }
        }
    }

    #[derive(Serialize, Deserialize)]
    struct Named {
        effective: Set,
        permitted: Set,
        inheritable: Set,
        bounding: Set,
        ambient: Set,
    }

    pub fn serialize<S: Serializer>(caps: &CapSets, s: S) -> Result<S::Ok, S::Error> {
        Named {
            effective: Set::of(caps.effective),
            permitted: Set::of(caps.permitted),
            inheritable: Set::of(caps.inheritable),
            bounding: Set::of(caps.bounding),
            ambient: Set::of(caps.ambient),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CapSets, D::Error> {
        let named = Named::deserialize(d)?;
        Ok(CapSets {
            effective: named.effective.mask(),
            permitted: named.permitted.mask(),
            inheritable: named.inheritable.mask(),
            bounding: named.bounding.mask(),
            ambient: named.ambient.mask(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_into_the_user_namespace() {
        // `unshare --user --map-root-user` run as uid 100000.
        assert_eq!(
            map_to_inside("         0     100000          1\n", 100000),
            Some(0)
        );
        assert_eq!(map_to_inside("         0     100000          1\n", 0), None);
        assert_eq!(map_to_inside("0 100000 65536\n", 101000), Some(1000));
    }

    #[test]
    fn sets_are_named_as_capsh_decodes_them() {
        // capsh --decode=0x400 says cap_net_bind_service.
        assert_eq!(names(0x400), vec!["CAP_NET_BIND_SERVICE"]);
        assert_eq!(describe(0), "none");
        assert_eq!(describe(0x1ff_ffff_ffff), "all (41)");
        assert_eq!(describe(0x400 | 0x1), "CHOWN NET_BIND_SERVICE (2)");
        assert_eq!(
            describe(0x1ff_ffff_ffff & !(1 << 21)),
            "all but SYS_ADMIN (40)"
        );
        assert_eq!(names(1 << 50), vec!["cap_50"]);
    }

    #[test]
    fn named_sets_read_back_the_same() {
        let caps = CapSets {
            effective: 0x1ff_ffff_ffff,
            permitted: 0x400,
            inheritable: 0,
            bounding: 1 << 50 | 1,
            ambient: 0,
        };
        #[derive(Serialize, Deserialize)]
        struct Wrap(#[serde(with = "cap_names")] CapSets);
        let json = serde_json::to_string(&Wrap(caps)).unwrap();
        assert!(json.contains("\"effective\":\"all\""), "{json}");
        assert!(
            json.contains("\"permitted\":[\"CAP_NET_BIND_SERVICE\"]"),
            "{json}"
        );
        let back: Wrap = serde_json::from_str(&json).unwrap();
        assert_eq!(back.0, caps);
        let most = 0x1ff_ffff_ffff & !(1 << 24);
        let json = serde_json::to_string(&Wrap(CapSets {
            effective: most,
            ..caps
        }))
        .unwrap();
        assert!(
            json.contains("\"effective\":{\"all_but\":[\"CAP_SYS_RESOURCE\"]}"),
            "{json}"
        );
        let back: Wrap = serde_json::from_str(&json).unwrap();
        assert_eq!(back.0.effective, most);
    }
}
