#!/bin/sh
# assemble-cms.sh KEYSTONE4 CONNEXTCMS SITE_TEMPLATE MARKET_DIST P2PVPS_FILES OUT [DATA_DIR] [LOG_DIR]
#
# Build-time assembly of the Gen 1 "myCMS" tree, done once in the image instead of
# at every container start. It performs the same file placement as the original
# copy-keystone + merge-connextcms-keystone (ConnextCMS), generateSiteTemplate and
# merge-site (P2P VPS site template) steps, from already pinned and patched sources:
#   KEYSTONE4      keystone4-compiled checkout (KeystoneJS 4.0.0-beta.5 with node_modules)
#   CONNEXTCMS     ConnextCMS checkout
#   SITE_TEMPLATE  site-template-connextcms/ of the P2P VPS server repository (patched)
#   MARKET_DIST    dist/ of the built Vue market app (index.html + static/)
#   P2PVPS_FILES   the image's own files (p2pvps-config.js, p2pvps-access.js, preload.js, updates/)
#   OUT            output root; the app goes to OUT/app
# Mutable data is replaced by links into DATA_DIR (default /data) and the
# template's ../logs directory by a link to LOG_DIR (default /var/log/p2pvps).
set -eu

if [ "$#" -lt 6 ] || [ "$#" -gt 8 ]; then
  echo "usage: assemble-cms.sh KEYSTONE4 CONNEXTCMS SITE_TEMPLATE MARKET_DIST P2PVPS_FILES OUT [DATA_DIR] [LOG_DIR]" >&2
  exit 2
fi
k4=$1
cms=$2
site=$3
dist=$4
files=$5
out=$6
data=${7:-/data}
logs=${8:-/var/log/p2pvps}
app=$out/app

# copy_into DEST SRC...: copies every SRC that exists into DEST; glob patterns
# that match nothing are skipped, as upstream's unchecked `cp` calls effectively did.
copy_into() {
  dest=$1
  shift
  for src in "$@"; do
    [ -e "$src" ] || continue
    cp -R "$src" "$dest/"
  done
}

[ ! -e "$app" ] || { echo "assemble-cms: $app already exists" >&2; exit 1; }
for required in "$k4/node_modules/keystone/package.json" "$cms/models/User.js" \
  "$site/keystone/core/keystone.js" "$dist/index.html" "$files/p2pvps-config.js" "$files/p2pvps-access.js"; do
  [ -f "$required" ] || { echo "assemble-cms: missing $required" >&2; exit 1; }
done
mkdir -p "$out"

echo "assemble-cms: 1/5 KeystoneJS 4 (keystone4-compiled)"
cp -R "$k4" "$app"
# .env of keystone4-compiled holds the demo's COOKIE_SECRET and CLOUDINARY_URL
# credentials; dotenv would load them.
rm -f "$app/.env"

echo "assemble-cms: 2/5 ConnextCMS"
cp "$cms/keystone-files/index.html" "$app/node_modules/keystone/admin/server/templates/index.html"
cp "$cms/keystone-files/index.js" "$app/node_modules/keystone/admin/server/routes/index.js"
copy_into "$app/models" "$cms"/models/*.js
copy_into "$app/templates/views" "$cms"/templates/views/*.hbs
copy_into "$app/templates/views/helpers" "$cms"/templates/views/helpers/*.js
copy_into "$app/templates/views/layouts" "$cms"/templates/views/layouts/*.hbs
cp "$cms/routes/index.js" "$app/routes/index.js"
mkdir -p "$app/routes/api"
copy_into "$app/routes/api" "$cms"/routes/api/*.js
copy_into "$app/routes/views" "$cms"/routes/views/*
copy_into "$app/public" "$cms"/public/*.*
copy_into "$app/public/fonts" "$cms"/public/fonts/*
copy_into "$app/public/images" "$cms"/public/images/*.jpg "$cms"/public/images/*.png \
  "$cms"/public/images/*.gif "$cms"/public/images/*.svg
copy_into "$app/public/js" "$cms"/public/js/*.js "$cms"/public/js/*.json \
  "$cms/public/js/app" "$cms/public/js/lib"
copy_into "$app/public/styles" "$cms/public/styles/fonts" "$cms/public/styles/skins" \
  "$cms"/public/styles/*.css "$cms"/public/styles/*.map
mkdir -p "$app/public/styles/bootstrap"
copy_into "$app/public/styles/bootstrap" "$cms"/public/styles/bootstrap/*
copy_into "$app/public" "$cms/public/documentation"
mkdir -p "$app/private"
copy_into "$app/private" "$cms"/private/*.json

echo "assemble-cms: 3/5 P2P VPS site template and market app"
cp "$site/keystone/core/keystone.js" "$app/keystone.js"
copy_into "$app/models" "$site"/keystone/models/*.js
copy_into "$app/routes" "$site"/keystone/routes/*.js
copy_into "$app/routes/api" "$site"/keystone/routes/api/*
copy_into "$app/routes/views" "$site"/keystone/routes/views/*.js
copy_into "$app/templates/views" "$site"/keystone/templates/views/*.hbs
copy_into "$app/templates/views/layouts" "$site"/keystone/templates/views/layouts/*.hbs
# The template's KeystoneJS admin changes (CORS on the admin API, no CSRF token on
# session sign-in/out: the Vue market signs in with a plain POST).
cp "$site/keystone/core/createDynamicRouter.js" "$app/node_modules/keystone/admin/server/app/createDynamicRouter.js"
cp "$site/keystone/core/signin.js" "$app/node_modules/keystone/admin/server/api/session/signin.js"
cp "$site/keystone/core/signout.js" "$app/node_modules/keystone/admin/server/api/session/signout.js"
cp "$dist/index.html" "$app/templates/views/market.hbs"
mkdir -p "$app/public/static"
cp -R "$dist/static/." "$app/public/static/"

echo "assemble-cms: 4/5 P2P VPS runtime files"
cp "$files/p2pvps-config.js" "$app/p2pvps-config.js"
cp "$files/p2pvps-access.js" "$app/p2pvps-access.js"
cp "$files/updates/0.0.1-admins.js" "$app/updates/0.0.1-admins.js"
cp "$files/preload.js" "$out/preload.js"

echo "assemble-cms: 5/5 persistent data links into $data, logs into $logs"
mkdir -p "$out/defaults"
cp "$site/privatesettings.json" "$out/defaults/privatesettings.json"
# Seed without the original operator's user id; the first-run update adds the
# first administrator's id.
node -e '
var fs = require("fs");
var s = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
s.superUsers = [];
s.adminUsers = [];
fs.writeFileSync(process.argv[2], JSON.stringify(s, null, 4) + "\n");
' "$site/publicsettings.json" "$out/defaults/publicsettings.json"
rm -f "$app/private/privatesettings.json" "$app/public/js/publicsettings.json"
ln -s "$data/settings/privatesettings.json" "$app/private/privatesettings.json"
ln -s "$data/settings/publicsettings.json" "$app/public/js/publicsettings.json"
rm -rf "$app/public/uploads" "$app/public/plugins"
mkdir -p "$app/public/uploads"
ln -s "$data/uploads/images" "$app/public/uploads/images"
ln -s "$data/uploads/files" "$app/public/uploads/files"
ln -s "$data/plugins" "$app/public/plugins"
# The template's winston logger writes ../logs/p2pvps-server.log (relative to the app).
ln -s "$logs" "$out/logs"
echo "assemble-cms: done, app in $app"
