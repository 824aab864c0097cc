#!/bin/sh
# Mounts the P2P VPS data volume at MOUNTPOINT. It formats the device only when it is empty:
# no signature that blkid knows and nothing but zeros in its first MiB. Anything else that is
# not a mountable file system stops the boot with an error instead of being formatted.
# Usage: p2pvps-mount-data DEVICE MOUNTPOINT   (P2PVPS_FSTAB overrides /etc/fstab, for tests)
set -eu

device=$1
mountpoint_dir=$2
label=p2pvps-data
wait_seconds=300
fstab=${P2PVPS_FSTAB:-/etc/fstab}

waited=0
while [ ! -b "$device" ]; do
  if [ "$waited" -ge "$wait_seconds" ]; then
    echo "p2pvps-mount-data: $device did not appear within ${wait_seconds}s" >&2
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
device=$(readlink -f "$device")

probe=0
blkid -p "$device" >/dev/null 2>&1 || probe=$?
case "$probe" in
  0) ;;
  2)
    if [ "$(head -c 1048576 "$device" | tr -d '\000' | head -c 1 | wc -c)" -ne 0 ]; then
      echo "p2pvps-mount-data: $device holds data blkid does not recognise; refusing to format" >&2
      exit 1
    fi
    echo "p2pvps-mount-data: $device is blank, creating an ext4 file system"
    mkfs.ext4 -q -L "$label" "$device"
    ;;
  *)
    echo "p2pvps-mount-data: blkid could not probe $device (exit $probe); refusing to format" >&2
    exit 1
    ;;
esac

uuid=$(blkid -s UUID -o value "$device")
if [ -z "$uuid" ]; then
  echo "p2pvps-mount-data: $device holds no file system with a UUID (a partition table?); mount it by hand" >&2
  exit 1
fi

mkdir -p "$mountpoint_dir"
if ! grep -q "^UUID=$uuid " "$fstab"; then
  printf 'UUID=%s %s ext4 defaults,nofail,discard 0 2\n' "$uuid" "$mountpoint_dir" >> "$fstab"
fi
if ! mountpoint -q "$mountpoint_dir"; then
  mount --fstab "$fstab" "$mountpoint_dir"
fi
echo "p2pvps-mount-data: $device mounted at $mountpoint_dir"
