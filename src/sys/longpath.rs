//! Paths past PATH_MAX: cgroups can nest deeper than 4 KiB of names, where one open(2) of the
//! whole path fails with ENAMETOOLONG. These open such a path a part at a time, each part
//! relative to the directory the part before opened.

use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{CWD, Mode, OFlags, openat};
use rustix::io::Errno;

use crate::sys::proc::DIR_PATH;

/// The longest path one openat takes here: PATH_MAX (4096) counts the NUL.
const PART: usize = 4000;

/// Opens `relative` (empty: `dir` itself) from `dir`, however long it is. It resolves as one
/// open would (`..` and symlinks included): a way past PATH_MAX, not a containment check.
pub fn open_beneath(
    dir: BorrowedFd,
    relative: impl AsRef<OsStr>,
    flags: OFlags,
) -> Result<OwnedFd, Errno> {
    let relative = relative.as_ref().as_bytes();
    let mut rest = if relative.is_empty() { b"." } else { relative };
    let mut reached: Option<OwnedFd> = None;
    while rest.len() > PART {
        // Names are at most 255 bytes, so a part always ends at a '/'.
        let cut = rest[..PART]
            .iter()
            .rposition(|&b| b == b'/')
            .ok_or(Errno::NAMETOOLONG)?;
        let at = reached.as_ref().map_or(dir, AsFd::as_fd);
        let part = OsStr::from_bytes(&rest[..cut]);
        reached = Some(openat(at, part, DIR_PATH, Mode::empty())?);
        rest = &rest[cut + 1..];
    }
    let at = reached.as_ref().map_or(dir, AsFd::as_fd);
    openat(at, OsStr::from_bytes(rest), flags, Mode::empty())
}

/// Opens `path` (absolute, or relative to the working directory) however long it is.
pub fn open(path: &Path, flags: OFlags) -> Result<OwnedFd, Errno> {
    open_beneath(CWD, path, flags)
}

pub fn is_dir(path: &Path) -> bool {
    open(path, DIR_PATH).is_ok()
}

pub fn exists(path: &Path) -> bool {
    open(path, OFlags::PATH | OFlags::CLOEXEC).is_ok()
}

/// A regular file (not followed through a symlink).
pub fn is_file(path: &Path) -> bool {
    open(path, OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC)
        .and_then(|fd| rustix::fs::fstat(&fd))
        .is_ok_and(|st| {
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile
        })
}

/// A whole file as text, not following a symlink in its last component.
pub fn read_to_string(path: &Path) -> std::io::Result<String> {
    let fd = open(path, OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW)?;
    let mut text = String::new();
    std::fs::File::from(fd).read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_past_path_max_opens_a_part_at_a_time() {
        let tmp = tempfile::tempdir().unwrap();
        let name = "d".repeat(250);
        let mut deep = tmp.path().to_path_buf();
        let top = rustix::fs::open(tmp.path(), DIR_PATH, Mode::empty()).unwrap();
        let mut at = top;
        for _ in 0..20 {
            rustix::fs::mkdirat(&at, name.as_str(), Mode::from_raw_mode(0o700)).unwrap();
            at = openat(&at, name.as_str(), DIR_PATH, Mode::empty()).unwrap();
            deep.push(&name);
        }
        let file = openat(
            &at,
            "f",
            OFlags::WRONLY | OFlags::CREATE,
            Mode::from_raw_mode(0o600),
        );
        rustix::io::write(file.unwrap(), b"deep").unwrap();
        assert!(deep.as_os_str().len() > 5000);
        assert!(std::fs::metadata(&deep).is_err(), "too long for one open");
        assert!(is_dir(&deep));
        assert!(exists(&deep.join("f")) && !exists(&deep.join("g")));
        assert_eq!(read_to_string(&deep.join("f")).unwrap(), "deep");
        assert!(!is_dir(&deep.join("f")));
        // tempdir's remove_dir_all copes with the depth.
    }
}
