#!/bin/sh
# p2pvps-device: the operator's command for the device registry (installed as /usr/local/bin/p2pvps-device).
#   p2pvps-device add NAME PUBLIC-KEY...   register a device; prints its port, subdomain and credential
#   p2pvps-device list                     every device with its port, subdomain and key
#   p2pvps-device show NAME                what the device must run (without the credential)
#   p2pvps-device token NAME               issue a new LocalTunnel credential (the old one stops working)
#   p2pvps-device remove NAME              unregister a device and end its SSH sessions
# Changes apply at once: sshd and the LocalTunnel server read the registry at every login and request.
set -eu
PROGRAM=p2pvps-device
# shellcheck source=common.sh
. /usr/local/lib/p2pvps/common.sh

MIN_RSA_BITS=2048
TOKEN_BYTES=20

usage() {
  cat >&2 <<'EOF'
usage: p2pvps-device add NAME PUBLIC-KEY...   (PUBLIC-KEY "-" reads it from stdin: docker exec -i)
       p2pvps-device list
       p2pvps-device show NAME
       p2pvps-device token NAME
       p2pvps-device remove NAME
NAME: 4-32 lowercase letters, digits and hyphens, starting with a letter and ending with a letter or
digit (at least 6 characters when it has a hyphen); it is the device's SSH login and its subdomain.
EOF
  exit 64
}

# check_name NAME: NAME is written as a device name must be.
check_name() {
  case "$1" in
    '' | *[!a-z0-9-]* | [!a-z]* | *-) die "invalid device name '$1'; see p2pvps-device --help" 65 ;;
    *--*) die "invalid device name '$1': no '--' (names like xn--... display as other letters)" 65 ;;
  esac
  if [ "${#1}" -lt 4 ] || [ "${#1}" -gt 32 ]; then
    die "invalid device name '$1': 4 to 32 characters" 65
  fi
  case "$1" in
    *-*) [ "${#1}" -ge 6 ] || die "invalid device name '$1': a name with a hyphen needs at least 6 characters" 65 ;;
  esac
}

# check_new_name NAME: a valid device name that no other account of the container uses.
check_new_name() {
  check_name "$1"
  if [ "$1" = "$TUNNEL_USER" ]; then
    die "'$1' is the legacy password account (TUNNEL_USER); choose another name" 65
  fi
  account=$(getent passwd "$1" || true)
  if [ -n "$account" ] && [ "$(id -gn "$1")" != "$DEVICE_GROUP" ]; then
    die "'$1' is a system account of the container; choose another name" 65
  fi
}

# parse_key KEY: sets KEY_TYPE and KEY_BLOB from one OpenSSH public key line (no options), or dies.
parse_key() {
  read -r KEY_TYPE KEY_BLOB _ <<EOF
$1
EOF
  [ -n "$KEY_BLOB" ] || die "not an OpenSSH public key; paste the one line of the device's id_ed25519.pub" 65
  case "$KEY_TYPE" in
    ssh-ed25519 | sk-ssh-ed25519@openssh.com | ecdsa-sha2-nistp256 | ecdsa-sha2-nistp384 | ecdsa-sha2-nistp521 | \
      sk-ecdsa-sha2-nistp256@openssh.com | ssh-rsa) ;;
    *) die "key type '$KEY_TYPE' is not accepted; use ssh-ed25519 (ssh-keygen -t ed25519), ECDSA, or RSA of $MIN_RSA_BITS bits or more" 65 ;;
  esac
  case "$KEY_BLOB" in
    *[!A-Za-z0-9+/=]*) die "not an OpenSSH public key: the key part may hold only base64 characters" 65 ;;
  esac
  fingerprint=$(printf '%s %s\n' "$KEY_TYPE" "$KEY_BLOB" | ssh-keygen -l -f - 2>/dev/null) ||
    die "not a valid $KEY_TYPE public key (ssh-keygen cannot read it)" 65
  bits=${fingerprint%% *}
  KEY_FINGERPRINT=$(echo "$fingerprint" | cut -d' ' -f2)
  if [ "$KEY_TYPE" = ssh-rsa ] && [ "$bits" -lt "$MIN_RSA_BITS" ]; then
    die "RSA key of $bits bits; at least $MIN_RSA_BITS are required" 65
  fi
}

# device_line NAME: the registry line of device NAME, empty when there is none. (Values reach awk
# through ENVIRON: `awk -v` would turn backslash escapes in them into other characters.)
device_line() {
  devices | NAME="$1" awk '$1 == ENVIRON["NAME"]'
}

require_device() {
  check_name "$1"
  [ -n "$(device_line "$1")" ] || die "no device named '$1' (p2pvps-device list)" 65
}

# owner_of_key FINGERPRINT: the device whose key has FINGERPRINT, empty when there is none.
owner_of_key() {
  devices | while read -r name _ _ type blob _; do
    if [ "$(printf '%s %s\n' "$type" "$blob" | ssh-keygen -l -f - | cut -d' ' -f2)" = "$1" ]; then
      echo "$name"
    fi
  done
}

# Holds the registry lock until the process ends; sshd and the LocalTunnel server only read.
lock_registry() {
  [ -d "$DEVICE_DIR" ] || die "$DEVICE_DIR is not mounted: the device registry lives on the data volume" 73
  exec 9>"$LOCK_FILE"
  flock 9
}

# write_registry: stdin becomes the registry (header, then device lines), replaced atomically.
write_registry() {
  {
    echo "# P2P VPS device registry, managed with p2pvps-device (do not edit while it runs)."
    echo "# NAME SSH-TUNNEL-PORT LOCALTUNNEL-CREDENTIAL-SHA256 KEY-TYPE KEY ADDED"
    cat
  } >"$REGISTRY.new"
  chmod 0644 "$REGISTRY.new"
  mv "$REGISTRY.new" "$REGISTRY"
}

# next_port: the first port after the last one handed out (wrapping around the range) that no device
# holds, so a removed device's port goes to a new device only after the rest of the range.
next_port() {
  previous=$(cat "$LAST_PORT_FILE" 2>/dev/null || echo "$LAST")
  is_port "$previous" || previous=$LAST
  devices | awk -v first="$FIRST" -v last="$LAST" -v previous="$previous" '
    { held[$2] = 1 }
    END {
      size = last - first + 1
      if (previous < first || previous > last) previous = last
      for (step = 1; step <= size; step++) {
        port = first + (previous - first + step) % size
        if (!(port in held)) { print port; exit 0 }
      }
      exit 1
    }'
}

new_token() {
  od -An -N"$TOKEN_BYTES" -tx1 /dev/urandom | tr -d ' \n'
}

sha256() {
  printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

# instructions NAME PORT [TOKEN]: what the device runs, and how renters reach it.
instructions() {
  host="${PUBLIC_HOST:-<server>}"
  lt_host="${LT_HOST:-lt.<server>}"
  credential="${3:-<credential>}"
  echo "  SSH login:        $1@$host, port $SSH_PORT (key only; no shell)"
  echo "  SSH tunnel port:  $2 (renters: ssh -p $2 <user on the device>@$host)"
  echo "  Web address:      https://$1.$lt_host"
  if [ -n "${3:-}" ]; then
    echo "  Web credential:   $3 (shown only now; p2pvps-device token $1 issues a new one)"
  fi
  echo
  echo "On the device:"
  echo "  1. Trust this server's SSH host key (append to ~/.ssh/known_hosts):"
  echo "     [$host]:$SSH_PORT $(cut -d' ' -f1,2 "$HOST_KEYS/ssh_host_ed25519_key.pub")"
  echo "  2. The SSH tunnel:"
  echo "     ssh -N -o ExitOnForwardFailure=yes -o ServerAliveInterval=30 -p $SSH_PORT -R '*:$2:127.0.0.1:22' $1@$host"
  echo "  3. The web tunnel (LocalTunnel client 2.0.2; here for a web app on port 8080):"
  echo "     npx localtunnel@2.0.2 --host https://$1:$credential@$lt_host --subdomain $1 --port 8080 --local-host 127.0.0.1"
}

cmd_add() {
  [ $# -ge 2 ] || usage
  name=$1
  shift
  if [ "$*" = - ]; then
    key=$(cat)
  else
    key="$*"
  fi
  check_new_name "$name"
  parse_key "$key"
  parse_tunnel_ports
  lock_registry
  [ -z "$(device_line "$name")" ] || die "a device named '$name' is already registered (p2pvps-device list)" 65
  owner=$(owner_of_key "$KEY_FINGERPRINT")
  [ -z "$owner" ] || die "this key is already registered for device '$owner'; every device needs its own key" 65
  port=$(next_port) ||
    die "no free port in TUNNEL_PORTS $FIRST-$LAST: remove a device or widen p2pvps:sshTunnelPorts" 65
  token=$(new_token)
  added=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  {
    devices
    printf '%s %s %s %s %s %s\n' "$name" "$port" "$(sha256 "$token")" "$KEY_TYPE" "$KEY_BLOB" "$added"
  } | write_registry
  echo "$port" >"$LAST_PORT_FILE"
  ensure_device_account "$name"
  echo "Device $name registered."
  instructions "$name" "$port" "$token"
}

cmd_list() {
  [ $# -eq 0 ] || usage
  parse_tunnel_ports
  printf '%-32s %-5s %-50s %s\n' NAME PORT KEY ADDED
  devices | while read -r name port _ type blob added; do
    fingerprint=$(printf '%s %s\n' "$type" "$blob" | ssh-keygen -l -f - | awk '{ print $2, $NF }')
    note=""
    if [ "$port" -lt "$FIRST" ] || [ "$port" -gt "$LAST" ]; then
      note="  (port outside TUNNEL_PORTS $TUNNEL_PORTS: the tunnel is refused; remove and add the device again)"
    fi
    printf '%-32s %-5s %-50s %s%s\n' "$name" "$port" "$fingerprint" "$added" "$note"
  done
}

cmd_show() {
  [ $# -eq 1 ] || usage
  require_device "$1"
  port=$(device_line "$1" | cut -d' ' -f2)
  instructions "$1" "$port"
}

cmd_token() {
  [ $# -eq 1 ] || usage
  lock_registry
  require_device "$1"
  token=$(new_token)
  hash=$(sha256 "$token")
  devices | NAME="$1" HASH="$hash" awk '$1 == ENVIRON["NAME"] { $3 = ENVIRON["HASH"] } { print }' | write_registry
  echo "New LocalTunnel credential for $1; the previous one no longer opens a tunnel."
  instructions "$1" "$(device_line "$1" | cut -d' ' -f2)" "$token"
}

cmd_remove() {
  [ $# -eq 1 ] || usage
  lock_registry
  require_device "$1"
  devices | NAME="$1" awk '$1 != ENVIRON["NAME"]' | write_registry
  end_sessions "$1"
  echo "Device $1 removed: its key no longer logs in and its tunnels are closed."
}

# end_sessions NAME: the key no longer logs in (it left the registry); lock the account so that a
# login already past the key check fails too, end every session (and with it the tunnel), delete
# the account. A session that survives is an error.
end_sessions() {
  uid=$(id -u "$1" 2>/dev/null) || return 0
  usermod --lock --expiredate 1 "$1"
  tries=0
  while pkill -KILL -U "$uid"; do
    tries=$((tries + 1))
    [ "$tries" -lt 50 ] || die "device $1 was removed, but its sessions (uid $uid) do not end" 70
    sleep 0.1
  done
  userdel --force "$1" 2>/dev/null || true
}

[ $# -ge 1 ] || usage
command=$1
shift
case "$command" in
  add) cmd_add "$@" ;;
  list) cmd_list "$@" ;;
  show) cmd_show "$@" ;;
  token) cmd_token "$@" ;;
  remove) cmd_remove "$@" ;;
  *) usage ;;
esac
