#!/usr/bin/env bash
# What `nstop record` costs: for each process count, the host is populated (scripts/populate.sh,
# with a tenth as many cgroups), the recorder runs SECONDS at a 5 s interval into a fresh
# directory, and its CPU time (/proc/PID/stat utime+stime, all threads) and the bytes it wrote
# give % of a core and storage per day (bytes per frame x 17,280 frames).
#
#   scripts/bench-record.sh [SECONDS] [PROCESSES...]     (default 180 s; 1000 5000)
#
# Root. Builds first; prints a markdown table; depopulates and removes its recordings.
set -euo pipefail

SECS=${1:-180}
shift || true
COUNTS=("${@:-1000 5000}")
read -ra COUNTS <<<"${COUNTS[*]}"
[[ "$SECS" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [SECONDS] [PROCESSES...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench-record.sh: run as root" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --manifest-path "$ROOT/Cargo.toml" >&2
NSTOP=$ROOT/target/release/nstop
WORK=$(mktemp -d)
REC_PID=""
cleanup() {
    [ -z "$REC_PID" ] || kill "$REC_PID" 2>/dev/null || true
    "$ROOT/scripts/populate.sh" stop >&2 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

echo "| processes | cgroups | frames | recorder CPU (% of a core) | bytes per frame | storage per day |"
echo "|---:|---:|---:|---:|---:|---:|"
for n in "${COUNTS[@]}"; do
    CGROUPS=$((n / 10)) "$ROOT/scripts/populate.sh" start "$n" >&2
    dir=$WORK/rec-$n
    "$NSTOP" record --interval 5s --dir "$dir" 2>/dev/null &
    REC_PID=$!
    sleep 6                                # past the first (full) frame
    t0=$(ticks "$REC_PID") s0=$(du -sb "$dir" | cut -f1) start=$(date +%s.%N)
    sleep "$SECS"
    t1=$(ticks "$REC_PID") s1=$(du -sb "$dir" | cut -f1) end=$(date +%s.%N)
    kill -TERM "$REC_PID"; wait "$REC_PID" || true; REC_PID=""
    procs=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)
    cgroups=$(find /sys/fs/cgroup -type d 2>/dev/null | wc -l)
    frames=$(awk -v s="$SECS" 'BEGIN { printf "%d", s / 5 }')
    awk -v t="$((t1 - t0))" -v hz="$hz" -v a="$start" -v b="$end" -v bytes="$((s1 - s0))" \
        -v frames="$frames" -v p="$procs" -v c="$cgroups" 'BEGIN {
        per = bytes / frames
        printf "| %d | %d | %d | %.2f%% | %.0f | %.0f MiB |\n", p, c, frames, 100 * t / hz / (b - a), per, per * 17280 / 1048576
    }'
    "$ROOT/scripts/populate.sh" stop >&2
done
