#!/bin/bash
# p2pvps-healthcheck: healthy when sshd accepts a TCP connection on SSH_PORT (at the first address of
# SSH_LISTEN_ADDRESS) and greets with an SSH-2.0 banner. bash, for its /dev/tcp; the image has no
# other network client.
set -euo pipefail

port="${SSH_PORT:-6100}"
listen="${SSH_LISTEN_ADDRESS:-0.0.0.0}"
address="${listen%% *}"
case "$address" in
  0.0.0.0) address=127.0.0.1 ;;
  ::) address=::1 ;;
esac

exec 3<>"/dev/tcp/$address/$port"
IFS= read -r -t 5 banner <&3
[[ "$banner" == SSH-2.0-* ]]
