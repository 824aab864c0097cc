#!/bin/sh
# Run by the official image's entrypoint before Nginx starts: choose the certificates to serve,
# then keep watching for new ones in the background.
set -eu
p2pvps-tls select
p2pvps-tls watch &
