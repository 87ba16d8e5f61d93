#!/usr/bin/env bash
# Populate the host with ~N long-lived sleeping processes spread over fresh namespaces
# of every type, for scale tests and benchmarks of `nstop ns` against `lsns`.
#
#   scripts/populate.sh start [N]   (default N=5000; env GROUP_SIZE, default 12 processes per group;
#                                    env CGROUPS=K adds K empty cgroups, a quarter each in cgroup2 and
#                                    the v1 memory, pids and cpu hierarchies, as two-level trees)
#   scripts/populate.sh stop
#
# Safety (ARCHITECTURE.md, "Working safely on a shared kernel"):
# - Everything lives beneath ONE new cgroup, nstop-scale-<pid>, created beneath this script's own
#   cgroup2 cgroup. Each group's leader moves itself there before spawning, so every descendant is in it.
# - `stop` kills only that cgroup (cgroup.kill, or SIGKILL per PID listed in its cgroup.procs files),
#   then removes it. It never looks at processes by name.
# - The K extra cgroups live beneath nstop-scale-<pid> in cgroup2 and beneath a cgroup of the same
#   name created under this script's own cgroup in each v1 hierarchy; `stop` removes exactly those.
# - Namespaces are never bind-mounted (no `ip netns` entries); unshare makes the new mount namespaces
#   private (--propagation private is util-linux's default), so --mount-proc does not leak to the host.
set -euo pipefail

STATE=${NSTOP_SCALE_STATE:-/tmp/nstop-scale.state}
LOG=${STATE%.state}.log

die() { echo "populate.sh: $*" >&2; exit 1; }

# shellcheck source=scripts/lib/cgroups.sh
. "$(dirname "$0")/lib/cgroups.sh"

# K empty cgroups beneath directory $1, in groups of a parent and up to 9 children.
make_cgroup_tree() {
    local base=$1 k=$2 made=0 p c
    mkdir "$base"
    for ((p = 0; made < k; p++)); do
        mkdir "$base/p$p"; made=$((made + 1))
        for ((c = 0; c < 9 && made < k; c++)); do mkdir "$base/p$p/c$c"; made=$((made + 1)); done
    done
}

# Whether $1 names a v1 tree this script makes: a cgroup mount, no `..`, our prefix.
is_our_v1_tree() {
    [[ "$1" =~ ^/sys/fs/cgroup/[a-z_,=]+(/.*)?/nstop-scale-[0-9]+$ && "$1" != *..* ]]
}

# Removes a v1 tree this script made (empty cgroups, deepest first). A path it does not
# recognise is left alone with a warning, so the rest of `stop` still runs.
remove_v1_tree() {
    is_our_v1_tree "$1" || { echo "populate.sh: not removing '$1' (not a tree this script makes)" >&2; return 0; }
    [ -d "$1" ] || return 0
    find "$1" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [ -d "$1" ] && echo "populate.sh: could not remove $1" >&2
    return 0
}

do_stop() {
    [ -f "$STATE" ] || { echo "populate.sh: nothing to stop (no $STATE)"; return 0; }
    local CG v1
    for v1 in $(sed -n 's/^v1cgroup=//p' "$STATE"); do remove_v1_tree "$v1"; done
    CG=$(sed -n 's/^cgroup=//p' "$STATE")
    # Refuse anything but a cgroup this script named: never touch other cgroups.
    [[ "$CG" =~ ^/sys/fs/cgroup(/unified)?(/.*)?/nstop-scale-[0-9]+$ && "$CG" != *..* ]] || die "refusing: bad cgroup '$CG' in $STATE"
    if [ -d "$CG" ]; then
        local pids
        pids=$(procs_in "$CG")
        # During a failed start a late group leader may still join; once its g<n> directory is
        # gone its own `echo > cgroup.procs` fails and it exits without spawning anything.
        empty_and_remove "$CG" || die "could not empty and remove $CG after 30 s"
        # Empty comes before the dead are reaped; wait (up to 10 s) until they have left /proc
        # too, so a benchmark run right after sees the host as it was.
        for _ in $(seq 100); do
            [ -z "$pids" ] || [ "$(cd /proc && ls -d $pids 2>/dev/null | wc -l)" = 0 ] && break
            sleep 0.1
        done
    fi
    rm -f "$STATE" "$LOG"
    echo "populate.sh: stopped; removed $CG"
}

# Namespace recipes, cycled over the groups: "outer unshare flags|nested unshare flags".
# Every type appears; some groups combine all 8 (container-like), some nest pid/user namespaces.
RECIPES=(
    "--pid --fork --mount-proc|"
    "--net|"
    "--uts --ipc|"
    "--cgroup|"
    "--time|"
    "--user --map-root-user|"
    "--mount|"
    "--user --map-root-user --pid --fork --mount-proc --net --uts --ipc --cgroup --time|"
    "--pid --fork --mount-proc|--pid --fork --mount-proc"
    "--user --map-root-user --net|--user --map-root-user --uts"
)

# Runs in each namespace group: spawn $1 `sleep` children, then become a sleep itself (it may be
# PID 1 of a new pid namespace, which must stay alive). dash forks are cheap; no bash per process.
LOOP='i=0; while [ "$i" -lt "$1" ]; do sleep infinity </dev/null & i=$((i+1)); done; exec sleep infinity'

# Globals, because the EXIT trap runs after do_start has returned.
ok=0 mounts_before="" leaders=()
on_exit() {
    if [ "$ok" != 1 ]; then
        echo "populate.sh: start failed, cleaning up" >&2
        [ -s "$LOG" ] && tail -5 "$LOG" >&2
        do_stop
    fi
    rm -f "$mounts_before"
}

do_start() {
    local N=${1:-5000} GS=${GROUP_SIZE:-12}
    [[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 50 ] || die "N must be an integer >= 50"
    [[ "$GS" =~ ^[0-9]+$ ]] && [ "$GS" -ge 4 ] || die "GROUP_SIZE must be an integer >= 4"
    [ "$(id -u)" = 0 ] || die "must run as root"
    [ -e "$STATE" ] && die "$STATE exists: already populated; run '$0 stop' first"

    local MNT SELF CG
    MNT=$(cgroup2_mount) || die "no cgroup2 hierarchy mounted at /sys/fs/cgroup/unified or /sys/fs/cgroup"
    SELF=$(sed -n 's/^0:://p' /proc/self/cgroup)
    CG="$MNT${SELF%/}/nstop-scale-$$"

    local t0 ns_before
    t0=$(date +%s.%N)
    mounts_before=$(mktemp)
    cut -d' ' -f5,9 /proc/self/mountinfo | sort >"$mounts_before"
    ns_before=$(lsns -n | wc -l)

    mkdir "$CG"
    printf 'cgroup=%s\n' "$CG" >"$STATE"          # written at once so `stop` works even mid-start
    trap on_exit EXIT
    trap 'exit 130' INT TERM

    local K=${CGROUPS:-0} ctrl own base
    [[ "$K" =~ ^[0-9]+$ ]] || die "CGROUPS must be a non-negative integer"
    if [ "$K" -gt 0 ]; then
        make_cgroup_tree "$CG/k" $((K / 4 + K % 4))
        for ctrl in memory pids cpu; do
            own=$(v1_own_cgroup "$ctrl") || die "no v1 $ctrl hierarchy for CGROUPS (a pure cgroup2 host: use cgroup2 only)"
            base="$own/nstop-scale-$$"
            is_our_v1_tree "$base" || die "v1 $ctrl hierarchy is not mounted under /sys/fs/cgroup: $base"
            printf 'v1cgroup=%s\n' "$base" >>"$STATE"
            make_cgroup_tree "$base" $((K / 4))
        done
    fi

    # Plan G groups whose sizes sum to exactly N; a group's own overhead is its leader chain
    # (1 + one waiting unshare parent per --fork).
    local G=$(( (N + GS - 1) / GS )) g size recipe outer inner forks k
    : >"$LOG"
    for ((g = 0; g < G; g++)); do
        size=$(( N / G + (g < N % G ? 1 : 0) ))
        recipe=${RECIPES[g % ${#RECIPES[@]}]}
        outer=${recipe%%|*}; inner=${recipe#*|}
        forks=$(grep -o -- --fork <<<"$outer $inner" | wc -l || true)
        k=$(( size - 1 - forks ))
        [ "$k" -ge 0 ] || die "group too small for recipe '$recipe'"
        mkdir "$CG/g$g"
        # The leader moves itself into its cgroup *before* unshare, so everything it spawns is inside.
        # setsid: detach from the caller's terminal/session so a hangup there doesn't kill the population.
        (
            echo "$BASHPID" >"$CG/g$g/cgroup.procs"
            if [ -n "$inner" ]; then
                # shellcheck disable=SC2086  # flags are meant to split
                exec setsid unshare $outer unshare $inner sh -c "$LOOP" sh "$k"
            else
                # shellcheck disable=SC2086
                exec setsid unshare $outer sh -c "$LOOP" sh "$k"
            fi
        ) </dev/null >/dev/null 2>>"$LOG" &
        leaders+=("$!")
        disown "$!"    # bash would otherwise report each group killed by a failed start's cleanup
    done
    printf 'leaders=%s\n' "${leaders[*]}" >>"$STATE"

    # Wait until all N processes exist. A leader that died (reaped or zombie) means unshare failed.
    local n=0 alive deadline=$(( $(date +%s) + 300 ))
    while :; do
        n=$(procs_in "$CG" | wc -w)
        [ "$n" -ge "$N" ] && break
        alive=$(cd /proc && { cat "${leaders[@]/%//stat}" 2>/dev/null || true; } | awk '$3 != "Z"' | wc -l)
        [ "$alive" -eq "$G" ] || die "$((G - alive)) of $G group leaders died (unshare errors below)"
        [ "$(date +%s)" -lt "$deadline" ] || die "timeout: only $n of $N processes after 300 s"
        sleep 0.2
    done
    local t1 ns_after mounts_note
    t1=$(date +%s.%N)

    # --mount-proc must not have leaked proc mounts into our (the host's) mount namespace.
    mounts_note="host mounts unchanged"
    local new_mounts
    new_mounts=$(cut -d' ' -f5,9 /proc/self/mountinfo | sort | comm -13 "$mounts_before" - || true)
    if [ -n "$new_mounts" ]; then
        mounts_note="WARNING new host mounts: $(tr '\n' ' ' <<<"$new_mounts")"
        grep -q ' proc$' <<<"$new_mounts" && die "proc mounts leaked to the host: $new_mounts"
    fi
    ns_after=$(lsns -n | wc -l)
    ok=1
    printf 'populate.sh: %d processes in %d groups (%s), %d namespaces on host (+%d), %.1f s, %s\n' \
        "$n" "$G" "$CG" "$ns_after" "$((ns_after - ns_before))" "$(awk "BEGIN{print $t1 - $t0}")" "$mounts_note"
}

case "${1:-}" in
    start) do_start "${2:-5000}" ;;
    stop) do_stop ;;
    *) echo "usage: $0 start [N] | stop" >&2; exit 2 ;;
esac
