# shellcheck shell=sh
# Shared by the SSH-Server's entrypoint, p2pvps-device and p2pvps-authorized-keys (sourced, not run).
# The registry format and the environment contract are described in README.md.
# shellcheck disable=SC2034 # the constants are used by the scripts that source this file

DEVICE_DIR=/devices
REGISTRY="$DEVICE_DIR/registry"
LAST_PORT_FILE="$DEVICE_DIR/last-port"
LOCK_FILE="$DEVICE_DIR/.lock"
HOST_KEYS=/state/host-keys
DEVICE_GROUP=p2pvps-device
LEGACY_GROUP=p2pvps-legacy

SSH_PORT="${SSH_PORT:-6100}"
TUNNEL_PORTS="${TUNNEL_PORTS:-6101-6200}"
TUNNEL_USER="${TUNNEL_USER:-sshuser}"

# die MESSAGE [EXIT CODE]: print "PROGRAM: MESSAGE" on stderr and exit (64 unless given).
die() {
  echo "$PROGRAM: $1" >&2
  exit "${2:-64}"
}

# is_port TEXT: TEXT is a decimal TCP port, 1-65535.
is_port() {
  case "$1" in
    '' | *[!0-9]* | ??????*) return 1 ;;
  esac
  [ "$1" -ge 1 ] && [ "$1" -le 65535 ]
}

# Sets FIRST and LAST from TUNNEL_PORTS ("FIRST-LAST", or one port).
parse_tunnel_ports() {
  is_port "$SSH_PORT" || die "SSH_PORT must be a TCP port, got '$SSH_PORT'"
  FIRST="${TUNNEL_PORTS%%-*}"
  LAST="${TUNNEL_PORTS#*-}"
  if ! is_port "$FIRST" || ! is_port "$LAST" || [ "$FIRST" -gt "$LAST" ]; then
    die "TUNNEL_PORTS must be FIRST-LAST (inclusive, 1-65535), got '$TUNNEL_PORTS'"
  fi
  if [ "$FIRST" -le "$SSH_PORT" ] && [ "$SSH_PORT" -le "$LAST" ]; then
    die "TUNNEL_PORTS $TUNNEL_PORTS contains SSH_PORT $SSH_PORT"
  fi
}

# devices: the registry's device lines (NAME PORT TOKEN-SHA256 KEY-TYPE KEY ADDED), no comments.
devices() {
  [ -f "$REGISTRY" ] || return 0
  grep -v '^#' "$REGISTRY" | grep -v '^[[:space:]]*$' || true
}

# ensure_device_account NAME: the login account of a registered device, made if missing.
# No home, no shell; "*" matches no password yet (unlike a "!" lock) lets sshd accept the key.
ensure_device_account() {
  if ! getent passwd "$1" >/dev/null; then
    useradd --gid "$DEVICE_GROUP" --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$1"
    usermod --password '*' "$1"
  fi
}
