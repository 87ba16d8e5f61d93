#!/usr/bin/env bash
# For each population size N: populate the host, benchmark nstop ns vs lsns, depopulate.
#
#   scripts/bench-scale.sh [N ...]     (default: 1000 5000; env RUNS passes through to bench-ns.sh,
#                                       env NSTOP overrides the nstop command as in bench-ns.sh)
#   CGROUPS=K scripts/bench-scale.sh N   also makes K cgroups (see populate.sh) and times one full
#                                       `nstop snapshot --json` against the namespace scan alone
set -euo pipefail

DIR=$(cd "$(dirname "$0")" && pwd)
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 5000)

STATE=${NSTOP_SCALE_STATE:-/tmp/nstop-scale.state}
# Someone else's population is theirs to stop: refuse rather than let our trap remove it.
[ ! -e "$STATE" ] || { echo "bench-scale.sh: $STATE exists: host already populated; run populate.sh stop first" >&2; exit 1; }

# Always depopulate, also on failure or Ctrl-C; `stop` is a no-op when nothing is populated.
started=0
trap 'if [ $started = 1 ]; then "$DIR/populate.sh" stop >&2; fi' EXIT
trap 'exit 130' INT TERM

for n in "${SIZES[@]}"; do
    echo "## N = $n"
    "$DIR/populate.sh" start "$n"          # on failure it cleans up after itself
    started=1
    echo
    "$DIR/bench-ns.sh" "${RUNS:-11}"
    if [ "${CGROUPS:-0}" -gt 0 ]; then
        echo
        nstop=$(cd "$DIR/.." && pwd)/target/release/nstop
        A="$nstop snapshot --json" B="$nstop ns -J --output-all" "$DIR/bench-ns.sh" "${RUNS:-11}"
    fi
    "$DIR/populate.sh" stop
    started=0
    echo
done
