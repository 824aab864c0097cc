# Sourced (not executed) by the mongo image's docker-entrypoint.sh on the very first start, when
# /data/db is empty: creates ConnextCMS's own user with readWrite on its database only. SCRAM-SHA-1
# stays enabled because the CMS's 2017 MongoDB driver (2.2) speaks nothing newer.
# shellcheck shell=bash disable=SC2154  # `mongo`, the client command array, is defined by the entrypoint.
for value in "$MONGO_APP_DB" "$MONGO_APP_USER" "$MONGO_APP_PASSWORD"; do
  case "$value" in
    '' | *[!A-Za-z0-9_-]*)
      echo "10-create-app-user: MONGO_APP_DB, MONGO_APP_USER and MONGO_APP_PASSWORD must be letters, digits, _ or -" >&2
      exit 1
      ;;
  esac
done
"${mongo[@]}" "$MONGO_APP_DB" <<EOJS
db.createUser({user: "$MONGO_APP_USER", pwd: "$MONGO_APP_PASSWORD", roles: [{role: "readWrite", db: "$MONGO_APP_DB"}], mechanisms: ["SCRAM-SHA-1", "SCRAM-SHA-256"]});
EOJS
