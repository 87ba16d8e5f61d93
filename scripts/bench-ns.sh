#!/usr/bin/env bash
# Time `nstop ns -J --output-all` against `lsns -J --output-all` and against the floor (the
# ns_floor example: two threads that only readlink every /proc/PID/ns link) on the host as it is now.
#
#   scripts/bench-ns.sh [RUNS]        (default 11)
#   NSTOP="cmd args" scripts/bench-ns.sh   overrides the nstop command (default: target/release/nstop ns)
#   A="cmd" B="cmd" [C="cmd"] scripts/bench-ns.sh   compares any complete commands instead (A/B and
#                                          A/C ratios), e.g. A="nstop snapshot --json" B="nstop ns -J --output-all" C=
#
# Runs alternate (nstop, lsns, floor, nstop, ...) so drift in host load hits all equally; one untimed
# warm-up run of each comes first so none pays for cold dentry/inode caches alone. Output goes to
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
if [ -z "${C+set}" ]; then
    [ -x "$ROOT/target/release/examples/ns_floor" ] ||
        { echo "bench-ns.sh: the floor is missing: build it with cargo build --release --example ns_floor" >&2; exit 1; }
    C="$ROOT/target/release/examples/ns_floor"
fi

export A B C RUNS
exec python3 - <<'EOF'
import os, shlex, shutil, statistics, subprocess, sys, time

cmds = {k: shlex.split(os.environ[k]) for k in "ABC" if os.environ.get(k)}
runs = int(os.environ["RUNS"])
for cmd in cmds.values():
    if shutil.which(cmd[0]) is None:
        sys.exit(f"bench-ns.sh: {cmd[0]} not found: build it with cargo build --release")

def run(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = (time.perf_counter() - t) * 1000
    if r.returncode != 0:
        sys.exit(f"bench-ns.sh: {shlex.join(cmd)} exited {r.returncode}: {r.stderr.decode(errors='replace')[-500:]}")
    return dt

for cmd in cmds.values():                   # warm-up, untimed
    run(cmd)
times = {k: [] for k in cmds}
for _ in range(runs):
    for k, cmd in cmds.items():
        times[k].append(run(cmd))

procs = sum(1 for d in os.listdir("/proc") if d.isdigit())
namespaces = len(subprocess.run(["lsns", "-n"], capture_output=True, text=True, check=True).stdout.splitlines())
med = {k: statistics.median(v) for k, v in times.items()}
mn = {k: min(v) for k, v in times.items()}
cgroups = sum(len(dirs) for m in {l.split()[4] for l in open("/proc/self/mountinfo") if " - cgroup" in l}
              for _, dirs, _ in os.walk(m))
others = [k for k in cmds if k != "A"]
print("| processes | namespaces | cgroups | " + " | ".join(f"{k} median ms | {k} min ms" for k in cmds)
      + " | " + " | ".join(f"A/{k} (median)" for k in others) + " |")
print("|" + "---:|" * (3 + 2 * len(cmds) + len(others)))
print(f"| {procs} | {namespaces} | {cgroups} | " + " | ".join(f"{med[k]:.1f} | {mn[k]:.1f}" for k in cmds)
      + " | " + " | ".join(f"{med['A'] / med[k]:.2f}" for k in others) + " |")
print(f"\n({runs} alternating runs each; " + ", ".join(f"{k} = `{shlex.join(c)}`" for k, c in cmds.items()) + ")")
EOF
