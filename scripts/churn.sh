#!/usr/bin/env bash
# Reliability under churn: for DURATION seconds the host sees ~RATE short-lived processes a second,
# ~NS_RATE of them (part of RATE) each in new namespaces and a fresh cgroup, while nstop watches:
# one loop each of `ns -J --output-all`, `cg --json` and `snapshot --json` back to back (every run must
# exit 0 with valid JSON and no error on stderr: permission notices are not errors, and those that
# differ from a run at rest are counted and kept as evidence), and the TUI in its own tmux server (120x40), its
# VmRSS/VmHWM sampled every 5 s; at the end it must be alive, show no panic/error, and quit 0 on `q`.
#
#   scripts/churn.sh [DURATION]     (default 300 s; env RATE=200, NS_RATE=10, GENERATORS=2,
#                                    NS_FLAGS="--uts --ipc --net --pid --fork --mount --mount-proc",
#                                    OUT=target/churn, NSTOP=path (unset: cargo build --release first))
#
# Prints a summary ending in `churn: PASS` (exit 0) or `churn: FAIL (reasons)` (exit 1); raw data
# (RSS CSV, per-run CSVs, pane capture, first failures' stdout/stderr) stays under OUT.
#
# Safety (ARCHITECTURE.md, "Working safely on a shared kernel"):
# - Generators and churners live beneath ONE new cgroup2 cgroup, nstop-churn-<pid>, beneath this
#   script's own; each generator moves itself in before spawning. Each churner's cgroups are children
#   of it (cgroup2) and of a cgroup of the same name beneath our own v1 memory cgroup, if present.
# - On exit (also INT/TERM) only that subtree is killed (cgroup.kill, or SIGKILL per PID listed in its
#   cgroup.procs files) and both trees are removed deepest first. Observers stop by a flag file; the
#   TUI's tmux server (own socket, never the default) is killed and its socket removed.
# - Namespaces are never bind-mounted; unshare's mounts are private, so --mount-proc stays inside.
set -euo pipefail

DUR=${1:-300} RATE=${RATE:-200} NS_RATE=${NS_RATE:-10} GENS=${GENERATORS:-2}
NS_FLAGS=${NS_FLAGS:---uts --ipc --net --pid --fork --mount --mount-proc}
die() { echo "churn.sh: $*" >&2; exit 2; }
for v in DUR RATE NS_RATE GENS; do [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer"; done
if [ "$DUR" -lt 5 ] || [ "$GENS" -lt 1 ] || [ "$NS_RATE" -gt "$RATE" ]; then die "need DURATION >= 5, GENERATORS >= 1, NS_RATE <= RATE"; fi
[ "$(id -u)" = 0 ] || die "must run as root"
for tool in jq tmux unshare timeout; do command -v $tool >/dev/null || die "$tool not found"; done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${NSTOP:-}" ]; then
    cargo build --release --manifest-path "$ROOT/Cargo.toml" >&2
    NSTOP=$ROOT/target/release/nstop
fi
[ -x "$NSTOP" ] || die "$NSTOP is not executable"
OUT=${OUT:-$ROOT/target/churn}
mkdir -p "$OUT"
rm -f "$OUT"/pids.* "$OUT"/named "$OUT"/fail-* "$OUT"/rest-* "$OUT"/*.stderr.log "$OUT"/*.csv "$OUT"/*.count "$OUT"/tui.* "$OUT"/churners.log "$OUT"/stop

# shellcheck source=scripts/lib/cgroups.sh
. "$ROOT/scripts/lib/cgroups.sh"
is_ours() { [[ "$1" =~ ^/sys/fs/cgroup(/.*)?/nstop-churn-$$$ && "$1" != *..* ]]; }
mnt=$(cgroup2_mount) || die "no cgroup2 hierarchy mounted at /sys/fs/cgroup/unified or /sys/fs/cgroup"
CG2="$mnt$(sed -n 's/^0:://p' /proc/self/cgroup | sed 's:/$::')/nstop-churn-$$"
V1=""
if own=$(v1_own_cgroup memory); then V1="$own/nstop-churn-$$"; fi
SOCK=nstop-churn-$$ STOP=$OUT/stop
is_ours "$CG2" || die "unexpected cgroup2 path $CG2"
[ -z "$V1" ] || is_ours "$V1" || die "unexpected v1 memory path $V1"
OBS=() GENPIDS=()

# shellcheck disable=SC2317  # the EXIT trap
cleanup() {
    local p
    exec 3>&2 2>/dev/null    # bash would report each generator that cgroup.kill ends as "Killed"
    touch "$STOP"
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
    for d in "$CG2" "$V1"; do
        if [ -z "$d" ] || [ ! -d "$d" ] || ! is_ours "$d"; then continue; fi
        empty_and_remove "$d" || echo "churn.sh: could not remove $d" >&3
    done
    for p in "${OBS[@]}"; do wait "$p" 2>/dev/null || true; done   # each ends its current run, then stops
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$CG2" "$CG2/gen"
[ -z "$V1" ] || mkdir "$V1"

# A churner: fresh cgroups, new namespaces whose first process moves itself into them and exits,
# then the cgroups are removed. One line per churner in churners.log: ok, or what failed.
churn() {
    local a=$CG2/$1 b=${V1:+$V1/$1} rc=0 d res=ok
    mkdir "$a" ${b:+"$b"} || { echo "mkdir-failed" >>"$OUT/churners.log"; return; }
    # shellcheck disable=SC2086,SC2016  # flags are meant to split; $d expands in the inner sh
    unshare $NS_FLAGS sh -c 'for d; do echo 0 >"$d/cgroup.procs" || exit 1; done' sh "$a" ${b:+"$b"} </dev/null &
    echo "$! ${EPOCHREALTIME/./}" >&"$PFD"
    wait "$!" || rc=$?
    [ "$rc" = 0 ] || res="unshare-rc-$rc"
    for d in "$a" ${b:+"$b"}; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$d" 2>/dev/null && break; read -rt 0.05 -u "$SFD" || true; done
        [ ! -d "$d" ] || res="$res rmdir-failed"
    done
    echo "$res" >>"$OUT/churners.log"
}

# Generator $1 of GENS: its share of RATE, paced in 100 ms ticks (a tick that is missed is skipped, so
# the count stays honest). Writes "plain churners seconds" to gen<id>.count at the end.
generate() {
    local id=$1 r c k=-1 t0 now q n=0 m=0 rem s PFD
    echo "$BASHPID" >"$CG2/gen/cgroup.procs"
    exec {PFD}>"$OUT/pids.$id"    # every PID started and when (µs), to check none is called unreadable
    r=$(( (RATE - NS_RATE) * (id + 1) / GENS - (RATE - NS_RATE) * id / GENS ))
    c=$(( NS_RATE * (id + 1) / GENS - NS_RATE * id / GENS ))
    t0=${EPOCHREALTIME/./}
    while now=${EPOCHREALTIME/./}; [ $((now - t0)) -lt $((DUR * 1000000)) ]; do
        k=$(( (now - t0) / 100000 ))
        for ((q = (k + 1) * r / 10 - k * r / 10; q > 0; q--)); do /bin/true & echo "$! ${EPOCHREALTIME/./}" >&"$PFD"; n=$((n + 1)); done
        for ((q = (k + 1) * c / 10 - k * c / 10; q > 0; q--)); do churn "c$id-$m" & m=$((m + 1)); done
        rem=$(( t0 + (k + 1) * 100000 - ${EPOCHREALTIME/./} ))
        if [ "$rem" -gt 0 ]; then printf -v s '0.%06d' "$rem"; read -rt "$s" -u "$SFD" || true; fi
    done
    wait
    echo "$n $m $(( (${EPOCHREALTIME/./} - t0) / 1000 ))" >"$OUT/gen$id.count"
}

pids_in() { { grep -o 'PIDs\? [0-9, ]*' "$1" | grep -o '[0-9]\+' || true; } | sort -u; }   # PIDs a message names
# Observer loop: runs "$@" until the stop flag; one CSV row per run: seconds,rc,stderr lines other than
# permission notices,json ok, whether the output shows a churner (its cgroup or its process: proof the
# run raced the churn), and whether stderr differs from the run at rest.
observe() {
    local name=$1 rc j t w o d p f=0; shift
    while [ ! -e "$STOP" ]; do
        t=${EPOCHREALTIME/./} rc=0 j=1 w=0 d=0
        timeout 120 "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || rc=$?
        jq -e . <"$OUT/$name.out" >/dev/null 2>&1 || j=0
        ! grep -qE "nstop-churn-$$/c|for d; do echo 0" "$OUT/$name.out" || w=1
        o=$(grep -vc ': permission denied' "$OUT/$name.err" || true)
        if ! cmp -s "$OUT/$name.err" "$OUT/rest-$name.err"; then
            d=1   # the run's time span (µs) and the PIDs it named that the run at rest did not
            echo "$t ${EPOCHREALTIME/./} $(comm -23 <(pids_in "$OUT/$name.err") <(pids_in "$OUT/rest-$name.err") | tr '\n' ' ')" >>"$OUT/named"
        fi
        [ ! -s "$OUT/$name.err" ] || cat "$OUT/$name.err" >>"$OUT/$name.stderr.log"
        printf '%d.%06d,%d,%d,%d,%d,%d\n' $(( (${EPOCHREALTIME/./} - t) / 1000000 )) $(( (${EPOCHREALTIME/./} - t) % 1000000 )) \
            "$rc" "$o" "$j" "$w" "$d" >>"$OUT/$name.csv"
        # Evidence: the first 5 runs that failed or whose stderr differs from the run at rest (with what
        # /proc still says about the PIDs it names that the run at rest did not).
        if [ "$rc" != 0 ] || [ "$o" != 0 ] || [ "$j" = 0 ] || [ "$d" = 1 ]; then
            f=$((f + 1))
            if [ "$f" -le 5 ]; then
                cp "$OUT/$name.out" "$OUT/fail-$name-$f.out"; cp "$OUT/$name.err" "$OUT/fail-$name-$f.err"
                { printf '%s\nrc=%s json_ok=%s\n' "$*" "$rc" "$j"
                  comm -23 <(pids_in "$OUT/$name.err") <(pids_in "$OUT/rest-$name.err") | while read -r p; do
                      printf 'PID %s: %s\n' "$p" "$({ tr '\0' ' ' <"/proc/$p/cmdline" && grep '^State' "/proc/$p/status"; } 2>/dev/null || echo gone)"
                  done; } >"$OUT/fail-$name-$f.rc"
            fi
        fi
    done
    rm -f "$OUT/$name.out" "$OUT/$name.err"
}
CMDS=("ns:ns -J --output-all" "cg:cg --json" "snapshot:snapshot --json")

exec {SFD}<> <(:)    # a pipe nobody writes: `read -t` on it sleeps without forking
proc_mounts() { grep -c ' - proc ' /proc/self/mountinfo || true; }
mounts0=$(proc_mounts) forks0=$(awk '$1 == "processes" { print $2 }' /proc/stat)

# The TUI, warmed up before the churn starts.
tmux -L "$SOCK" new-session -d -x 120 -y 40 "$(printf '%q 2>%q; echo $? >%q' "$NSTOP" "$OUT/tui.stderr" "$OUT/tui.rc")"
sleep 1
SHPID=$(tmux -L "$SOCK" list-panes -F '#{pane_pid}')
TPID=$(tr ' ' '\n' <"/proc/$SHPID/task/$SHPID/children" | head -1)
[ -n "$TPID" ] || die "the TUI did not start (see $OUT/tui.stderr)"
sleep 2

# Each observer command once at rest, to tell churn-induced stderr from what this host always gives.
for c in "${CMDS[@]}"; do read -ra cmd <<<"${c#*:}"; "$NSTOP" "${cmd[@]}" >/dev/null 2>"$OUT/rest-${c%%:*}.err" </dev/null || true; done

T0=${EPOCHREALTIME/./}
for ((g = 0; g < GENS; g++)); do generate "$g" </dev/null >/dev/null 2>>"$OUT/generators.err" & GENPIDS+=("$!"); done
for c in "${CMDS[@]}"; do read -ra cmd <<<"${c#*:}"; observe "${c%%:*}" "$NSTOP" "${cmd[@]}" </dev/null & OBS+=("$!"); done

field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }
echo "seconds,vmrss_kib,vmhwm_kib" >"$OUT/tui-rss.csv"
alive=1
while :; do
    el=$(( (${EPOCHREALTIME/./} - T0) / 1000000 ))
    if [ -d "/proc/$TPID" ]; then echo "$el,$(field "$TPID" VmRSS),$(field "$TPID" VmHWM)" >>"$OUT/tui-rss.csv"
    else alive=0; break; fi
    [ "$el" -lt "$DUR" ] || break
    sleep $(( DUR - el < 5 ? DUR - el : 5 ))
done

# The TUI at the end: alive, a clean screen, and `q` quits with status 0.
[ -d "/proc/$TPID" ] || alive=0
tmux -L "$SOCK" capture-pane -p >"$OUT/tui-pane.txt" 2>/dev/null || true
tmux -L "$SOCK" send-keys q 2>/dev/null || true
for _ in $(seq 100); do [ -s "$OUT/tui.rc" ] && break; sleep 0.1; done
tui_rc=$(cat "$OUT/tui.rc" 2>/dev/null || echo none)

for p in "${GENPIDS[@]}"; do wait "$p" || true; done
touch "$STOP"
for p in "${OBS[@]}"; do wait "$p" || true; done
OBS=()
forks1=$(awk '$1 == "processes" { print $2 }' /proc/stat)

# Summary.
reasons=()
read -r plain churners ms < <(cat "$OUT"/gen*.count 2>/dev/null | awk '{ p += $1; c += $2; if ($3 > m) m = $3 } END { print p + 0, c + 0, m + 0 }')
secs=$(awk -v m="$ms" 'BEGIN { printf "%.1f", (m > 0 ? m : 1) / 1000 }')
total=$((plain + churners))
rate=$(awk -v n="$total" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
nsrate=$(awk -v n="$churners" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
hostrate=$(awk -v n="$((forks1 - forks0))" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
churn_bad=$(grep -vc '^ok$' "$OUT/churners.log" 2>/dev/null || true)
echo "duration:        ${secs} s (requested $DUR s)"
echo "processes:       $total started ($rate/s, target $RATE/s); host-wide forks $((forks1 - forks0)) ($hostrate/s)"
echo "ns+cgroup churn: $churners started ($nsrate/s, target $NS_RATE/s), ${churn_bad:-0} failed [$NS_FLAGS; cgroup2${V1:+ + v1 memory}]"
[ "$total" -ge $(( RATE * DUR * 3 / 4 )) ] || reasons+=("achieved rate $rate/s < 75% of $RATE/s")
[ "$churners" -ge $(( NS_RATE * DUR * 3 / 4 )) ] || reasons+=("churner rate $nsrate/s < 75% of $NS_RATE/s")
[ "${churn_bad:-0}" = 0 ] || reasons+=("$churn_bad churners failed (see churners.log)")
[ -s "$OUT/generators.err" ] && reasons+=("generator errors (see generators.err)")
for name in ns cg snapshot; do
    read -r runs fails mean saw other < <(awk -F, '{ n++; t += $1; w += $5; d += $6; if ($2 != 0 || $3 != 0 || $4 != 1) f++ }
        END { printf "%d %d %.2f %d %d\n", n, f, n ? t / n : 0, w, d }' "$OUT/$name.csv" 2>/dev/null || echo "0 0 0 0 0")
    printf 'observer %-9s %d runs, %d failed (mean %s s a run; %d showed a churner; %d said other than at rest)\n' \
        "$name:" "$runs" "$fails" "$mean" "$saw" "$other"
    [ "$runs" -gt 0 ] || reasons+=("$name never ran")
    [ "$fails" = 0 ] || reasons+=("$name: $fails failed runs (see fail-$name-*)")
    # Distinct stderr messages (numbers as N), most frequent first, and whether the run at rest gave them.
    if [ -s "$OUT/$name.stderr.log" ]; then
        sed 's/[0-9]\+/N/g' "$OUT/$name.stderr.log" | sort | uniq -c | sort -rn | head -5 | while read -r k msg; do
            printf '    stderr x%s: %s%s\n' "$k" "$msg" "$(sed 's/[0-9]\+/N/g' "$OUT/rest-$name.err" | grep -qxF "$msg" && echo ' (also at rest)')"
        done || true
    fi
done
# An exit mid-read is not a permission problem: no process the churn started may be called
# unreadable. PIDs wrap (pid_max) within minutes at this rate: a PID is the churn's when the churn
# started it in the 2 s before the run or during it.
ours=""
if [ -s "$OUT/named" ]; then
    ours=$(awk 'NR == FNR { for (i = 3; i <= NF; i++) named[$i] = named[$i] " " $1 ":" $2; next }
        { if (!($1 in named)) next; n = split(named[$1], spans, " ")
          for (k = 1; k <= n; k++) { split(spans[k], t, ":"); if ($2 >= t[1] - 2000000 && $2 <= t[2]) hit[$1] = 1 } }
        END { for (p in hit) printf "%s ", p }' "$OUT/named" <(cat "$OUT"/pids.*))
fi
echo "unreadable:      $({ [ ! -f "$OUT/named" ] || wc -l <"$OUT/named"; } | grep . || echo 0) runs named PIDs the run at rest did not; of the churn's: ${ours:-none}"
[ -z "$ours" ] || reasons+=("the churn's processes $ours were reported unreadable")
awk -F, 'NR > 1 && $2 != "" { n++; x = $1 / 60; y = $2 / 1024; sx += x; sy += y; sxy += x * y; sxx += x * x
         if (n == 1) { first = y; mn = y; mx = y }; last = y; if (y < mn) mn = y; if (y > mx) mx = y; hwm = $3 / 1024 }
         END { d = n * sxx - sx * sx; printf "TUI RSS MiB:     first %.1f, last %.1f, min %.1f, max %.1f, peak (VmHWM) %.1f; slope %+.3f MiB/min over %d samples\n",
               first, last, mn, mx, hwm, (n > 1 && d != 0) ? (n * sxy - sx * sy) / d : 0, n }' "$OUT/tui-rss.csv"
echo "TUI:             alive at end: $([ "$alive" = 1 ] && echo yes || echo NO); exit status after q: $tui_rc; stderr $(stat -c %s "$OUT/tui.stderr" 2>/dev/null || echo 0) bytes"
[ "$alive" = 1 ] || reasons+=("TUI died")
grep -Eiq 'panicked|error' "$OUT/tui-pane.txt" && reasons+=("TUI pane shows panicked/error (see tui-pane.txt)")
[ "$tui_rc" = 0 ] || reasons+=("TUI exit status $tui_rc")
[ -s "$OUT/tui.stderr" ] && reasons+=("TUI wrote to stderr (see tui.stderr)")
[ "$(proc_mounts)" = "$mounts0" ] || reasons+=("proc mounts on the host changed: $mounts0 -> $(proc_mounts)")
echo "raw data:        $OUT"
if [ "${#reasons[@]}" = 0 ]; then echo "churn: PASS"; exit 0; fi
printf -v r '%s; ' "${reasons[@]}"
echo "churn: FAIL (${r%; })"
exit 1
