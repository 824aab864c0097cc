"""The Nginx image's certificate switch, run for real: Nginx starts on a self-signed pair before any
certificate exists, then serves the issued certificate once certbot publishes it, without a restart.

Runs Debian's nginx and compose/nginx/p2pvps-tls in a private mount namespace where an overlay over
/etc and a tmpfs on /run take every write, so the script's real paths are used untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from components.catalog import COMPOSE_DIR
from components.catalog.nginx import tls_names
from components.nginx import NginxParams, render_site_config
from live_nginx import DOMAIN, main_config, self_signed
from tools import require, run

pytestmark = pytest.mark.tools

HTTP_PORT = 18180
HTTPS_PORT = 18543

DRIVER = """\
set -eu
stage=$1
mkdir -p "$stage/upper" "$stage/work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$stage/upper,workdir=$stage/work" /etc
mount -t tmpfs tmpfs /run
rm -rf /etc/nginx
cp -a "$stage/etc-nginx" /etc/nginx
served_subject() {
  openssl s_client -connect 127.0.0.1:%(https)d -servername %(domain)s </dev/null 2>/dev/null \\
    | openssl x509 -noout -subject
}
p2pvps-tls select
nginx
P2PVPS_TLS_WATCH_SECONDS=1 p2pvps-tls watch &
watcher=$!
echo "before: $(served_subject)"
echo "master before: $(cat /run/nginx.pid)"
mkdir -p /etc/letsencrypt/live/site-%(domain)s /etc/letsencrypt/p2pvps
cp "$stage/issued/fullchain.pem" "$stage/issued/privkey.pem" /etc/letsencrypt/live/site-%(domain)s/
ln -s ../live/site-%(domain)s /etc/letsencrypt/p2pvps/site
# Old workers may still answer for a moment after a reload: wait for two issued answers in a row.
streak=0
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
  sleep 1
  case "$(served_subject)" in *issued*) streak=$((streak + 1)) ;; *) streak=0 ;; esac
  [ "$streak" -ge 2 ] && break
done
echo "after: $(served_subject)"
echo "master after: $(cat /run/nginx.pid)"
echo "links: $(readlink /etc/nginx/tls/site) $(readlink /etc/nginx/tls/lt)"
kill "$watcher"
nginx -s quit
"""


def stage(tmp_path: Path) -> Path:
    etc = tmp_path / "etc-nginx"
    (etc / "conf.d").mkdir(parents=True)
    params = NginxParams(
        domain=DOMAIN,
        tunnel_domain=DOMAIN,
        http_port=HTTP_PORT,
        https_port=HTTPS_PORT,
        listen_addresses=("127.0.0.1",),
        cms_upstream="127.0.0.1:9",
        localtunnel_upstream="127.0.0.1:9",
        acme_webroot=str(tmp_path / "acme"),
        resolver=None,
    )
    (etc / "conf.d" / "default.conf").write_text(render_site_config(params))
    (etc / "nginx.conf").write_text(
        main_config(tmp_path, "/etc/nginx/conf.d/*.conf", pid="/run/nginx.pid", foreground=False)
    )
    self_signed(tmp_path / "issued", "issued")
    return tmp_path


def test_nginx_starts_self_signed_then_serves_the_issued_certificate(tmp_path: Path) -> None:
    for tool in ("nginx", "openssl", "unshare"):
        require(tool)
    script = DRIVER % {"https": HTTPS_PORT, "domain": DOMAIN}
    environment = {
        "PATH": f"{COMPOSE_DIR / 'nginx'}:/usr/sbin:/usr/bin:/sbin:/bin",
        "P2PVPS_TLS_NAMES": tls_names(DOMAIN, DOMAIN),
    }
    result = run(["unshare", "-m", "sh", "-c", script, "driver", str(stage(tmp_path))], env=environment, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert f"CN = {DOMAIN}" in lines["before"], "bootstrap pair for the site's first name"
    assert "CN = issued" in lines["after"], "the issued certificate, picked up by the watcher"
    assert lines["links"] == "/etc/letsencrypt/p2pvps/site /etc/nginx/tls-bootstrap/lt"
    assert lines["master before"] == lines["master after"], "a reload, not a restart"
