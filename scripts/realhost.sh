#!/usr/bin/env bash
# The real-host lane: the project's fresh build on a cgroup2-only systemd host with podman, a
# Debian 12 guest (kernel 6.1) booted in qemu.
#
#   scripts/realhost.sh               # the live test suite in the guest (scripts/realhost/suite.sh)
#   scripts/realhost.sh --run FILE    # any script of yours in the guest, nstop on its PATH
#
# Options: --out DIR (where the guest's $NSTOP_RESULTS is copied; default target/realhost),
# --no-build (use the binaries already in target/). Root: it installs qemu-system-x86 and
# debootstrap when missing, builds the image once into /var/cache/nstop-realhost/<recipe hash>/
# (REALHOST_CACHE to move it), and boots it with the disk as a throwaway snapshot, so no run
# changes the cached image. Env: REALHOST_MINUTES (default 60) ends a guest that runs longer;
# REALHOST_TESTS (a regex, default every root-only live binary) picks the suite's test binaries;
# CI is passed on. Exits with the guest script's status (a guest that did not finish: 1;
# bad arguments: 2).
#
# In the guest: the checkout is mounted read-only at its path here (the test binaries know their
# paths), `nstop` (release) is on PATH, the script runs as root from the checkout with HOME=/root,
# and writes what the host should keep into $NSTOP_RESULTS.
#
# Safety: the VM is this script's own: it is stopped by its PID; its folder under /var/tmp is
# removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
project=$(pwd)
die() { echo "realhost.sh: $*" >&2; exit 2; }

script=scripts/realhost/suite.sh out=target/realhost build=1
while [ $# -gt 0 ]; do
  case $1 in
    --run) [ $# -ge 2 ] || die "--run needs a FILE"; script=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a DIR"; out=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (accepted: --run FILE, --out DIR, --no-build)" ;;
  esac
done
[ -f "$script" ] && [ -r "$script" ] || die "no readable script '$script'"
minutes=${REALHOST_MINUTES:-60}
tests=${REALHOST_TESTS:-live_.*|tui_e2e|lsns_compat|nonroot|record}
[[ $minutes =~ ^[1-9][0-9]*$ ]] || die "REALHOST_MINUTES must be a whole number of minutes, not '$minutes'"
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, qemu's shared folders; CAP_SYS_ADMIN)"

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The image, built once per recipe; a lock keeps two runs from building it at once.
cache_root=${REALHOST_CACHE:-/var/cache/nstop-realhost}
recipe=$(cat scripts/realhost/image.sh scripts/realhost/guest-boot.sh | sha256sum | cut -c1-16)
image=$cache_root/$recipe
mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9
if [ ! -f "$image/complete" ]; then
  echo "realhost: building the guest image $image (once; about 3 minutes)" >&2
  started=$SECONDS
  # Twice at most: a mirror's passing failure should not fail the lane.
  for try in 1 2; do
    rm -rf "$image.partial"
    scripts/realhost/image.sh "$image.partial" >"$cache_root/build-$recipe.log" 2>&1 && break
    tail -20 "$cache_root/build-$recipe.log" >&2
    echo "realhost: image build failed (try $try of 2)" >&2
    [ "$try" = 2 ] && exit 1
  done
  touch "$image.partial/complete"
  rm -rf "$image"
  mv "$image.partial" "$image"
  echo "realhost: image built in $((SECONDS - started)) s" >&2
fi
flock -u 9

if [ "$build" = 1 ]; then
  cargo build --release --quiet
  # The package live_package installs in the guest.
  scripts/package.sh --no-build >/dev/null
fi
lane=$(mktemp -d /var/tmp/nstop-realhost.XXXXXX)
qemu_pid=
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then kill -KILL "$qemu_pid" 2>/dev/null || true; fi
  rm -rf "$lane"
}
trap cleanup EXIT
mkdir -p "$lane/bin" "$lane/results"
cp target/release/nstop "$lane/bin/nstop"
cp "$script" "$lane/script"
# The suite's test binaries (REALHOST_TESTS: a regex of their names), as cargo built them (their
# paths hold in the guest: same mount point).
if [ "$script" = scripts/realhost/suite.sh ]; then
  [ "$build" = 0 ] || cargo test --no-run --quiet 2>/dev/null
  cargo test --no-run --message-format=json 2>/dev/null | python3 -c '
import json, re, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "test" in m["target"]["kind"]:
        name = m["target"]["name"]
        if re.fullmatch(sys.argv[1], name):
            print(name, m["executable"])' "$tests" | sort >"$lane/tests.txt"
fi
cat >"$lane/run.sh" <<RUN
mkdir -p '$project'
mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048576,ro project '$project' || exit 97
export PATH=/lane/bin:\$PATH HOME=/root NSTOP_RESULTS=/lane/results NSTOP_REALHOST=1 ${CI:+CI=$CI}
cd '$project' && exec bash /lane/script
RUN

append="root=/dev/vda rw console=ttyS0 quiet systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all"
append+=" systemd.show_status=0 panic=-1"
# Services that would only compete for the emulated CPUs: the podman API and its auto-update.
append+=" systemd.mask=podman.socket systemd.mask=podman.service systemd.mask=podman-auto-update.service"
started=$SECONDS
# TCG: this machine's /dev/kvm cannot boot a stock kernel.
qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 4096 \
  -kernel "$image/vmlinuz" -initrd "$image/initrd.img" -append "$append" \
  -drive "file=$image/root.img,format=raw,if=virtio,snapshot=on" \
  -virtfs "local,path=$lane,mount_tag=lane,security_model=none,id=lane" \
  -virtfs "local,path=$project,mount_tag=project,security_model=none,readonly=on,id=project" \
  -nic none -display none -monitor none -serial "file:$lane/console.log" -no-reboot &
qemu_pid=$!
echo "realhost: guest booting (qemu PID $qemu_pid, TCG)" >&2
touch "$lane/output"
tail -n +1 -F --pid="$qemu_pid" "$lane/output" 2>/dev/null &
tail_pid=$!
for _ in $(seq $((minutes * 60))); do
  kill -0 "$qemu_pid" 2>/dev/null || break
  sleep 1
done
if kill -0 "$qemu_pid" 2>/dev/null; then
  echo "realhost: the guest ran over ${minutes} minutes: stopped" >&2
  kill -KILL "$qemu_pid"
fi
wait "$qemu_pid" 2>/dev/null || true
wait "$tail_pid" 2>/dev/null || true
qemu_pid=
mkdir -p "$out"
cp -r "$lane/results/." "$out/"
cp "$lane/console.log" "$out/console.log"
if [ ! -s "$lane/status" ]; then
  echo "realhost: the guest did not finish its script; the console's last lines:" >&2
  tail -30 "$lane/console.log" >&2
  exit 1
fi
status=$(cat "$lane/status")
echo "realhost: guest done in $((SECONDS - started)) s, status $status" >&2
# The guest's count of what ran, once more as the last line.
grep -E '^[0-9]+ passed, [0-9]+ failed$' "$lane/output" | tail -1 || true
exit "$status"
