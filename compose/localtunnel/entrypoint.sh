#!/bin/sh
# Entrypoint of the LocalTunnel server (installed as /usr/local/bin/p2pvps-localtunnel).
# Checks the environment, then replaces itself with node (PID 1) running main.js (the patched npm
# package with access.js deciding who may open which tunnel) with two preload modules of this image:
# port-range.js (client ports from LT_CLIENT_PORTS only) and log-to-file.js (log to stdout and the
# log file). The environment contract is in README.md.
set -eu

LT_PORT="${LT_PORT:-3002}"
LT_ADDRESS="${LT_ADDRESS:-0.0.0.0}"
LT_DOMAIN="${LT_DOMAIN:-}"
LT_CLIENT_PORTS="${LT_CLIENT_PORTS:-40000-40099}"
LT_SECURE="${LT_SECURE:-false}"
LT_MAX_SOCKETS="${LT_MAX_SOCKETS:-10}"
LT_MAX_TUNNELS_PER_SOURCE="${LT_MAX_TUNNELS_PER_SOURCE:-10}"
LOG_FILE=/var/log/p2pvps/localtunnel.log
DEVICE_DIR=/devices

die() {
  echo "p2pvps-localtunnel: $*" >&2
  exit 64
}

# require_count NAME VALUE: VALUE is a whole number from 1 to 1000.
require_count() {
  case "$2" in
    '' | *[!0-9]* | ????*) die "$1 must be a whole number from 1 to 1000, got '$2'" ;;
  esac
  if [ "$2" -lt 1 ] || [ "$2" -gt 1000 ]; then
    die "$1 must be a whole number from 1 to 1000, got '$2'"
  fi
}

case "$LT_PORT" in
  '' | *[!0-9]* | ??????*) die "LT_PORT must be a TCP port, got '$LT_PORT'" ;;
esac
[ -n "$LT_DOMAIN" ] || die "LT_DOMAIN is required: the tunnels' parent domain, e.g. lt.example.com"
case "$LT_SECURE" in
  true | false) ;;
  *) die "LT_SECURE must be true or false, got '$LT_SECURE'" ;;
esac
require_count LT_MAX_SOCKETS "$LT_MAX_SOCKETS"
require_count LT_MAX_TUNNELS_PER_SOURCE "$LT_MAX_TUNNELS_PER_SOURCE"
mountpoint -q "$DEVICE_DIR" ||
  die "$DEVICE_DIR must be a volume: the device registry the SSH-Server's p2pvps-device writes"
touch "$LOG_FILE" 2>/dev/null ||
  die "cannot write $LOG_FILE: the log directory must be writable by uid $(id -u)"

export LT_PORT LT_ADDRESS LT_DOMAIN LT_SECURE LT_CLIENT_PORTS LT_MAX_SOCKETS LT_MAX_TUNNELS_PER_SOURCE
exec node -r ./log-to-file.js -r ./port-range.js -r esm main.js
