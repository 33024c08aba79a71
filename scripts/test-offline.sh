#!/usr/bin/env bash
# Prove the offline install: a clean Debian (debootstrap minbase, no Python, no mosquitto)
# in a chroot with no network at all, the bundle installed with `setup.sh --offline`, then a
# simulated office run for a short while and its tickets checked.
#
#   scripts/test-offline.sh BUNDLE.tar [BASE_DIR]
#
# Root only (chroot, unshare). BASE_DIR is a debootstrap of the target release, made once with
#   debootstrap --variant=minbase bookworm BASE_DIR http://deb.debian.org/debian
# and never modified (a copy is used). Prints a JSON summary on its last line.
set -euo pipefail
BUNDLE=$(realpath "$1")
BASE=${2:-/var/tmp/motcua-chroot-base}
[ "$(id -u)" = 0 ] || { echo "test-offline: run as root" >&2; exit 2; }
[ -d "$BASE/usr" ] || { echo "test-offline: no base system in $BASE (see the header)" >&2; exit 2; }
ROOTFS=$(mktemp -d /var/tmp/motcua-offline-XXXX)
cleanup() {
  for m in dev/pts dev proc; do umount -l "$ROOTFS/$m" 2>/dev/null || true; done
  rm -rf "$ROOTFS"
}
trap cleanup EXIT
cp -a "$BASE/." "$ROOTFS/"
mount -t proc proc "$ROOTFS/proc"
mount --bind /dev "$ROOTFS/dev"
cp "$BUNDLE" "$ROOTFS/root/bundle.tar"
start=$(date +%s)
# unshare -n: a network namespace with nothing in it but a loopback, so any download fails.
unshare -n -- /bin/sh -c 'ip link set lo up && exec "$@"' sh chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  /bin/bash -euo pipefail -c '
    command -v python3 >/dev/null && { echo "base system already has python3" >&2; exit 1; }
    tar -xf /root/bundle.tar -C /opt motcua
    cd /opt/motcua
    scripts/setup.sh --offline /root/bundle.tar
    .venv/bin/motcua config check config/examples/ward.toml
    .venv/bin/python -c "import evdev, cv2, pygame, escpos, paho.mqtt, pyzbar.pyzbar; print(\"imports ok\")"
    timeout 120 .venv/bin/motcua run config/examples/ward.toml --simulate --no-view --duration 40 \
      --clock 2026-11-23T08:00x30 --data /root/office >/root/run.log 2>&1 || true
    ls /root/office/tickets | grep -c "\.png$" >/root/tickets.count || echo 0 >/root/tickets.count
  '
tickets=$(cat "$ROOTFS/root/tickets.count")
echo "test-offline: $tickets tickets printed by the simulated office in the chroot" >&2
[ "$tickets" -gt 0 ] || { tail -40 "$ROOTFS/root/run.log" >&2; exit 1; }
echo "{\"offline_install\": \"ok\", \"tickets_printed\": $tickets, \"seconds\": $(( $(date +%s) - start )), \"bundle_mb\": $(( $(stat -c %s "$BUNDLE") / 1048576 ))}"
