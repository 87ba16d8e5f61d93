//! Where the readers look: the live host by default, a fixture tree in tests.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Roots {
    /// procfs mount (`/proc`).
    pub proc: PathBuf,
    /// Holds `passwd` for user names (`/etc`).
    pub etc: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            proc: PathBuf::from("/proc"),
            etc: PathBuf::from("/etc"),
        }
    }
}

impl Roots {
    /// Whether these are the live host's roots: some readers (pidfds, forked helpers) reach
    /// live processes and namespaces, which a fixture tree does not describe.
    pub fn is_live(&self) -> bool {
        self.proc == Path::new("/proc")
    }

    /// A fixture tree laid out like `/`: `DIR/proc`, `DIR/etc`.
    pub fn under(dir: &Path) -> Self {
        Roots {
            proc: dir.join("proc"),
            etc: dir.join("etc"),
        }
    }
}
