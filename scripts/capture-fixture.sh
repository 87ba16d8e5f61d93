#!/usr/bin/env bash
# Copy the parts of /proc that nstop reads, for a list of real processes, into a
# fixture tree laid out like `/` (OUTDIR/proc/<PID>/...).
#
# Usage: scripts/capture-fixture.sh [options] OUTDIR PID...
#
#   -m PID   also copy /proc/PID/mountinfo (repeatable; PID must be in the PID list)
#   -M       copy mountinfo for every captured PID
#   -s PID   create OUTDIR/proc/self as a relative symlink to PID
#   -p       write OUTDIR/etc/passwd: the real /etc/passwd lines of root, nobody and
#            of every real/effective UID found in the captured status files
#   -t       capture task/<TID>/ for every process (default: only multi-threaded ones)
#
# For every PID this copies, byte for byte:
#   proc/PID/{stat,status,cmdline,comm}      (cmdline keeps its NULs)
#   proc/PID/ns/<name>   -> symlink whose target is the exact readlink text,
#                           e.g. "net:[4026531833]"
#   proc/PID/fd/<N>      -> symlink with the exact readlink text of every open fd
#                           ("/dev/null", "pipe:[123]", "net:[4026532300]", ...)
#   proc/PID/task/<TID>/{stat,status,comm} and task/<TID>/ns/<name> symlinks,
#                           for multi-threaded processes (all threads, main one too)
#
# It only reads /proc; it never signals or changes the processes it captures.
# The files are read one after the other, so a capture is not an atomic snapshot:
# capture processes that are idle (sleeping), and check the result.
set -euo pipefail

NS_NAMES=(cgroup ipc mnt net pid pid_for_children time time_for_children user uts)

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

is_pid() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

mountinfo_pids=()
all_mountinfo=0
self_pid=""
want_passwd=0
all_tasks=0
while getopts ":m:Ms:pth" opt; do
    case $opt in
        m) is_pid "$OPTARG" || { echo "bad PID for -m: $OPTARG" >&2; exit 2; }
           mountinfo_pids+=("$OPTARG") ;;
        M) all_mountinfo=1 ;;
        s) is_pid "$OPTARG" || { echo "bad PID for -s: $OPTARG" >&2; exit 2; }
           self_pid=$OPTARG ;;
        p) want_passwd=1 ;;
        t) all_tasks=1 ;;
        h) usage ;;
        *) echo "unknown option -$OPTARG" >&2; usage ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -ge 2 ]] || usage
out=$1
shift
[[ -n $out ]] || usage
pids=("$@")
for p in "${pids[@]}"; do
    is_pid "$p" || { echo "bad PID: $p" >&2; exit 2; }
    [[ -d /proc/$p ]] || { echo "no such process: $p" >&2; exit 1; }
done
in_list() {
    local x=$1
    shift
    local y
    for y in "$@"; do [[ $x == "$y" ]] && return 0; done
    return 1
}
for p in "${mountinfo_pids[@]}" ${self_pid:+"$self_pid"}; do
    in_list "$p" "${pids[@]}" || { echo "PID $p (for -m/-s) is not in the PID list" >&2; exit 2; }
done

mkdir -p "$out/proc"

# copy_file SRC DST: byte-exact copy of a /proc file (cat, since /proc sizes are 0).
copy_file() {
    cat -- "$1" > "$2"
}

# copy_links SRCDIR DSTDIR [NAMES...]: recreate symlinks with the exact readlink text.
# Without NAMES, every entry of SRCDIR is copied (used for fd/).
copy_links() {
    local src=$1 dst=$2
    shift 2
    local names=("$@") n target
    if [[ ${#names[@]} -eq 0 ]]; then
        # fd/ entries, in numeric order
        mapfile -t names < <(ls -1 -- "$src" | sort -n)
    fi
    mkdir -p "$dst"
    for n in "${names[@]}"; do
        [[ -n $n ]] || continue
        if target=$(readlink -- "$src/$n" 2>/dev/null); then
            ln -s -- "$target" "$dst/$n"
        elif [[ -e $src/$n || -L $src/$n ]]; then
            echo "warning: cannot read link $src/$n" >&2
        fi
    done
}

capture_task_like() { # SRC DST: stat/status/comm + ns links
    local src=$1 dst=$2 f
    mkdir -p "$dst"
    for f in stat status comm; do
        copy_file "$src/$f" "$dst/$f"
    done
    copy_links "$src/ns" "$dst/ns" "${NS_NAMES[@]}"
}

for p in "${pids[@]}"; do
    dst="$out/proc/$p"
    rm -rf -- "$dst"
    capture_task_like "/proc/$p" "$dst"
    copy_file "/proc/$p/cmdline" "$dst/cmdline"
    copy_links "/proc/$p/fd" "$dst/fd"
    if [[ $all_mountinfo -eq 1 ]] || in_list "$p" "${mountinfo_pids[@]}"; then
        copy_file "/proc/$p/mountinfo" "$dst/mountinfo"
    fi
    mapfile -t tids < <(ls -1 "/proc/$p/task" | sort -n)
    if [[ $all_tasks -eq 1 || ${#tids[@]} -gt 1 ]]; then
        for t in "${tids[@]}"; do
            capture_task_like "/proc/$p/task/$t" "$dst/task/$t"
        done
    fi
done

if [[ -n $self_pid ]]; then
    rm -f -- "$out/proc/self"
    ln -s -- "$self_pid" "$out/proc/self"
fi

if [[ $want_passwd -eq 1 ]]; then
    mkdir -p "$out/etc"
    uids=$( {
        echo 0
        echo 65534
        for p in "${pids[@]}"; do
            awk '/^Uid:/ { print $2; print $3 }' "$out/proc/$p/status"
        done
    } | sort -un)
    awk -F: -v list="$(echo $uids)" '
        BEGIN { n = split(list, u, " "); for (i = 1; i <= n; i++) want[u[i]] = 1 }
        ($3 in want) && !seen[$3]++ { print }
    ' /etc/passwd > "$out/etc/passwd"
fi

echo "captured ${#pids[@]} processes into $out" >&2
