#!/usr/bin/env bash
# Everything BENCHMARKS.md reports, for each population size N in one run: populate the host with
# N processes and N/10 cgroups (populate.sh), then
#   - `nstop ns` against lsns and against the floor (bench-ns.sh),
#   - one collection and its parts, wall and CPU, and the heap it holds (cargo bench --bench collect),
# and at the largest N also the explorer beside htop (bench-tui.sh) and frame times
# (cargo bench --bench tui); then depopulate.
#
#   scripts/bench-scale.sh [N ...]     (default: 1000 5000 10000; env RUNS passes through to
#                                       bench-ns.sh, env CGROUPS overrides N/10, env TUI_SECONDS
#                                       the explorer run, default 60)
set -euo pipefail

DIR=$(cd "$(dirname "$0")" && pwd)
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 5000 10000)
for n in "${SIZES[@]}"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [N ...] (process counts)" >&2; exit 2; }
done
largest=$(printf '%s\n' "${SIZES[@]}" | sort -n | tail -1)

STATE=${NSTOP_SCALE_STATE:-/tmp/nstop-scale.state}
# Someone else's population is theirs to stop: refuse rather than let our trap remove it.
[ ! -e "$STATE" ] || { echo "bench-scale.sh: $STATE exists: host already populated; run populate.sh stop first" >&2; exit 1; }

# Built before anything is timed, so no compiler competes with the measurements.
(cd "$DIR/.." && cargo build --release --benches --example ns_floor && cargo build --release) >&2

# Always depopulate, also on failure or Ctrl-C; `stop` is a no-op when nothing is populated.
started=0
trap 'if [ $started = 1 ]; then "$DIR/populate.sh" stop >&2; fi' EXIT
trap 'exit 130' INT TERM

for n in "${SIZES[@]}"; do
    echo "## N = $n"
    CGROUPS=${CGROUPS:-$((n / 10))} "$DIR/populate.sh" start "$n"   # on failure it cleans up after itself
    started=1
    echo
    "$DIR/bench-ns.sh" "${RUNS:-11}"
    echo
    echo '```'
    (cd "$DIR/.." && cargo bench -q --bench collect 2>/dev/null)
    echo '```'
    if [ "$n" = "$largest" ]; then
        echo
        "$DIR/bench-tui.sh" "${TUI_SECONDS:-60}"
        echo
        echo '```'
        (cd "$DIR/.." && cargo bench -q --bench tui 2>/dev/null)
        echo '```'
    fi
    "$DIR/populate.sh" stop
    started=0
    echo
done
