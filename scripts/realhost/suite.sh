#!/usr/bin/env bash
# Runs in the guest (scripts/realhost.sh): the host's compiled live test binaries listed in
# /lane/tests.txt, each as cargo test would (from the checkout), then one line counting them all.
set -u

# Tests make their cgroups beneath their own; a cgroup2 cgroup that holds processes cannot hand
# controllers to its children, so the suite runs in the root cgroup (exempt from that rule).
# systemd rewrites the root's cgroup.subtree_control to what its units use whenever it realizes
# one: a unit that weighs CPU and accounts the rest keeps cpu, io, memory and pids handed down
# (CPU accounting alone no longer enables the cpu controller).
echo $$ >/sys/fs/cgroup/cgroup.procs
systemctl set-property --runtime init.scope CPUWeight=100 IOAccounting=yes MemoryAccounting=yes TasksAccounting=yes

echo "host: $(uname -r), $(stat -f -c %T /sys/fs/cgroup) at /sys/fs/cgroup ($(cat /sys/fs/cgroup/cgroup.subtree_control))," \
  "init $(cat /proc/1/comm) $(systemctl --version | head -1 | cut -d' ' -f2), $(podman --version)"
grep -q ' - cgroup ' /proc/self/mountinfo && echo "not cgroup2-only: v1 hierarchies are mounted" && exit 1

passed=0 failed=0
while read -r name binary; do
  echo "== $name"
  log=$NSTOP_RESULTS/$name.log
  # Ignored tests are those that need this guest (podman under systemd on cgroup2).
  "$binary" --test-threads=2 --include-ignored >"$log" 2>&1
  code=$?
  cat "$log"
  # libtest's summary: "test result: ok. 5 passed; 0 failed; ..."
  summary=$(grep -E '^test result: ' "$log" | tail -1)
  if [ -z "$summary" ]; then
    echo "$name: no test summary (exit $code)"
    failed=$((failed + 1))
    continue
  fi
  p=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$summary")
  f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$summary")
  passed=$((passed + p)) failed=$((failed + f))
  [ "$code" = 0 ] || [ "$f" -gt 0 ] || failed=$((failed + 1))
done </lane/tests.txt
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
