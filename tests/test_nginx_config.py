"""The Nginx configuration exactly as the program uploads it, checked by nginx itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness import containers, evaluate, stack_names
from live_nginx import main_config, self_signed
from tools import require, run

pytestmark = pytest.mark.tools

NGINX_CONF_DIR = Path("/etc/nginx")


def uploaded_config(stack: str) -> str:
    nginx = containers(evaluate(stack))["nginx"]
    (upload,) = [u for u in nginx.plain("uploads") if u["file"] == "/etc/nginx/conf.d/default.conf"]
    return upload["content"]


def nginx_test(config: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on the production text at its production paths, inside a private mount namespace
    where a tmpfs stands in for /etc/nginx (the image's layout: conf.d, tls/<name>)."""
    staging = tmp_path / "etc-nginx"
    (staging / "conf.d").mkdir(parents=True)
    (staging / "conf.d" / "default.conf").write_text(config)
    for name in ("site", "lt"):
        self_signed(staging / "tls" / name, name)
    (staging / "nginx.conf").write_text(main_config(tmp_path, f"{NGINX_CONF_DIR}/conf.d/*.conf"))
    script = (
        f'mount -t tmpfs tmpfs {NGINX_CONF_DIR} && cp -a "$0"/. {NGINX_CONF_DIR}/ '
        f"&& exec nginx -t -c {NGINX_CONF_DIR}/nginx.conf"
    )
    return run([require("unshare"), "-m", "sh", "-c", script, str(staging)])


@pytest.mark.parametrize("stack", stack_names())
def test_nginx_accepts_the_uploaded_configuration(stack: str, tmp_path: Path) -> None:
    require("nginx")
    result = nginx_test(uploaded_config(stack), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_check_can_fail(tmp_path: Path) -> None:
    require("nginx")
    broken = uploaded_config("dev").replace("proxy_pass ", "proxy_pas ", 1)
    result = nginx_test(broken, tmp_path)
    assert result.returncode != 0
    assert 'unknown directive "proxy_pas"' in result.stderr
