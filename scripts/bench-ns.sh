#!/usr/bin/env bash
# Time `nstop ns -J --output-all` against `lsns -J --output-all` on the host as it is now.
#
#   scripts/bench-ns.sh [RUNS]        (default 11)
#   NSTOP="cmd args" scripts/bench-ns.sh   overrides the nstop command (default: target/release/nstop ns)
#
# Runs alternate (nstop, lsns, nstop, lsns, ...) so drift in host load hits both equally; one untimed
# warm-up run of each comes first so neither pays for cold dentry/inode caches alone. Output goes to
# /dev/null; a run that fails aborts the benchmark. Prints a markdown table row with a header.
set -euo pipefail

RUNS=${1:-11}
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${NSTOP:-}" ]; then
    [ -x "$ROOT/target/release/nstop" ] ||
        { echo "bench-ns.sh: $ROOT/target/release/nstop is missing: build it with cargo build --release" >&2; exit 1; }
    NSTOP="$ROOT/target/release/nstop ns"
fi
command -v lsns >/dev/null || { echo "bench-ns.sh: lsns (util-linux) not found" >&2; exit 1; }

export NSTOP RUNS
exec python3 - <<'EOF'
import os, shlex, shutil, statistics, subprocess, sys, time

nstop = shlex.split(os.environ["NSTOP"]) + ["-J", "--output-all"]
lsns = ["lsns", "-J", "--output-all"]
runs = int(os.environ["RUNS"])
if shutil.which(nstop[0]) is None:
    sys.exit(f"bench-ns.sh: {nstop[0]} not found: build it with cargo build --release")

def run(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = (time.perf_counter() - t) * 1000
    if r.returncode != 0:
        sys.exit(f"bench-ns.sh: {shlex.join(cmd)} exited {r.returncode}: {r.stderr.decode(errors='replace')[-500:]}")
    return dt

run(nstop); run(lsns)                      # warm-up, untimed
times = {"nstop": [], "lsns": []}
for _ in range(runs):
    times["nstop"].append(run(nstop))
    times["lsns"].append(run(lsns))

procs = sum(1 for d in os.listdir("/proc") if d.isdigit())
namespaces = len(subprocess.run(["lsns", "-n"], capture_output=True, text=True, check=True).stdout.splitlines())
med = {k: statistics.median(v) for k, v in times.items()}
mn = {k: min(v) for k, v in times.items()}
print(f"| processes | namespaces | nstop median ms | nstop min ms | lsns median ms | lsns min ms | nstop/lsns (median) |")
print(f"|---:|---:|---:|---:|---:|---:|---:|")
print(f"| {procs} | {namespaces} | {med['nstop']:.1f} | {mn['nstop']:.1f} | {med['lsns']:.1f} | {mn['lsns']:.1f} | {med['nstop'] / med['lsns']:.2f} |")
print(f"\n({runs} alternating runs each; nstop = `{shlex.join(nstop)}`)")
EOF
