//! The real binary in a real terminal: a tmux server of the test's own, driven by keys and read
//! by capturing its pane.

use std::process::Command;

use super::{unique_name, wait_for};

/// A tmux server of our own (its own socket), killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start(width: u16, height: u16) -> Tmux {
        let tmux = Tmux {
            socket: unique_name(),
        };
        let size = (width.to_string(), height.to_string());
        tmux.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            &size.0,
            "-y",
            &size.1,
            "bash",
            "--norc",
            "--noprofile",
        ]);
        tmux.shell("PS1='ready> '");
        tmux.wait("the shell prompt", |screen| screen.contains("ready> "));
        tmux
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux is installed (.ci/run installs it)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types a command line into the shell.
    pub fn shell(&self, line: &str) {
        self.run(&["send-keys", "-t", "main", "-l", line]);
        self.keys(&["Enter"]);
    }

    /// Presses tmux key names (`Enter`, `Escape`, `Tab`) or literal characters.
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend(keys);
        self.run(&args);
    }

    pub fn screen(&self) -> String {
        // -J joins wrapped lines, so a long command line stays one line.
        self.run(&["capture-pane", "-p", "-J", "-t", "main"])
    }

    pub fn wait(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_for(what, || {
                last = self.screen();
                done(&last).then(|| last.clone())
            })
        }));
        found.unwrap_or_else(|_| panic!("timed out waiting for {what}; the pane shows:\n{last}"))
    }

    /// tmux's view of the pane's modes, e.g. `#{alternate_on}`.
    pub fn pane(&self, format: &str) -> String {
        self.run(&["display-message", "-p", "-t", "main", format])
            .trim()
            .to_owned()
    }

    pub fn terminal_modes(&self) -> String {
        self.pane("alternate=#{alternate_on} mouse=#{mouse_any_flag}#{mouse_button_flag}#{mouse_standard_flag}#{mouse_all_flag}#{mouse_sgr_flag}")
    }

    /// The PID of the program the shell is running in the foreground.
    pub fn foreground_pid(&self) -> i32 {
        let shell: i32 = self.pane("#{pane_pid}").parse().expect("pane pid");
        wait_for("nstop started by the shell", || {
            super::children(shell).first().copied()
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // tmux 3.3 leaves the socket file of a killed server behind: ours is removed too.
        let path = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display-message",
                "-p",
                "#{socket_path}",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
        if path.contains(&self.socket) {
            let _ = std::fs::remove_file(path);
        }
    }
}
