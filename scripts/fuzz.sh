#!/usr/bin/env bash
# Fuzz every parser with cargo-fuzz (libFuzzer, AddressSanitizer; needs a nightly toolchain):
# each target runs RUNS inputs (default 1,000,000), starting from a corpus of real kernel text
# captured in tests/fixtures. A crash stops the run, leaves the input in fuzz/artifacts/TARGET/
# and exits non-zero. Prints a markdown table of runs and seconds per target.
#
#   scripts/fuzz.sh [TARGET ...]        (default: all of fuzz/fuzz_targets; env RUNS)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-1000000}
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: RUNS must be a positive number" >&2; exit 2; }
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked >&2
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal >&2

TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || mapfile -t TARGETS < <(ls fuzz/fuzz_targets | sed 's/\.rs$//')

# Seeds: real text of the kind each target parses, from the captured fixtures.
seed() {   # seed TARGET FIND-ARGS...
    local dir=fuzz/corpus/$1
    shift
    mkdir -p "$dir"
    find tests/fixtures "$@" -type f -size -64k -print0 2>/dev/null |
        while IFS= read -r -d '' f; do cp "$f" "$dir/$(echo "$f" | md5sum | cut -c1-16)"; done
}
text() {   # text TARGET LINE...
    local dir=fuzz/corpus/$1 n=0
    shift
    mkdir -p "$dir"
    for line in "$@"; do printf '%s' "$line" > "$dir/inline-$n"; n=$((n + 1)); done
}
text ns_link 'net:[4026531840]' 'pid_for_children:[4026532301]' 'socket:[48213]' 'anon_inode:[eventfd]'
seed nspid -name status
seed mountinfo -name mountinfo
seed proc_cgroup -path '*/proc/*' -name cgroup
seed psi -name '*.pressure' -o -path '*/pressure/*'
seed memory_stat -name memory.stat
seed memory_events -name memory.events -o -name memory.events.local -o -name memory.oom_control
seed cpu_max -name cpu.max -o -name cpu.cfs_quota_us
seed io_stat -name io.stat -o -name 'blkio.throttle.*'
seed oom_report -path '*/oom/*' -name '*.txt'
text limit_value $'\x02memory.max=1.5G' $'\x04cpu.max=50%' $'\x08io.max=8:0 rbps=1M wiops=max' \
    $'\x01pids.max=max' $'\x02cpu.weight=100' $'\x02memory.swap.max=0' $'\x02cpu.max=20000 100000'

cargo +nightly fuzz build -O "${TARGETS[@]}" >&2 2>/dev/null || cargo +nightly fuzz build -O >&2
echo "| target | inputs run | seconds | corpus at the end |"
echo "|---|---:|---:|---:|"
for t in "${TARGETS[@]}"; do
    log=$(mktemp)
    start=$(date +%s.%N)
    if ! cargo +nightly fuzz run -O "$t" -- -runs="$RUNS" -max_len=8192 -seed=1 -print_final_stats=1 \
        >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "fuzz.sh: $t crashed; the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    corpus=$(ls "fuzz/corpus/$t" | wc -l)
    printf '| %s | %s | %.0f | %s |\n' "$t" "${runs:-?}" "$secs" "$corpus"
    rm -f "$log"
done
