#!/usr/bin/env bash
# What `nstop serve` costs on the host as it is now: its CPU share of a core at an interval,
# how long a scrape takes (from the cached sample, in both formats) and how big it is.
#
#   scripts/bench-serve.sh [SECONDS] [INTERVAL]   (default 120 s at 15s; needs target/release/nstop)
#   CGROUPS=1800 scripts/populate.sh start 10000 && scripts/bench-serve.sh   (the issue's scale)
#
# nstop listens on a loopback port the kernel picks; CPU is its utime+stime over SECONDS after
# its first sample (/proc/PID/stat), scrapes are 21 curl runs each, alternating formats, after
# that. Prints a markdown table row with a header. Stops nstop by its PID.
set -euo pipefail
SECONDS_RUN=${1:-120}
INTERVAL=${2:-15s}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NSTOP=$ROOT/target/release/nstop
[ -x "$NSTOP" ] || { echo "bench-serve.sh: build it first: cargo build --release" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench-serve.sh: curl not found" >&2; exit 1; }

err=$(mktemp)
"$NSTOP" serve --listen 127.0.0.1:0 --interval "$INTERVAL" 2>"$err" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$err"' EXIT
addr=
for _ in $(seq 100); do
  addr=$(grep -o 'http://[0-9.:]*' "$err" | head -1 || true)
  [ -n "$addr" ] && curl -sf -o /dev/null "$addr/metrics" && break
  sleep 0.2
done
[ -n "$addr" ] || { cat "$err" >&2; exit 1; }

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
before=$(cpu)
sleep "$SECONDS_RUN"
after=$(cpu)
share=$(awk -v d=$((after - before)) -v t="$ticks" -v s="$SECONDS_RUN" 'BEGIN {printf "%.2f", 100 * d / t / s}')

om='application/openmetrics-text;version=1.0.0'
text='text/plain;version=0.0.4'
times_om=() times_text=()
for _ in $(seq 21); do
  times_om+=("$(curl -s -o /dev/null -H "Accept: $om" -w '%{time_total}' "$addr/metrics")")
  times_text+=("$(curl -s -o /dev/null -H "Accept: $text" -w '%{time_total}' "$addr/metrics")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", 1000 * a[int((NR + 1) / 2)]}'; }
size=$(curl -s -H "Accept: $om" "$addr/metrics" | wc -c)
series=$(curl -s -H "Accept: $om" "$addr/metrics" | grep -vc '^#')
procs=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)
cgroups=$(curl -s "$addr/snapshot" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["cgroups"]))')
rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
echo "| processes | cgroups | interval | CPU % of a core | scrape ms, OpenMetrics / text (median of 21) | exposition bytes | samples | RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
echo "| $procs | $cgroups | $INTERVAL | $share | $(median "${times_om[@]}") / $(median "${times_text[@]}") | $size | $series | $rss |"
