#!/bin/sh
# Restores a running stack from its backup repository: stops every service but MongoDB (and the
# scheduled backups), runs `p2pvps-backup restore SNAPSHOT` in a container of the backup image with
# the backup service's environment and its volumes writable, then starts the services again.
# Run it where the stack's Docker is (`make restore` does): as the admin on the server, or here for
# the local stack. Usage: restore-stack.sh [latest | SNAPSHOT-ID]
set -eu

snapshot=${1:-latest}
case $snapshot in
  latest) ;;
  '' | *[!0-9a-f]*)
    echo "restore-stack: \"$snapshot\" is not a snapshot; give latest or an id from \`restic snapshots\`" >&2
    exit 2
    ;;
esac
backup=p2pvps-backup
if ! docker inspect "$backup" >/dev/null 2>&1; then
  echo "restore-stack: there is no $backup container here; are backups on for this stack (p2pvps:backup)?" >&2
  exit 1
fi

umask 077
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
# dash runs the EXIT trap on exit only: a hang-up or a kill would leave the secrets file behind.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$backup" >"$workdir/env"
image=$(docker inspect -f '{{.Config.Image}}' "$backup")
mounts=$(docker inspect -f '{{range .Mounts}}{{if eq .Type "volume"}}--mount type=volume,source={{.Name}},target={{.Destination}} {{end}}{{end}}' "$backup")
running=$(docker ps --format '{{.Names}}' --filter 'name=^p2pvps-' | grep -vx 'p2pvps-mongodb' || true)

echo "restore-stack: stopping $(echo "$running" | tr '\n' ' ')"
# shellcheck disable=SC2086 # container names, one word each
docker stop $running >/dev/null
# The image's entrypoint is p2pvps-backup. Capabilities and scratch as the catalog's restore steps have them
# (components/catalog/backup.py): root that may write owners back, and nothing more.
# shellcheck disable=SC2086 # --mount options of volume names and paths, without spaces
if ! docker run --rm --name p2pvps-restore --network p2pvps --env-file "$workdir/env" $mounts \
  --cap-drop ALL --cap-add CHOWN --cap-add DAC_OVERRIDE --cap-add FOWNER --cap-add FSETID \
  --tmpfs /data/db --tmpfs /data/configdb "$image" restore "$snapshot"; then
  echo "restore-stack: the restore failed; the services stay stopped (docker start $(echo "$running" | tr '\n' ' '))" >&2
  exit 1
fi
# shellcheck disable=SC2086 # container names, one word each
docker start $running >/dev/null
echo "restore-stack: restored $snapshot and started the services again"
