#!/usr/bin/env bash
# Screenshots of the nstop explorer for the README, as PNGs in screenshots/.
#
# Usage: scripts/screenshot.sh          (from anywhere; as root on a live host)
#
#   NSTOP=path/to/nstop   the binary to run (default: target/release/nstop)
#   OUT_DIR=dir           where the PNGs go (default: screenshots/)
#   SCALE=2               device scale factor of the PNGs (2: crisp text)
#
# It runs nstop in a 120x40 pane of a tmux server of its own (socket
# nstop-shots-PID), drives it with keys, and for every shot turns the pane's
# contents (`tmux capture-pane -p -e -N`) into HTML with scripts/ansi2html.py and
# the HTML into a PNG with headless Chromium. Makes screenshots/namespaces.png and
# screenshots/cgroups.png.
#
# Missing tools are installed with apt-get: tmux, chromium, fonts-dejavu-core.
#
# It only signals processes it started: nstop (with `q`), and its own tmux server
# (kill-server on exit, which hangs up the shell in its pane). Chromium runs under
# `timeout`, with a throw-away profile that is removed after each shot.
#
# The functions can be sourced from another script (`. scripts/screenshot.sh`):
# start_tmux, keys, wait_for, settle, capture, stop_tmux; main runs only when the
# file is executed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOCK=nstop-shots-$$
COLS=${COLS:-120}
ROWS=${ROWS:-40}
OUT_DIR=${OUT_DIR:-$ROOT/screenshots}
NSTOP=${NSTOP:-$ROOT/target/release/nstop}
SCALE=${SCALE:-2}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-20}
# The page's font metrics; ansi2html.py gets the same numbers. DejaVu Sans Mono's
# advance is 1233/2048 em; a line height up to its ascent+descent (2384/2048 em,
# 17.46 px at 15 px) lets box-drawing lines join.
FONT_PX=15
LINE_PX=17
PAD_PX=12
WORK=
SOCK_PATH=

log() { printf 'screenshot: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# Install what is missing (Debian packages), as root.
ensure_deps() {
    local pkgs=()
    command -v python3 >/dev/null || pkgs+=(python3)
    command -v tmux >/dev/null || pkgs+=(tmux)
    command -v chromium >/dev/null || pkgs+=(chromium)
    if ! { command -v fc-list >/dev/null && fc-list | grep -qi 'DejaVu Sans Mono'; }; then
        pkgs+=(fonts-dejavu-core fontconfig)
    fi
    [[ ${#pkgs[@]} -eq 0 ]] && return 0
    [[ $(id -u) -eq 0 ]] || die "missing ${pkgs[*]}: install them (apt-get install ${pkgs[*]})"
    log "installing ${pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
}

# tmux on our own socket, always on the one pane "main".
t() { tmux -L "$SOCK" "$@"; }

start_tmux() {
    ! t has-session 2>/dev/null || die "a tmux server on socket $SOCK exists already"
    t -f /dev/null new-session -d -s main -x "$COLS" -y "$ROWS" \
        "env -u NO_COLOR TERM=tmux-256color bash --norc --noprofile" \; \
        set-option -g status off \; set-option -g remain-on-exit on
    SOCK_PATH=$(t display-message -p '#{socket_path}')
    local size
    size=$(t display-message -p -t main '#{pane_width}x#{pane_height}')
    [[ $size == "${COLS}x${ROWS}" ]] || die "tmux pane is $size, wanted ${COLS}x${ROWS}"
}

# Ends our tmux server (and so the shell in its pane) and removes its socket file,
# which tmux 3.3 leaves behind.
stop_tmux() {
    t kill-server 2>/dev/null || true
    if [[ -n $SOCK_PATH ]] && ! t has-session 2>/dev/null; then
        rm -f "$SOCK_PATH"
    fi
}

# keys KEY...: tmux send-keys to the pane (tmux key names: Enter, Down, C-c, ...).
keys() { t send-keys -t main "$@"; }

# The pane as plain text, or with escapes and trailing cells (-e -N).
screen() { t capture-pane -p -t main "$@"; }

# wait_for [-E] TEXT: wait until TEXT (a fixed string; with -E an extended regex,
# matched per line) is on the screen. Fails after WAIT_TIMEOUT s, printing the screen.
wait_for() {
    local mode=-F
    if [[ $1 == -E ]]; then mode=-E; shift; fi
    local want=$1 deadline=$((SECONDS + WAIT_TIMEOUT))
    until screen | grep -q "$mode" -- "$want"; do
        if ((SECONDS >= deadline)); then
            log "timed out after ${WAIT_TIMEOUT}s waiting for '$want'; the screen:"
            screen >&2
            return 1
        fi
        sleep 0.2
    done
}

# settle [SECONDS]: let nstop take a few more samples (rates need two).
settle() { sleep "${1:-2.5}"; }

# capture NAME: the pane as it is now -> $OUT_DIR/NAME.png (and nothing else).
capture() {
    local name=$1 dump html png profile w h rc=0
    dump=$WORK/$name.ans
    html=$WORK/$name.html
    png=$OUT_DIR/$name.png
    mkdir -p "$OUT_DIR"
    screen -e -N >"$dump"
    python3 "$ROOT/scripts/ansi2html.py" --title "nstop: $name" --cols "$COLS" --rows "$ROWS" \
        --font-size "$FONT_PX" --line-height "$LINE_PX" --padding "$PAD_PX" \
        -o "$html" "$dump"
    # The page is cols x rows cells plus the padding; round the width up.
    w=$(((COLS * FONT_PX * 1233 + 2047) / 2048 + 2 * PAD_PX))
    h=$((ROWS * LINE_PX + 2 * PAD_PX))
    profile=$(mktemp -d "$WORK/chromium.XXXXXX")
    rm -f "$png"
    timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --hide-scrollbars --force-device-scale-factor="$SCALE" \
        --window-size="$w,$h" --screenshot="$png" "file://$html" \
        >"$WORK/chromium.log" 2>&1 || rc=$?
    rm -rf "$profile"
    if [[ $rc -ne 0 || ! -s $png ]]; then
        cat "$WORK/chromium.log" >&2
        die "chromium failed (status $rc) for $name"
    fi
    log "$png ($((w * SCALE))x$((h * SCALE)), $(($(stat -c %s "$png") / 1024)) KiB)"
}

# What the shots show, made beneath this script's own cgroups and ended by PID at exit:
# a v1 memory cgroup (64 MiB limit) plus a cgroup2 cgroup for PSI, with a shell that
# reads a 96 MiB file over and over in them (page-cache thrashing: memory pressure,
# no OOM); and three nested pid namespaces with a few sleeps at each level.
DEMO=nstop-shot-$$
NESTED_TAG=$((700 + $$ % 100)).$$
DEMO_DIRS=()
DEMO_PIDS=()
BIG=

# This script's cgroup in the v1 hierarchy with controller $1 (co-mounted ones too), or in
# cgroup2 for "".
own_cgroup() {
    awk -F: -v c="$1" '
        c == "" && $1 == "0" { print $3 }
        c != "" && $1 != "0" { n = split($2, cs, ","); for (i = 1; i <= n; i++) if (cs[i] == c) print $3 }
    ' /proc/self/cgroup
}

# mkdir beneath our own cgroup $2 of the cgroup filesystem at $1 (of type $3), or fail:
# nothing is made anywhere else, nor reused.
make_cgroup() {
    local mount=$1 own=$2 type=$3 dir
    [[ -n $own ]] || die "no own cgroup under $mount"
    dir=$mount${own%/}/$DEMO
    [[ $(stat -f -c %T "$mount$own") == "$type" ]] || die "$mount$own is not a $type directory"
    mkdir "$dir" || die "cannot make $dir"
    DEMO_DIRS+=("$dir")
}

# shellcheck source=scripts/lib/cgroups.sh
. "$(dirname "$0")/lib/cgroups.sh"

start_demo() {
    local v1 v2 v2mount
    v2mount=$(cgroup2_mount) || die "no cgroup2 mount: the pressure shot needs PSI"
    [[ -d /sys/fs/cgroup/memory ]] || die "no v1 memory hierarchy at /sys/fs/cgroup/memory"
    # Made in the parent shell (not in $(...)), so DEMO_DIRS records them for cleanup.
    make_cgroup /sys/fs/cgroup/memory "$(own_cgroup memory)" cgroupfs
    v1=${DEMO_DIRS[-1]}
    make_cgroup "$v2mount" "$(own_cgroup "")" cgroup2fs
    v2=${DEMO_DIRS[-1]}
    echo $((64 << 20)) >"$v1/memory.limit_in_bytes"
    # A working set half again the limit, on disk (target/, not a tmpfs /tmp) and written
    # past the page cache, so reading it charges the cache to the demo cgroup.
    BIG=$ROOT/target/nstop-shot-$$.data
    dd if=/dev/urandom of="$BIG" bs=1M count=96 oflag=direct status=none
    # The shell moves itself in before it starts reading, so every cat is in too.
    setsid bash -c 'echo $$ > "$1/cgroup.procs"; echo $$ > "$2/cgroup.procs";
        while :; do cat "$3" > /dev/null; done' thrash "$v1" "$v2" "$BIG" &
    DEMO_PIDS+=($!)
    # Nested pid namespaces; --kill-child ends each level with the one above.
    local n=unshare\ --pid\ --fork\ --kill-child
    setsid $n bash -c "sleep $NESTED_TAG & $n bash -c 'sleep $NESTED_TAG & $n bash -c \"sleep $NESTED_TAG & sleep $NESTED_TAG\"'" &
    DEMO_PIDS+=($!)
}

stop_demo() {
    local pid dir
    # Each demo leader is a session leader (setsid): its group is ours to end; the leader
    # itself too, in case it had not called setsid yet; then whatever is left in the
    # cgroups we made.
    for pid in "${DEMO_PIDS[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
    done
    for dir in "${DEMO_DIRS[@]}"; do
        while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$dir/cgroup.procs"
    done
    for pid in "${DEMO_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    [[ -n $BIG ]] && rm -f "$BIG"
    for dir in "${DEMO_DIRS[@]}"; do
        local tries=50
        until rmdir "$dir" 2>/dev/null; do
            ((--tries > 0)) || { log "could not remove $dir"; break; }
            sleep 0.1
        done
    done
}

cleanup() {
    stop_demo
    stop_tmux
    [[ -n $WORK ]] && rm -rf "$WORK"
    return 0
}

main() {
    ensure_deps
    [[ -x $NSTOP ]] || die "$NSTOP not found: build it first (cargo build --release)"
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/nstop-shots.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
    log "chromium: $(chromium --version 2>/dev/null)"

    start_demo
    start_tmux
    keys -l "exec $(printf '%q' "$NSTOP")"
    keys Enter

    # 1 Namespaces: the title line (under the tabs) starts with the screen's name.
    wait_for -E '^Namespaces .*[0-9]+ rows'
    settle
    capture namespaces

    # 2 Cgroups
    keys 2
    wait_for -E '^Cgroups .*[0-9]+ rows'
    settle 1
    capture cgroups

    # A cgroup under memory pressure, its detail with the charts filled for a while.
    # Search finds the cgroup2 twin first (cgroup2 is listed first), n the v1 memory one.
    keys /
    keys -l "$DEMO"
    keys Enter n d
    wait_for -E "^memory:.*$DEMO"
    settle "${PRESSURE_SECONDS:-40}"
    capture cgroup-pressure
    keys Escape

    # The PID-namespace teaching view on the innermost process of the nested namespaces:
    # Processes, only the demo's, as a tree; the last row is the innermost sleep.
    keys 3 '\'
    keys -l "$NESTED_TAG"
    keys Enter t
    # A tree's rows (the title may be full with a kill elsewhere on the host).
    wait_for -E ' ▾ '
    keys G P
    wait_for -E '^PID namespaces: '
    settle 1
    capture pid-namespaces
    keys Escape

    # The Pressure screen with its charts, after all that.
    keys 4
    wait_for -E '^Pressure .*[0-9]+ rows'
    capture pressure

    keys q
    # nstop was exec'd by the pane's shell: the pane is dead once it has exited
    # (remain-on-exit keeps it, so that a crash stays on the screen for wait_for).
    local deadline=$((SECONDS + 10))
    until [[ $(t display-message -p -t main '#{pane_dead}') == 1 ]]; do
        ((SECONDS < deadline)) || die "nstop did not quit on q"
        sleep 0.2
    done
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
