//! Completions and man pages generated from the CLI definition: every subcommand and every
//! `ns -o` column is in each, and bash completes them for real.

use std::process::Command;

fn nstop(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nstop"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands `--help` lists, without `help`.
fn subcommands(args: &[&str]) -> Vec<String> {
    let help = nstop(args);
    let listed = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands section");
    listed
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// The columns `nstop ns --help` lists.
fn columns() -> Vec<String> {
    let help = nstop(&["ns", "--help"]);
    let listed = help
        .split("Available output columns:\n")
        .nth(1)
        .expect("the columns");
    listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_shell_completes_every_subcommand_and_column() {
    let subcommands = subcommands(&["--help"]);
    assert!(subcommands.len() >= 12, "{subcommands:?}");
    let columns = columns();
    assert!(columns.contains(&"NETNSID".to_owned()), "{columns:?}");
    for shell in ["bash", "zsh", "fish"] {
        let script = nstop(&["completions", shell]);
        for word in subcommands.iter().chain(&columns) {
            assert!(script.contains(word.as_str()), "{shell}: {word}");
        }
        assert!(
            script.contains("KILL") && script.contains("TERM"),
            "{shell}: signal names"
        );
    }
    // Bad input: a shell clap_complete does not know.
    let out = Command::new(env!("CARGO_BIN_EXE_nstop"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values: bash"));
}

/// What bash offers for the last of `words`, through the generated script (bash calls the
/// function with the command, the word being completed and the one before it).
fn bash_completes(words: &str) -> Vec<String> {
    let script = nstop(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nstop.bash");
    std::fs::write(&file, script).unwrap();
    let program = format!(
        "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
         COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
         _nstop nstop \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = Command::new("bash")
        .args(["-c", &program])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_subcommands_columns_and_signals() {
    let offered = bash_completes("nstop s");
    for word in ["snapshot", "serve"] {
        assert!(offered.contains(&word.to_owned()), "{offered:?}");
    }
    assert!(bash_completes("nstop ns -o NET").contains(&"NETNSID".to_owned()));
    assert!(bash_completes("nstop ns -t u").contains(&"user".to_owned()));
    assert!(bash_completes("nstop kill -s KI").contains(&"KILL".to_owned()));
}

#[test]
fn man_pages_cover_every_subcommand_column_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nstop"))
        .arg("man")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = |name: &str| {
        std::fs::read_to_string(dir.path().join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("{name}.1: {e}"))
    };
    let root = page("nstop");
    for sub in subcommands(&["--help"]) {
        assert!(root.contains(&sub), "nstop.1 names {sub}");
        page(&format!("nstop-{sub}"));
    }
    for sub in subcommands(&["cg", "--help"]) {
        let cg_sub = page(&format!("nstop-cg-{sub}"));
        assert!(
            cg_sub.contains(&format!("nstop cg {sub}")),
            "its synopsis: {cg_sub}"
        );
    }
    let ns = page("nstop-ns");
    for column in columns() {
        assert!(ns.contains(&column), "nstop-ns.1 explains {column}");
    }
    // The explorer's keys, as the README's table lists them, and the exit statuses.
    let readme = include_str!("../README.md");
    let keys = readme
        .split("| keys | does |\n|---|---|\n")
        .nth(1)
        .expect("the key table");
    for row in keys.lines().take_while(|l| l.starts_with('|')) {
        let does = row.split('|').nth(2).unwrap().trim();
        assert!(
            root.contains(&does.replace('-', "\\-")),
            "nstop.1 has: {does}"
        );
    }
    for section in ["KEYS", "EXIT STATUS", "FILES", "RECORDINGS"] {
        assert!(root.contains(&format!(".SH \"{section}\"")), "{section}");
    }
}
