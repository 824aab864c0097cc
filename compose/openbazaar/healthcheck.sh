#!/bin/bash
# p2pvps-healthcheck: exit 0 when 127.0.0.1:4002 (the OpenBazaar JSON API)
# accepts TCP connections, 1 otherwise. Bash's /dev/tcp; no extra tools.
set -eu

port=${P2PVPS_HEALTHCHECK_PORT:-4002}
seconds=${P2PVPS_HEALTHCHECK_TIMEOUT:-5}

case "$port$seconds" in
  '' | *[!0-9]*)
    echo "p2pvps-healthcheck: port and timeout must be numbers" >&2
    exit 1
    ;;
esac

if timeout "$seconds" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
  echo "p2pvps-healthcheck: 127.0.0.1:$port accepts connections"
  exit 0
fi
echo "p2pvps-healthcheck: nothing accepts connections on 127.0.0.1:$port"
exit 1
