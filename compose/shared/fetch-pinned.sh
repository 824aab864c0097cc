#!/bin/sh
# fetch-pinned.sh REPO_URL COMMIT DEST
#
# Checks out exactly one commit of a git repository into DEST (without .git) and
# proves it: the commit is fetched by its full SHA-1, never by a branch or tag
# name, and the checked-out HEAD must equal that SHA-1. A moving branch can
# therefore never change what an image is built from.
set -eu

if [ "$#" -ne 3 ]; then
  echo "usage: fetch-pinned.sh REPO_URL COMMIT DEST" >&2
  exit 2
fi
repo_url=$1
commit=$2
dest=$3

case "$commit" in
  *[!0-9a-f]*)
    echo "fetch-pinned: commit must be a full lower-case SHA-1, got '$commit'" >&2
    exit 2
    ;;
esac
if [ "${#commit}" -ne 40 ]; then
  echo "fetch-pinned: commit must be 40 hex digits, got '$commit'" >&2
  exit 2
fi
if [ -e "$dest" ]; then
  echo "fetch-pinned: $dest already exists" >&2
  exit 2
fi

mkdir -p "$dest"
git -C "$dest" init -q
git -C "$dest" fetch -q --depth 1 "$repo_url" "$commit"
git -C "$dest" -c advice.detachedHead=false checkout -q --detach FETCH_HEAD
actual=$(git -C "$dest" rev-parse HEAD)
if [ "$actual" != "$commit" ]; then
  echo "fetch-pinned: $repo_url gave $actual, expected $commit" >&2
  exit 1
fi
rm -rf "$dest/.git"
echo "fetch-pinned: $repo_url @ $commit -> $dest"
