#!/bin/sh
# Mounts the P2P VPS data volume at MOUNTPOINT. It formats the device only when it was read
# successfully and is blank: its first and last MiB read in full (direct I/O, no cache), both are
# nothing but zeros, blkid finds no signature, and it is still the same device (numbers, size and
# disk sequence number) after these checks. Anything else that is not a mountable file system ends
# the script with exit 1 and a "p2pvps-mount-data: ..." line on stderr, which cloud-init writes to
# /var/log/cloud-init-output.log; the boot's runcmd stops there and the readiness gate shows the line.
# Usage: p2pvps-mount-data DEVICE MOUNTPOINT   (P2PVPS_FSTAB overrides /etc/fstab, for tests)
set -eu

device=$1
mountpoint_dir=$2
label=p2pvps-data
wait_seconds=300
fstab=${P2PVPS_FSTAB:-/etc/fstab}
mib=1048576

die() {
  echo "p2pvps-mount-data: $*" >&2
  exit 1
}

# "MAJOR:MINOR SECTORS DISKSEQ" of the device node as the kernel has it now. The disk sequence
# number changes whenever other media or another backing file takes the device's place.
identity() {
  numbers=$(mountpoint -x "$device") || return 1
  sectors=$(cat "/sys/dev/block/$numbers/size" 2>/dev/null) || return 1
  sequence=$(cat "/sys/dev/block/$numbers/diskseq" 2>/dev/null) || sequence=none
  echo "$numbers $sectors $sequence"
}

# Copies one MiB of the device from byte OFFSET to the file NAME, or stops the boot saying why.
read_mib() {
  if ! dd if="$device" of="$work/$2" bs="$mib" count=1 skip="$1" iflag=direct,fullblock,skip_bytes \
    status=none 2>"$work/dd.err"; then
    die "could not read the $2 MiB of $device ($(head -n 1 "$work/dd.err")); refusing to format"
  fi
  got=$(wc -c <"$work/$2")
  [ "$got" -eq "$mib" ] || die "read only $got of $mib bytes of the $2 MiB of $device; refusing to format"
}

waited=0
while [ ! -b "$device" ]; do
  if [ "$waited" -ge "$wait_seconds" ]; then
    die "$device did not appear within ${wait_seconds}s"
  fi
  sleep 1
  waited=$((waited + 1))
done
device=$(readlink -f "$device")

before=$(identity) || die "the kernel has no block device behind $device (it vanished, or its driver is missing); refusing to format"
sectors=${before#* }
size=$((${sectors%% *} * 512))
if [ "$size" -lt $((2 * mib)) ]; then
  die "$device reports $size bytes: not attached yet, or not the data volume; refusing to format"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read_mib 0 first
read_mib $((size - mib)) last

probe=0
blkid -p "$device" >/dev/null 2>&1 || probe=$?
case "$probe" in
  0) ;;
  2)
    for region in first last; do
      if ! cmp -s -n "$mib" "$work/$region" /dev/zero; then
        die "$device holds data blkid does not recognise (in its $region MiB); refusing to format"
      fi
    done
    after=$(identity) || after="gone"
    if [ "$after" != "$before" ]; then
      die "$device changed while it was checked ($before, now $after); refusing to format"
    fi
    echo "p2pvps-mount-data: $device is blank, creating an ext4 file system"
    mkfs.ext4 -q -L "$label" "$device"
    ;;
  *)
    die "blkid could not probe $device (exit $probe); refusing to format"
    ;;
esac

uuid=$(blkid -s UUID -o value "$device")
if [ -z "$uuid" ]; then
  die "$device holds no file system with a UUID (a partition table?); mount it by hand"
fi

mkdir -p "$mountpoint_dir"
if ! grep -q "^UUID=$uuid " "$fstab"; then
  printf 'UUID=%s %s ext4 defaults,nofail,discard 0 2\n' "$uuid" "$mountpoint_dir" >> "$fstab"
fi
if ! mountpoint -q "$mountpoint_dir"; then
  mount --fstab "$fstab" "$mountpoint_dir"
fi
echo "p2pvps-mount-data: $device mounted at $mountpoint_dir"
