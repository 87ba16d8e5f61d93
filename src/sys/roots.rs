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
    /// A fixture tree laid out like `/`: `DIR/proc`, `DIR/etc`.
    pub fn under(dir: &Path) -> Self {
        Roots {
            proc: dir.join("proc"),
            etc: dir.join("etc"),
        }
    }
}
