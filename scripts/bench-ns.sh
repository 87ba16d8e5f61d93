#!/usr/bin/env bash
# Time `nstop ns -J --output-all` against `lsns -J --output-all` on the host as it is now.
#
#   scripts/bench-ns.sh [RUNS]        (default 11)
#   NSTOP="cmd args" scripts/bench-ns.sh   overrides the nstop command (default: target/release/nstop ns)
#   A="cmd" B="cmd" scripts/bench-ns.sh    compares any two complete commands instead (A/B ratio),
#                                          e.g. A="nstop snapshot --json" B="nstop ns -J --output-all"
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
A=${A:-$NSTOP -J --output-all}
B=${B:-lsns -J --output-all}

export A B RUNS
exec python3 - <<'EOF'
import os, shlex, shutil, statistics, subprocess, sys, time

a = shlex.split(os.environ["A"])
b = shlex.split(os.environ["B"])
runs = int(os.environ["RUNS"])
for cmd in (a, b):
    if shutil.which(cmd[0]) is None:
        sys.exit(f"bench-ns.sh: {cmd[0]} not found: build it with cargo build --release")

def run(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = (time.perf_counter() - t) * 1000
    if r.returncode != 0:
        sys.exit(f"bench-ns.sh: {shlex.join(cmd)} exited {r.returncode}: {r.stderr.decode(errors='replace')[-500:]}")
    return dt

run(a); run(b)                             # warm-up, untimed
times = {"a": [], "b": []}
for _ in range(runs):
    times["a"].append(run(a))
    times["b"].append(run(b))

procs = sum(1 for d in os.listdir("/proc") if d.isdigit())
namespaces = len(subprocess.run(["lsns", "-n"], capture_output=True, text=True, check=True).stdout.splitlines())
med = {k: statistics.median(v) for k, v in times.items()}
mn = {k: min(v) for k, v in times.items()}
cgroups = sum(len(dirs) for m in {l.split()[4] for l in open("/proc/self/mountinfo") if " - cgroup" in l}
              for _, dirs, _ in os.walk(m))
print(f"| processes | namespaces | cgroups | A median ms | A min ms | B median ms | B min ms | A/B (median) |")
print(f"|---:|---:|---:|---:|---:|---:|---:|---:|")
print(f"| {procs} | {namespaces} | {cgroups} | {med['a']:.1f} | {mn['a']:.1f} | {med['b']:.1f} | {mn['b']:.1f} | {med['a'] / med['b']:.2f} |")
print(f"\n({runs} alternating runs each; A = `{shlex.join(a)}`, B = `{shlex.join(b)}`)")
EOF
