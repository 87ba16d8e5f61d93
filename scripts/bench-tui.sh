#!/usr/bin/env bash
# The explorer beside htop on the host as it is now: both started at once, each in its own tmux
# server (200x50), nstop at its default 1 s interval and `htop -d 10` (1 s, default config);
# after a warm-up, the CPU time each used over SECONDS is read from /proc/PID/stat (utime+stime,
# all threads), and nstop's resident memory from /proc/PID/status.
#
#   scripts/bench-tui.sh [SECONDS]     (default 60)
#   RSS_EVERY=10 scripts/bench-tui.sh 600   also prints nstop's VmRSS every 10 s (is it flat?)
#
# Prints a markdown table. Only the two tmux servers it started are killed (by their own socket).
set -euo pipefail

SECS=${1:-60}
[[ "$SECS" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NSTOP=$ROOT/target/release/nstop
[ -x "$NSTOP" ] || { echo "bench-tui.sh: $NSTOP is missing: build it with cargo build --release" >&2; exit 1; }
# The harness brings its own htop (and tmux) on a fresh Debian machine.
for tool in htop tmux; do
    if ! command -v $tool >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $tool >&2
    fi
    command -v $tool >/dev/null || { echo "bench-tui.sh: $tool not found (apt-get install $tool)" >&2; exit 1; }
done

SOCKETS=("nstop-bench-$$" "htop-bench-$$")
cleanup() {
    for s in "${SOCKETS[@]}"; do
        tmux -L "$s" kill-server 2>/dev/null || true
        rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$s"
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tmux -L "${SOCKETS[0]}" new-session -d -x 200 -y 50 "$NSTOP"
tmux -L "${SOCKETS[1]}" new-session -d -x 200 -y 50 "htop -d 10"
pane_pid() { tmux -L "$1" list-panes -F '#{pane_pid}'; }
NPID=$(pane_pid "${SOCKETS[0]}")
HPID=$(pane_pid "${SOCKETS[1]}")

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

sleep 5                                    # both past their first samples
n0=$(ticks "$NPID"); h0=$(ticks "$HPID")
start=$(date +%s)
if [ -n "${RSS_EVERY:-}" ]; then
    echo "| seconds | nstop VmRSS KiB |"
    echo "|---:|---:|"
    while [ $(( $(date +%s) - start )) -lt "$SECS" ]; do
        echo "| $(( $(date +%s) - start )) | $(field "$NPID" VmRSS) |"
        sleep "$RSS_EVERY"
    done
    echo
else
    sleep "$SECS"
fi
n1=$(ticks "$NPID"); h1=$(ticks "$HPID")
hz=$(getconf CLK_TCK)
procs=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)

python3 - "$procs" "$SECS" "$hz" "$((n1 - n0))" "$((h1 - h0))" \
    "$(field "$NPID" VmRSS)" "$(field "$NPID" VmHWM)" "$(field "$HPID" VmRSS)" <<'EOF'
import sys
procs, secs, hz, nstop, htop, rss, hwm, htop_rss = map(int, sys.argv[1:])
share = lambda t: 100.0 * t / hz / secs
print("| processes | seconds | nstop CPU % of a core | htop -d 10 CPU % | nstop/htop | nstop RSS MiB | nstop peak RSS MiB | htop RSS MiB |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
print(f"| {procs} | {secs} | {share(nstop):.1f} | {share(htop):.1f} | {nstop / max(htop, 1):.2f} | "
      f"{rss / 1024:.1f} | {hwm / 1024:.1f} | {htop_rss / 1024:.1f} |")
EOF
