//! Where the readers look: the live host by default, a fixture tree in tests.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Roots {
    /// procfs mount (`/proc`).
    pub proc: PathBuf,
    /// Holds `passwd` for user names (`/etc`).
    pub etc: PathBuf,
    /// What absolute mount points (cgroup hierarchies) are relative to (`/`).
    pub fs: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            proc: PathBuf::from("/proc"),
            etc: PathBuf::from("/etc"),
            fs: PathBuf::from("/"),
        }
    }
}

impl Roots {
    /// Whether these are the live host's roots: some readers (pidfds, forked helpers) reach
    /// live processes and namespaces, which a fixture tree does not describe.
    pub fn is_live(&self) -> bool {
        self.proc == Path::new("/proc")
    }

    /// A fixture tree laid out like `/`: `DIR/proc`, `DIR/etc`, `DIR/sys/fs/cgroup`.
    pub fn under(dir: &Path) -> Self {
        Roots {
            proc: dir.join("proc"),
            etc: dir.join("etc"),
            fs: dir.to_path_buf(),
        }
    }

    /// Where an absolute path of the live host (a mount point) is in these roots.
    pub fn resolve(&self, absolute: &str) -> PathBuf {
        self.fs.join(absolute.trim_start_matches('/'))
    }
}
