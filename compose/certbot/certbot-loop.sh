#!/bin/sh
# Issues and renews the stack's two certificates for as long as the container runs:
#   site: the domain and www, HTTP-01 through the webroot Nginx serves;
#   lt:   lt.<tunnel domain> and *.lt.<tunnel domain>, DNS-01 through the cloud's DNS plugin
#         (the tunnel domain is P2PVPS_TUNNEL_DOMAIN, by default P2PVPS_DOMAIN).
# After each success $LETSENCRYPT_DIR/p2pvps/<name> points at the certificate lineage, which
# Nginx watches. Lineage names carry their domain and "-staging", so switching either issues a
# fresh certificate instead of keeping the old one.
# `certbot-loop.sh --check` is the container health check: the loop ran within 13 hours.
# `certbot-loop.sh --once` runs one issue/renew pass now (docker exec p2pvps-certbot ...).
set -eu

letsencrypt_dir=${LETSENCRYPT_DIR:-/etc/letsencrypt}
webroot=${ACME_WEBROOT:?}
run_dir=${RUN_DIR:-/tmp}
heartbeat="$run_dir/p2pvps-certbot-heartbeat"
if [ "${1:-}" = "--check" ]; then
  [ -n "$(find "$heartbeat" -mmin -780 2>/dev/null)" ]
  exit
fi

domain=${P2PVPS_DOMAIN:?P2PVPS_DOMAIN is not set}
tunnel_domain=${P2PVPS_TUNNEL_DOMAIN:-$domain}
email=${ACME_EMAIL:?ACME_EMAIL is not set}
plugin=${DNS_PLUGIN:-none}
renew_every=43200
# Let's Encrypt allows 5 failed validations per hostname per hour; retry well below that.
retry_after=1200
staging=""
suffix=""
if [ "${ACME_STAGING:-false}" = "true" ]; then
  staging=yes
  suffix="-staging"
fi

# obtain NAME CERTBOT-ARGS...: issue or renew (within 30 days of expiry) and point NAME at it.
# obtain NAME DOMAIN CERTBOT-ARGUMENTS...: the lineage NAME-DOMAIN[-staging], linked as p2pvps/NAME.
obtain() {
  name=$1
  lineage="$name-$2$suffix"
  shift 2
  certbot certonly --non-interactive --agree-tos --email "$email" ${staging:+--staging} \
    --keep-until-expiring --max-log-backups 10 --cert-name "$lineage" "$@" >&2 || return 1
  mkdir -p "$letsencrypt_dir/p2pvps"
  ln -sfn "../live/$lineage" "$letsencrypt_dir/p2pvps/$name"
}

obtain_site() {
  mkdir -p "$webroot"
  obtain site "$domain" --webroot -w "$webroot" -d "$domain" -d "www.$domain"
}

obtain_localtunnel() {
  case "$plugin" in
    digitalocean)
      credentials="$run_dir/digitalocean.ini"
      (umask 077 && printf 'dns_digitalocean_token = %s\n' "${DO_TOKEN:?DO_TOKEN is not set}" > "$credentials")
      obtain lt "$tunnel_domain" --dns-digitalocean --dns-digitalocean-credentials "$credentials" \
        --dns-digitalocean-propagation-seconds 60 -d "lt.$tunnel_domain" -d "*.lt.$tunnel_domain"
      ;;
    route53)
      obtain lt "$tunnel_domain" --dns-route53 -d "lt.$tunnel_domain" -d "*.lt.$tunnel_domain"
      ;;
    vultr)
      : "${VULTR_API_KEY:?VULTR_API_KEY is not set}"
      hook=/opt/p2pvps/vultr-dns-hook.py
      obtain lt "$tunnel_domain" --manual --preferred-challenges dns --manual-auth-hook "python3 $hook auth" \
        --manual-cleanup-hook "python3 $hook cleanup" -d "lt.$tunnel_domain" -d "*.lt.$tunnel_domain"
      ;;
    none)
      echo "certbot-loop: no DNS plugin, so no *.lt.$tunnel_domain certificate; tunnels keep the bootstrap one" >&2
      ;;
    *)
      echo "certbot-loop: unknown DNS_PLUGIN '$plugin'" >&2
      return 1
      ;;
  esac
}

# run_pass: one issue/renew round; prints how many seconds to wait before the next one.
run_pass() {
  pause=$renew_every
  obtain_site || pause=$retry_after
  obtain_localtunnel || pause=$retry_after
  touch "$heartbeat"
  echo "$pause"
}

if [ "${1:-}" = "--once" ]; then
  [ "$(run_pass)" = "$renew_every" ]
  exit
fi

trap 'exit 0' TERM INT
while :; do
  pause=$(run_pass)
  sleep "$pause" &
  wait $!
done
