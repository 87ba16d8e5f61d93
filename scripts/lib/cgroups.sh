# shellcheck shell=bash
# Sourced by the scripts that make cgroups of their own (populate.sh, churn.sh, screenshot.sh):
# where the hierarchies are, and how a tree the caller made is emptied and removed.

# The cgroup2 mount: /sys/fs/cgroup/unified on a hybrid host, /sys/fs/cgroup on a pure v2 host;
# fails when there is none.
cgroup2_mount() {
    local m
    for m in /sys/fs/cgroup/unified /sys/fs/cgroup; do
        if [ "$(stat -f -c %T "$m" 2>/dev/null)" = cgroup2fs ]; then echo "$m"; return 0; fi
    done
    return 1
}

# This process's cgroup in the v1 hierarchy with controller $1 (a mount of its whole tree: root
# field /), as a directory.
v1_own_cgroup() {
    local mnt own
    mnt=$(awk -v c="$1" '$0 ~ / - cgroup / && $4 == "/" { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $5 }' /proc/self/mountinfo | head -1)
    own=$(awk -F: -v c="$1" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $3 }' /proc/self/cgroup | head -1)
    [ -n "$mnt" ] && [ -n "$own" ] && echo "$mnt${own%/}"
}

# The PIDs anywhere in the cgroup tree $1, on one line.
procs_in() { { find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null || true; } | tr '\n' ' '; }

# Empties the cgroup tree $1 (cgroup.kill, race-free against forks; else SIGKILL to each PID
# listed in it) and removes it deepest first, retrying as a whole for 30 s: a process that was
# joining may arrive late. Fails if the tree is still there. Only for trees the caller made.
empty_and_remove() {
    local dir=$1 p _
    for _ in $(seq 300); do
        p=$(procs_in "$dir")
        if [ -n "${p// /}" ]; then
            if [ -e "$dir/cgroup.kill" ]; then
                echo 1 >"$dir/cgroup.kill"
            else
                for p in $p; do kill -KILL "$p" 2>/dev/null || true; done
            fi
        else
            find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
            [ -d "$dir" ] || return 0
        fi
        sleep 0.1
    done
    return 1
}
