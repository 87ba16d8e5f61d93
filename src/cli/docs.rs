//! Shell completions and man pages, generated from the same clap definition as `--help` (with
//! clap_complete and clap_mangen), so they cannot fall behind the commands they describe.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Command;
use clap_mangen::Man;

/// What the root page says beyond the options: the explorer's keys (the help overlay's list),
/// exit statuses, files and the environment.
fn root_sections() -> Vec<(&'static str, String)> {
    let keys: String = crate::tui::widgets::help::entries()
        .iter()
        .map(|(keys, does)| format!(".TP\n\\fB{}\\fR\n{}\n", roff_text(keys), roff_text(does)))
        .collect();
    vec![
        ("KEYS", format!("Keys of the explorer (also its ? overlay):\n{keys}")),
        (
            "EXIT STATUS",
            [
                ".TP\n0\nDone (nstop audit: nothing weaker than a default container).",
                ".TP\n1\nA failure while reading or acting (nstop audit: something is weaker than a default container).",
                ".TP\n2\nBad input: the message names what was wrong and what is accepted; nothing was changed.",
                ".TP\n127\nexec, enter or unshare could not find the command to run.",
            ]
            .join("\n"),
        ),
        (
            "FILES",
            [
                ".TP\n/var/log/nstop/audit.jsonl\nOne JSON line per change nstop made (as root; else $XDG_STATE_HOME/nstop/audit.jsonl or ~/.local/state/nstop/audit.jsonl).",
                ".TP\n$XDG_STATE_HOME/nstop/record\nWhere nstop record writes by default (~/.local/state/nstop/record without XDG_STATE_HOME); /var/lib/nstop/record under the systemd unit.",
            ]
            .join("\n"),
        ),
        (
            "RECORDINGS",
            "nstop record writes segment files (*.nsr) of zstd-compressed snapshots: a key frame, then deltas against it, each record checksummed, so a torn tail replays up to the tear. nstop --replay DIR, nstop snapshot --from DIR and nstop oom --from DIR read them; --retain and --max-size prune whole segments.".to_owned(),
        ),
        (
            "ENVIRONMENT",
            ".TP\nNO_COLOR\nNo colours in the explorer; selection and headings stay visible.\n.TP\nXDG_STATE_HOME\nWhere the audit log and recordings go for a user other than root.".to_owned(),
        ),
    ]
}

/// Text as roff reads it literally: backslashes doubled, a leading dot or quote escaped.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    match escaped.starts_with(['.', '\'']) {
        true => format!("\\&{escaped}"),
        false => escaped,
    }
}

/// Writes `nstop.1` and one page per subcommand (`nstop-cg-set.1`...) into `dir`; returns
/// their paths.
pub fn man_pages(cmd: Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let name = cmd.get_name().to_owned();
    let cmd = cmd.display_name(&name).bin_name(&name);
    let mut written = Vec::new();
    write_pages(&cmd, dir, &mut written, true)?;
    Ok(written)
}

fn write_pages(
    cmd: &Command,
    dir: &Path,
    written: &mut Vec<PathBuf>,
    root: bool,
) -> std::io::Result<()> {
    let man = Man::new(cmd.clone());
    let path = dir.join(man.get_filename());
    let mut page = Vec::new();
    man.render(&mut page)?;
    if root {
        for (title, body) in root_sections() {
            writeln!(page, ".SH \"{title}\"\n{body}")?;
        }
    }
    std::fs::write(&path, page)?;
    written.push(path);
    let (display, bin) = (
        cmd.get_display_name().unwrap_or_default(),
        cmd.get_bin_name().unwrap_or_default(),
    );
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        // Found by `man nstop-cg-set`; its synopsis reads `nstop cg set`.
        let sub = (sub.clone())
            .display_name(format!("{display}-{}", sub.get_name()))
            .bin_name(format!("{bin} {}", sub.get_name()))
            .version(env!("CARGO_PKG_VERSION"));
        write_pages(&sub, dir, written, false)?;
    }
    Ok(())
}
