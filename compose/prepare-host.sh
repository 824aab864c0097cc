#!/bin/sh
# Generated from components/catalog.py by `python -m components.compose`; do not edit.
# Creates the data and log directories with the owners the containers need; run as root.
use_sudo=no
set -eu
as_root() {
  if [ "$use_sudo" = yes ]; then sudo -n "$@"; else "$@"; fi
}
# ensure_dir UID MODE PATH: PATH owned by UID; where ownership cannot be given (a rootless
# local run), the directory is made world-writable with the sticky bit instead.
ensure_dir() {
  if ! as_root install -d -m "$2" -o "$1" -g "$1" "$3" 2>/dev/null; then
    mkdir -p "$3"
    chmod 1777 "$3"
  fi
}
ensure_dir 0 0755 "${P2PVPS_DATA_DIR:?}/acme-webroot"
ensure_dir 1000 0750 "${P2PVPS_DATA_DIR:?}/connextcms"
ensure_dir 0 0750 "${P2PVPS_DATA_DIR:?}/letsencrypt"
ensure_dir 999 0750 "${P2PVPS_DATA_DIR:?}/mongodb"
ensure_dir 1000 0750 "${P2PVPS_DATA_DIR:?}/openbazaar"
ensure_dir 0 0750 "${P2PVPS_DATA_DIR:?}/ssh-server"
ensure_dir 0 0755 "${P2PVPS_LOG_DIR:?}/nginx"
ensure_dir 0 0755 "${P2PVPS_LOG_DIR:?}/certbot"
ensure_dir 999 0755 "${P2PVPS_LOG_DIR:?}/mongodb"
ensure_dir 1000 0755 "${P2PVPS_LOG_DIR:?}/connextcms"
ensure_dir 1000 0755 "${P2PVPS_LOG_DIR:?}/openbazaar"
ensure_dir 1000 0755 "${P2PVPS_LOG_DIR:?}/listing-manager"
ensure_dir 0 0755 "${P2PVPS_LOG_DIR:?}/ssh-server"
ensure_dir 1000 0755 "${P2PVPS_LOG_DIR:?}/localtunnel"
