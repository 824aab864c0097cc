#!/bin/sh
# p2pvps-authorized-keys USER: sshd's AuthorizedKeysCommand (installed as /usr/local/bin/p2pvps-authorized-keys).
# Prints the registered key of device USER, allowed to do one thing: listen on its own tunnel port.
# Run by sshd as the unprivileged user p2pvps-keys at every login, so registry changes apply at once.
set -eu
PROGRAM=p2pvps-authorized-keys
# shellcheck source=common.sh
. /usr/local/lib/p2pvps/common.sh

[ $# -eq 1 ] || die "usage: p2pvps-authorized-keys USER"
devices | USER_NAME="$1" awk '
  $1 == ENVIRON["USER_NAME"] { printf "restrict,port-forwarding,permitlisten=\"%s\" %s %s %s\n", $2, $4, $5, $1 }'
