#!/bin/sh
# p2pvps-openbazaar-entrypoint [start [OPTIONS...] | OTHER openbazaard ARGS...]
#
# For `start` (the default command): initialise the data directory once, merge the
# API settings into its config with jq, move the logs to the bind-mounted log
# directory, then exec `openbazaard start -d <data>` as PID 1. Any other command
# is passed to openbazaard unchanged (e.g. `--version`, `status -d ...`).
#
# Environment:
#   OB_API_USERNAME          JSON API user (required, no ":")
#   OB_API_PASSWORD_SHA256   hex SHA-256 of the JSON API password (required, 64 hex digits)
#   OB_WALLET_TYPE           wallet of a NEW repository: bitcoincash (default), spvwallet, bitcoind, zcashd
# Paths (overridable for tests only): OB_DATA_DIR, P2PVPS_LOG_DIR, P2PVPS_OB_FILTER, OPENBAZAARD.
set -eu

data_dir=${OB_DATA_DIR:-/var/lib/openbazaar}
log_dir=${P2PVPS_LOG_DIR:-/var/log/p2pvps}
filter=${P2PVPS_OB_FILTER:-/usr/local/share/p2pvps/openbazaar-config.jq}
openbazaard=${OPENBAZAARD:-openbazaard}

die() {
  echo "p2pvps-openbazaar-entrypoint: $*" >&2
  exit 1
}

if [ "${1:-start}" != "start" ]; then
  exec "$openbazaard" "$@"
fi
if [ "$#" -gt 0 ]; then
  shift
fi

# 1. Settings from the environment; refuse to start on anything doubtful.
username=${OB_API_USERNAME:-}
case "$username" in
  '' | *:* | *[!A-Za-z0-9._@-]*) die "OB_API_USERNAME must be set to letters, digits, '.', '_', '@' or '-'" ;;
esac
password_sha256=$(printf '%s' "${OB_API_PASSWORD_SHA256:-}" | tr 'A-F' 'a-f')
case "$password_sha256" in
  *[!0-9a-f]*) die "OB_API_PASSWORD_SHA256 must be 64 hex digits (the SHA-256 of the API password)" ;;
esac
[ "${#password_sha256}" -eq 64 ] || die "OB_API_PASSWORD_SHA256 must be 64 hex digits (the SHA-256 of the API password)"
wallet_type=${OB_WALLET_TYPE:-bitcoincash}
case "$wallet_type" in
  bitcoincash | spvwallet | bitcoind | zcashd) ;;
  *) die "OB_WALLET_TYPE must be bitcoincash, spvwallet, bitcoind or zcashd" ;;
esac

for dir in "$data_dir" "$log_dir"; do
  if [ ! -d "$dir" ] || [ ! -w "$dir" ]; then
    die "$dir must be a directory writable by uid $(id -u)"
  fi
done

# 2. Logs: <data>/logs (ob.log, ipfs.log, bitcoin.log, api.log) becomes a link to
#    the log directory; logs of an earlier layout are moved over, never deleted.
if [ -L "$data_dir/logs" ]; then
  if [ "$(readlink "$data_dir/logs")" != "$log_dir" ]; then
    rm "$data_dir/logs"
  fi
elif [ -d "$data_dir/logs" ]; then
  for old in "$data_dir"/logs/* "$data_dir"/logs/.[!.]*; do
    [ -e "$old" ] || continue
    target="$log_dir/$(basename "$old")"
    [ -e "$target" ] && target="$target.pre-p2pvps"
    mv "$old" "$target"
  done
  rmdir "$data_dir/logs"
fi
[ -L "$data_dir/logs" ] || ln -s "$log_dir" "$data_dir/logs"

# 3. Initialise only when there is no config yet: the repository holds the node's
#    identity and wallet keys and must never be recreated.
fresh=false
if [ ! -f "$data_dir/config" ]; then
  echo "p2pvps-openbazaar-entrypoint: no $data_dir/config, running openbazaard init"
  "$openbazaard" init -d "$data_dir"
  [ -f "$data_dir/config" ] || die "openbazaard init did not create $data_dir/config"
  fresh=true
fi

# 4. Merge the API settings on every start (atomic replace, owner-only mode).
tmp="$data_dir/.config.p2pvps-tmp"
umask 077
jq --arg username "$username" --arg password_sha256 "$password_sha256" \
  --arg wallet_type "$wallet_type" --argjson fresh "$fresh" \
  -f "$filter" "$data_dir/config" >"$tmp" || {
  rm -f "$tmp"
  die "could not merge settings into $data_dir/config"
}
mv "$tmp" "$data_dir/config"

exec "$openbazaard" start -d "$data_dir" "$@"
