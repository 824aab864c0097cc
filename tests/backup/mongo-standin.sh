#!/bin/sh
# Stand-in for mongodump and mongorestore (linked under both names): records its arguments, its
# environment, the --config file it was given and every process whose command line holds the secret
# in STANDIN_SECRET_FILE at that moment. mongodump writes STANDIN_DUMP as its --archive; mongorestore
# keeps the archive it was given.
set -eu

tool=$(basename "$0")
record="$STANDIN_RECORD_DIR/$tool"
mkdir -p "$record"
printf '%s\n' "$@" >"$record/argv"
env >"$record/env"
grep -l -a -F -f "$STANDIN_SECRET_FILE" /proc/[0-9]*/cmdline >"$record/secret-in-cmdline" 2>/dev/null || true
config=""
archive=""
for arg in "$@"; do
  case "$arg" in
    --config=*) config=${arg#--config=} ;;
    --archive=*) archive=${arg#--archive=} ;;
  esac
done
if [ -n "$config" ]; then
  cp "$config" "$record/config"
  stat -c '%a %u' "$config" >"$record/config-mode"
fi
echo x >>"$record/calls"
case "$tool" in
  mongodump) cp "$STANDIN_DUMP" "$archive" ;;
  mongorestore) cp "$archive" "$record/archive" ;;
  *) exit 3 ;;
esac
