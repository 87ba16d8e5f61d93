#!/usr/bin/env bash
# The real-host guest image: Debian 12 (kernel 6.1, systemd, podman + crun) that boots
# cgroup2-only. Usage: scripts/realhost/image.sh OUTDIR  (root; writes OUTDIR/{vmlinuz,initrd.img,root.img})
#
# scripts/realhost.sh keys its cache on the hash of this file and guest-boot.sh: any change here
# builds a new image. What each run does in the guest comes through the shared folder, not the image.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# debootstrap resolves no virtual packages: podman's network backend (netavark), runtime (crun),
# monitor (conmon) and init (catatonit) are named. docker.io brings dockerd, containerd and runc;
# the kernel has AppArmor on, so dockerd needs apparmor_parser for its default profile.
packages=(
  systemd systemd-sysv udev dbus kmod linux-image-amd64 initramfs-tools
  podman crun conmon netavark catatonit golang-github-containers-common
  docker.io containerd runc tini iptables apparmor
  iproute2 util-linux procps python3 tmux busybox-static
  man-db bash-completion
)

root=$(mktemp -d "${out%/}.rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" bookworm "$root" "$mirror"

echo nstop-guest >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 nstop-guest\n' >"$root/etc/hosts"
printf '/dev/vda / ext4 rw,relatime 0 1\n' >"$root/etc/fstab"
chroot "$root" passwd -d root >/dev/null
# The journal in memory, and nothing that wakes up to fetch or scrub during a run.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/volatile.conf"
# dockerd without networking of its own (containers run with --network none; no bridge to set up).
mkdir -p "$root/etc/docker"
printf '{"bridge": "none", "iptables": false, "ip6tables": false}\n' >"$root/etc/docker/daemon.json"
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
            podman-auto-update.timer podman-restart.service getty@tty1.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

install -m 0755 "$here/guest-boot.sh" "$root/usr/local/sbin/nstop-guest-boot"
cat >"$root/etc/systemd/system/nstop-guest-boot.service" <<'UNIT'
[Unit]
Description=Run the nstop real-host lane from the shared folder, then power off
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/nstop-guest-boot
StandardOutput=journal+console
StandardError=journal+console
UNIT
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf ../nstop-guest-boot.service "$root/etc/systemd/system/multi-user.target.wants/nstop-guest-boot.service"

ls "$root"/boot/initrd.img-* >/dev/null 2>&1 || chroot "$root" update-initramfs -c -k all
mkdir -p "$out"
cp "$(ls "$root"/boot/vmlinuz-* | head -1)" "$out/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | head -1)" "$out/initrd.img"
rm -rf "$root"/var/cache/apt/archives/*.deb
# An ext4 image made from the tree, no loop device needed; 4 GiB sparse leaves room for containers.
mkfs.ext4 -q -F -L nstop-root -d "$root" "$out/root.img" 4G
