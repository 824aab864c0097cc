# shellcheck shell=sh
# The host's configuration, applied over SSH as root after the readiness gate, on every change.
# The program appends one `put PATH MODE OWNER` per file (content on standard input), `grow_data`
# and `apply`.
# Idempotent: a file is replaced only when its content, mode or owner differs, and a service is
# reloaded only when one of its files was replaced. P2PVPS_ROOT prefixes every path (tests).
set -eu
root="${P2PVPS_ROOT:-}"
changed=""

# put PATH MODE OWNER: standard input becomes the file PATH, owned by OWNER and its login group.
put() {
  target="$root$1"
  dir=${target%/*}
  [ -d "$dir" ] || install -d -m 0755 "$dir"
  staged=$(mktemp "$dir/.p2pvps.XXXXXX")
  cat >"$staged"
  chmod "$2" "$staged"
  chown "$3:" "$staged"
  if [ -f "$target" ] && cmp -s "$staged" "$target" && [ "$(stat -c %a:%U "$target")" = "${2#0}:$3" ]; then
    rm -f "$staged"
    return
  fi
  [ ! -f "$target" ] || cp -p "$target" "$target.p2pvps-previous"
  mv -f "$staged" "$target"
  changed="$changed $1"
}

# directory PATH MODE OWNER: PATH exists with that mode and owner.
directory() {
  install -d -m "$2" -o "$3" -g "$(id -gn "$3")" "$root$1"
}

# touched PREFIX: whether this run replaced a file under PREFIX.
touched() {
  for path in $changed; do
    case $path in "$1"*) return 0 ;; esac
  done
  return 1
}

# Puts back every file this run replaced, so a refused configuration is never left for the next boot.
roll_back() {
  for path in $changed; do
    if [ -f "$root$path.p2pvps-previous" ]; then
      mv -f "$root$path.p2pvps-previous" "$root$path"
    else
      rm -f "$root$path"
    fi
  done
}

# grow_data DEVICE DIR GB: the data volume's ext4 filesystem, mounted at DIR, fills the volume the
# cloud has grown to GB; online, and nothing to do when it already does.
grow_data() {
  device=$(readlink -f "$1")
  mounted=$(findmnt -n -o SOURCE --mountpoint "$root$2") || mounted=""
  if [ "$mounted" != "$device" ]; then
    echo "p2pvps: $device is not what is mounted at $2 (${mounted:-nothing}); the data volume is not grown" >&2
    exit 1
  fi
  if ! output=$(resize2fs "$device" 2>&1); then
    printf 'p2pvps: could not grow the filesystem of %s to the volume'"'"'s %s GB:\n%s\n' "$device" "$3" "$output" >&2
    exit 1
  fi
}

apply() {
  if touched /etc/ssh/ && ! sshd -t -f "$root/etc/ssh/sshd_config"; then
    roll_back
    echo "p2pvps: sshd refused the new configuration; the previous one is back in place" >&2
    exit 1
  fi
  for path in $changed; do
    rm -f "$root$path.p2pvps-previous"
  done
  if touched /etc/ssh/; then
    systemctl try-reload-or-restart ssh
  fi
  if touched /etc/docker/ || touched /etc/systemd/system/docker.service.d/ || touched /usr/local/sbin/; then
    # Live restore keeps the containers running while the daemon restarts with the new settings
    # and the metadata guard (ExecStartPre) puts its rules back first.
    systemctl daemon-reload
    systemctl restart docker
  fi
  echo "p2pvps: host configuration applied; changed:${changed:- nothing}"
}
