#!/bin/sh
# Generated from components/catalog/ by `python -m components.compose`; do not edit.
# Creates the data and log directories with the owners the containers need. Run it as root, once,
# after filling in .env: it reads P2PVPS_DATA_DIR and P2PVPS_LOG_DIR from the .env next to it.
env_file="$(dirname "$0")/.env"
if [ -f "$env_file" ]; then
  set -a
  # shellcheck source=/dev/null
  . "$env_file"
  set +a
fi
privilege=root
set -eu
# ensure_dir UID MODE PATH: PATH exists, owned by UID, with MODE.
ensure_dir() {
  if [ "$privilege" = sudo ]; then
    sudo -n install -d -m "$2" -o "$1" -g "$1" "$3"
  elif [ "$privilege" = root ]; then
    install -d -m "$2" -o "$1" -g "$1" "$3"
  elif ! install -d -m "$2" -o "$1" -g "$1" "$3" 2>/dev/null; then
    mkdir -p "$3"
    chmod 1777 "$3"
  fi
}
ensure_dir 0 0755 "${P2PVPS_DATA_DIR:?}/acme-webroot"
ensure_dir 0 0700 "${P2PVPS_DATA_DIR:?}/backup"
ensure_dir 1000 0750 "${P2PVPS_DATA_DIR:?}/connextcms"
ensure_dir 0 0755 "${P2PVPS_DATA_DIR:?}/devices"
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
ensure_dir 0 0755 "${P2PVPS_LOG_DIR:?}/backup"
