#!/bin/sh
# p2pvps-entrypoint: prepares the persistent layout, writes the settings files
# and builds the Mongo URI, then execs the CMS as PID 1.
# Paths can be overridden (for tests only) with P2PVPS_APP_DIR, P2PVPS_DATA_DIR,
# P2PVPS_LOG_DIR and P2PVPS_DEFAULTS_DIR.
set -eu

app_dir=${P2PVPS_APP_DIR:-/opt/connextcms/app}
data_dir=${P2PVPS_DATA_DIR:-/data}
log_dir=${P2PVPS_LOG_DIR:-/var/log/p2pvps}
defaults_dir=${P2PVPS_DEFAULTS_DIR:-/opt/connextcms/defaults}
config_js="$app_dir/p2pvps-config.js"

die() {
  echo "p2pvps-entrypoint: $*" >&2
  exit 1
}

# 1. Environment: every problem at once, then stop.
node "$config_js" check || die "refusing to start"

# 2. Persistent data (the image's app tree links here, see assemble-cms.sh).
for dir in "$data_dir/uploads/images" "$data_dir/uploads/files" "$data_dir/plugins" "$data_dir/settings"; do
  mkdir -p "$dir" || die "cannot create $dir (the /data volume must be writable by uid $(id -u))"
done
[ -w "$data_dir/settings" ] || die "$data_dir/settings is not writable by uid $(id -u)"
if [ ! -d "$log_dir" ] || [ ! -w "$log_dir" ]; then
  die "$log_dir must be a directory writable by uid $(id -u)"
fi

# 3. Settings: publicsettings.json is seeded once (the dashboard edits it);
#    privatesettings.json gets MAILGUN_DOMAIN, MAILGUN_API_KEY, ADMIN_EMAIL on every start.
if [ ! -f "$data_dir/settings/publicsettings.json" ]; then
  cp "$defaults_dir/publicsettings.json" "$data_dir/settings/publicsettings.json"
fi
node "$config_js" private-settings "$data_dir/settings/privatesettings.json" "$defaults_dir/privatesettings.json"

# 4. Database URI for KeystoneJS (authSource = the application database).
MONGO_URI=$(node "$config_js" mongo-uri)
export MONGO_URI

# 5. KeystoneJS refuses to load the CloudinaryImage fields of the ConnextCMS Post,
#    Page and PrivatePage lists (and of the demo Gallery) without a Cloudinary
#    configuration. The original silently used the KeystoneJS demo account from
#    keystone4-compiled's .env. Without CLOUDINARY_URL those fields get a
#    placeholder: the CMS runs, only uploads into those image fields fail.
if [ -z "${CLOUDINARY_URL:-}" ]; then
  echo "p2pvps-entrypoint: CLOUDINARY_URL is not set; Cloudinary image fields will not accept uploads" >&2
  CLOUDINARY_URL=cloudinary://unconfigured:unconfigured@unconfigured
fi
export CLOUDINARY_URL

cd "$app_dir"
exec "$@"
