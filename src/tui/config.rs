//! The explorer's preferences in a file: `/etc/nstop/config.toml` (the host's defaults), then
//! `$XDG_CONFIG_HOME/nstop/config.toml` (`~/.config/...`) over it, or only the file `--config`
//! or `NSTOP_CONFIG` names. `W` in the explorer writes what is on screen into the user's file.
//!
//! ```toml
//! interval = "2s"          # how often it samples (the command line's -i wins)
//! screen = "processes"     # namespaces, cgroups, processes, pressure, limits, oom
//! color = false            # no colours, as NO_COLOR=1
//!
//! [screens.processes]
//! sort = "CPU%"            # a column title of that screen
//! descending = true
//! tree = false
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::tui::panes::Screen;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<Screen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<bool>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub screens: BTreeMap<Screen, ScreenConfig>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descending: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree: Option<bool>,
}

/// What is wrong with a config file: where, and what is accepted.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{path}{}: {message}", line.map_or(String::new(), |l| format!(":{l}")))]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

/// The line of a byte offset, counted from 1.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line a TOML key is set on (`screen = ...`, `sort = ...` under `[screens.NAME]`).
fn line_of_key(text: &str, table: Option<&str>, key: &str) -> Option<usize> {
    let mut in_table = table.is_none();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = table.is_some_and(|t| line.trim_matches(['[', ']', ' ']) == t);
            continue;
        }
        let set = line.split('=').next().is_some_and(|k| k.trim() == key);
        if in_table && set {
            return Some(i + 1);
        }
    }
    None
}

impl Config {
    /// Parses and checks a file's text: every key known, every value one the explorer takes.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let error = |line, message: String| ConfigError {
            path: path.to_owned(),
            line,
            message,
        };
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| line_of(text, span.start));
            error(line, e.message().trim().to_owned())
        })?;
        if let Some(interval) = &config.interval {
            crate::cli::cg::parse_duration(interval).map_err(|why| {
                error(
                    line_of_key(text, None, "interval"),
                    format!("interval: {why}"),
                )
            })?;
        }
        for (name, screen) in &config.screens {
            let Some(sort) = &screen.sort else {
                continue;
            };
            let columns = name.spec().columns;
            if !columns.iter().any(|c| c.title == sort.as_str()) {
                let titles: Vec<&str> = columns.iter().map(|c| c.title).collect();
                let table = format!("screens.{}", name.title().to_lowercase());
                return Err(error(
                    line_of_key(text, Some(&table), "sort"),
                    format!(
                        "sort = \"{sort}\" is no column of that screen (accepted: {})",
                        titles.join(", ")
                    ),
                ));
            }
        }
        Ok(config)
    }

    /// Reads one file; `Ok(None)` when it does not exist.
    pub fn read(path: &Path) -> Result<Option<Config>, ConfigError> {
        Config::read_where(path, &[std::io::ErrorKind::NotFound])
    }

    /// Reads one file; `Ok(None)` when reading it fails in one of the ways `absent`.
    fn read_where(
        path: &Path,
        absent: &[std::io::ErrorKind],
    ) -> Result<Option<Config>, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(path, &text).map(Some),
            Err(e) if absent.contains(&e.kind()) => Ok(None),
            Err(e) => Err(ConfigError {
                path: path.to_owned(),
                line: None,
                message: e.to_string(),
            }),
        }
    }

    /// `other`'s settings over this one's.
    fn overlay(mut self, other: Config) -> Config {
        self.interval = other.interval.or(self.interval);
        self.screen = other.screen.or(self.screen);
        self.color = other.color.or(self.color);
        for (name, screen) in other.screens {
            let mine = self.screens.entry(name).or_default();
            mine.sort = screen.sort.or(mine.sort.take());
            mine.descending = screen.descending.or(mine.descending);
            mine.tree = screen.tree.or(mine.tree);
        }
        self
    }

    pub fn interval(&self) -> Option<Duration> {
        crate::cli::cg::parse_duration(self.interval.as_deref()?).ok()
    }
}

/// Where the user's file is: `--config`/`NSTOP_CONFIG`, else under `$XDG_CONFIG_HOME` or
/// `~/.config`.
pub fn user_path(named: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = named {
        return Some(path.to_owned());
    }
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(path) = var("NSTOP_CONFIG") {
        return Some(path);
    }
    let base = var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|home| home.join(".config")))?;
    Some(base.join("nstop/config.toml"))
}

pub const SYSTEM_PATH: &str = "/etc/nstop/config.toml";

/// The explorer's settings: the named file alone, or the host's then the user's. An error is
/// the first file that is wrong (the explorer then starts with the defaults and says so).
pub fn load(named: Option<&Path>) -> Result<Config, ConfigError> {
    let explicit =
        named.is_some() || std::env::var_os("NSTOP_CONFIG").is_some_and(|v| !v.is_empty());
    let user = user_path(named);
    if explicit {
        let path = user.expect("named");
        return match Config::read(&path)? {
            Some(config) => Ok(config),
            None => Err(ConfigError {
                path,
                line: None,
                message: "no such file".into(),
            }),
        };
    }
    // A file found by default that this user cannot read is another user's (a HOME kept
    // across setpriv or su): not theirs to be told about.
    let absent = [
        std::io::ErrorKind::NotFound,
        std::io::ErrorKind::PermissionDenied,
    ];
    let system = Config::read_where(Path::new(SYSTEM_PATH), &absent)?.unwrap_or_default();
    let user = match user {
        Some(path) => Config::read_where(&path, &absent)?.unwrap_or_default(),
        None => Config::default(),
    };
    Ok(system.overlay(user))
}

/// Writes `config` to `path` whole (a new file renamed over the old). As root, only into a
/// directory root owns: a user's directory could redirect the write.
pub fn save(path: &Path, config: &Config) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let dir = path
        .parent()
        .ok_or_else(|| format!("{}: no directory", path.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let owner = std::fs::symlink_metadata(dir)
        .map(|m| m.uid())
        .map_err(|e| e.to_string())?;
    let me = nix::unistd::geteuid().as_raw();
    if owner != me {
        return Err(format!(
            "{} belongs to uid {owner}, not to this user (uid {me}): not written",
            dir.display()
        ));
    }
    let text = toml::to_string_pretty(config).map_err(|e| e.to_string())?;
    let partial = dir.join(".config.toml.partial");
    let _ = std::fs::remove_file(&partial);
    std::fs::write(&partial, text).map_err(|e| format!("writing {}: {e}", partial.display()))?;
    std::fs::rename(&partial, path).map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("c.toml"), text)
    }

    #[test]
    fn a_good_file_reads_whole() {
        let config = parse(
            "interval = \"2s\"\nscreen = \"processes\"\ncolor = false\n\n[screens.processes]\nsort = \"PID\"\ndescending = true\n",
        )
        .unwrap();
        assert_eq!(config.interval(), Some(Duration::from_secs(2)));
        assert_eq!(config.screen, Some(Screen::Processes));
        let processes = &config.screens[&Screen::Processes];
        assert_eq!(processes.sort.as_deref(), Some("PID"));
        assert_eq!(processes.descending, Some(true));
    }

    #[test]
    fn a_bad_file_names_its_line_and_what_is_accepted() {
        let unknown = parse("screen = \"processes\"\nintervall = \"2s\"\n").unwrap_err();
        assert_eq!(unknown.line, Some(2));
        assert!(
            unknown.message.contains("unknown field `intervall`"),
            "{unknown}"
        );
        assert!(unknown.message.contains("interval"), "{unknown}");
        let screen = parse("screen = \"proc\"\n").unwrap_err();
        assert_eq!(screen.line, Some(1));
        assert!(screen.message.contains("namespaces"), "{screen}");
        let interval = parse("\n\ninterval = \"soon\"\n").unwrap_err();
        assert_eq!(interval.line, Some(3));
        assert!(interval.message.starts_with("interval: "), "{interval}");
        let sort = parse("[screens.processes]\ntree = true\nsort = \"SIZE\"\n").unwrap_err();
        assert_eq!(sort.line, Some(3));
        assert!(sort.message.contains("accepted: PID,"), "{sort}");
        assert_eq!(
            sort.to_string().split(':').take(2).collect::<Vec<_>>(),
            ["c.toml", "3"]
        );
    }

    #[test]
    fn the_users_file_goes_over_the_hosts() {
        let host =
            parse("interval = \"5s\"\n[screens.cgroups]\nsort = \"MEM\"\ntree = false\n").unwrap();
        let user = parse("screen = \"cgroups\"\n[screens.cgroups]\ntree = true\n").unwrap();
        let both = host.overlay(user);
        assert_eq!(both.interval.as_deref(), Some("5s"));
        assert_eq!(both.screen, Some(Screen::Cgroups));
        let cgroups = &both.screens[&Screen::Cgroups];
        assert_eq!(
            (cgroups.sort.as_deref(), cgroups.tree),
            (Some("MEM"), Some(true))
        );
    }

    #[test]
    fn what_is_saved_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nstop/config.toml");
        let config = parse("screen = \"oom\"\n[screens.namespaces]\ntree = false\n").unwrap();
        save(&path, &config).unwrap();
        assert_eq!(Config::read(&path).unwrap(), Some(config));
    }
}
