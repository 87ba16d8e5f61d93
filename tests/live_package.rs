//! The Debian package (scripts/package.sh) installed with dpkg in the real-host guest: the
//! binary, a man page, a bash completion and the recorder's unit work, then it is purged.
//! It installs a package, so it runs only in the guest (scripts/realhost.sh, whose disk is a
//! throwaway snapshot), never on the host that builds it.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{require_root, wait_for};

/// `program args...` as root: (succeeded, stdout + stderr).
fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The package scripts/package.sh built before the guest booted.
fn package() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debian");
    std::fs::read_dir(&dir)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| Some(e.ok()?.path()))
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .unwrap_or_else(|| panic!("no .deb in {}: scripts/package.sh builds it", dir.display()))
}

/// Purges the package however the test ends.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("systemctl")
            .args(["stop", "nstop-record"])
            .status();
        let _ = Command::new("dpkg").args(["--purge", "nstop"]).output();
    }
}

#[test]
#[ignore = "installs a package: runs in the real-host guest (scripts/realhost.sh)"]
fn the_package_installs_and_works() {
    if !require_root() {
        return;
    }
    let deb = package();
    let (ok, said) = run("dpkg", &["-i", deb.to_str().unwrap()]);
    let _installed = Installed;
    assert!(ok, "dpkg -i: {said}");

    let (ok, listing) = run("/usr/bin/nstop", &["ns"]);
    assert!(ok && listing.starts_with("        NS TYPE"), "{listing}");
    let (ok, page) = run("man", &["-w", "nstop"]);
    assert!(
        ok && page.trim() == "/usr/share/man/man1/nstop.1.gz",
        "{page}"
    );
    let (ok, page) = run("man", &["-w", "nstop-cg-set"]);
    assert!(ok, "{page}");
    // bash-completion loads the package's file on first use, as an interactive shell would.
    let complete = "source /usr/share/bash-completion/bash_completion; \
                    _completion_loader nstop; complete -p nstop; \
                    COMP_WORDS=(nstop s); COMP_CWORD=1; _nstop nstop s nstop; echo \"${COMPREPLY[*]}\"";
    let (ok, said) = run("bash", &["-c", complete]);
    assert!(
        ok && said.contains("-F _nstop nstop") && said.contains("snapshot serve"),
        "{said}"
    );
    // The audit log's directory, root's alone.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata("/var/log/nstop").unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o700);

    let (ok, said) = run("systemctl", &["start", "nstop-record"]);
    assert!(ok, "systemctl start nstop-record: {said}");
    wait_for("the recorder's first segment", || {
        let entries = std::fs::read_dir("/var/lib/nstop/record").ok()?;
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().ends_with(".nsr"))
            .then_some(())
    });
    let (_, state) = run("systemctl", &["is-active", "nstop-record"]);
    assert_eq!(state.trim(), "active");
    let (ok, said) = run(
        "/usr/bin/nstop",
        &["snapshot", "--from", "/var/lib/nstop/record", "--json"],
    );
    assert!(ok && said.contains("\"processes\""), "{said}");
}
