"""What the Listing-Manager logs when its calls fail: the pinned upstream service, patched and laid out as the
image build does it, runs under Node with the image's dependencies against a stand-in CMS and OpenBazaar on
loopback that fail some of its calls. Neither the CMS service token nor the OpenBazaar credentials reach its
log (bind-mounted under ~/.p2pvps on the host) or its output (the container log).

The upstream files come from tests/fixtures/server-deployment2 (copies of the pinned commit); the
dependencies are those of compose/listing-manager/package-lock.json, installed with `npm ci` for the module.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from app_images import LISTING_MANAGER, SHARED, lm_env, node
from e2e_helpers import background, free_port, scratch_dir, serving, wait_until
from tools import require, run

pytestmark = pytest.mark.tools

PINNED = Path(__file__).resolve().parent / "fixtures/server-deployment2/listing-manager"
SERVICE_TOKEN = "service-token-" + "7" * 40
OB_USERNAME = "p2pvps"
OB_PASSWORD = "ob-password-" + "9" * 30
BASIC_CREDENTIAL = base64.b64encode(f"{OB_USERNAME}:{OB_PASSWORD}".encode()).decode()
DEVICE = "5a0000000000000000000d01"
DEVICE_LOGIN = "5a0000000000000000000e01"
LONG_AGO = "2018-03-24T00:00:00.000Z"

# The stand-in's answers; every other call (the device update the Listing-Manager POSTs) is refused with 403.
ANSWERS: dict[str, tuple[int, Any]] = {
    "/ob/notifications": (
        200,
        {
            "unread": 1,
            "notifications": [
                {
                    "read": False,
                    "notification": {
                        "type": "order",
                        "slug": f"rent-a-device-{DEVICE}",
                        "orderId": "order-1",
                        "notificationId": "note-1",
                    },
                }
            ],
        },
    ),
    "/ob/listings": (401, {"error": "wrong credentials"}),
    "/api/rentedDevices/list": (200, {"collection": [{"rentedDevices": [DEVICE]}]}),
    f"/api/devicePublicData/{DEVICE}": (
        200,
        {
            "collection": {
                "_id": DEVICE,
                "privateData": DEVICE_LOGIN,
                "checkinTimeStamp": LONG_AGO,
                "expiration": LONG_AGO,
                "obContract": "5a0000000000000000000c01",
            }
        },
    ),
    f"/api/devicePrivateData/{DEVICE_LOGIN}": (500, {"error": "stand-in failure"}),
}
REFUSED = (403, {"error": "refused by the stand-in"})
# A failed call to the device's login data (500), to the device update (403, logged by lib/util.js and again
# by listing-manager.js) and to the OpenBazaar listings (401).
FAILURES_LOGGED = 4


def standing_in(seen: list[tuple[str, str | None]]) -> type[BaseHTTPRequestHandler]:
    """The CMS and OpenBazaar in one server: ANSWERS by path; records each call's path and service token."""

    class StandIn(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("X-P2PVPS-Service-Token")))
            status, body = ANSWERS.get(self.path, REFUSED)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.do_GET()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: pytest output stays readable."""

    return StandIn


@pytest.fixture(scope="module")
def dependencies() -> Iterator[Path]:
    """node_modules as the image's `npm ci --omit=dev` installs it from our lockfile."""
    with scratch_dir("lm-deps") as directory:
        for name in ("package.json", "package-lock.json"):
            shutil.copy(LISTING_MANAGER / name, directory / name)
        installed = run([require("npm"), "ci", "--omit=dev", "--no-audit", "--no-fund"], cwd=directory, timeout=300)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        yield directory / "node_modules"


def assemble(app: Path, dependencies: Path) -> None:
    """The application directory as the Dockerfile lays out /opt/listing-manager, patched."""
    (app / "lib").mkdir(parents=True)
    for name in ("listing-manager.js", "lib/util.js", "lib/logger.js", "lib/express-server.js"):
        shutil.copy(PINNED / name, app / name)
    for name in ("p2pvps-config.js", "p2pvps-error.js"):
        shutil.copy(LISTING_MANAGER / name, app / "lib" / name)
    shutil.copy(SHARED / "preload.js", app / "lib/p2pvps-preload.js")
    patched = node(str(SHARED / "apply-patches.js"), str(LISTING_MANAGER / "patches/listing-manager.json"), str(app))
    assert patched.returncode == 0, patched.stderr
    (app / "node_modules").symlink_to(dependencies)
    (app / "logs").mkdir()


def test_failed_calls_log_status_and_message_but_no_credentials(tmp_path: Path, dependencies: Path) -> None:
    app = tmp_path / "listing-manager"
    assemble(app, dependencies)
    log, output = app / "logs/listing-manager.log", tmp_path / "output.log"
    seen: list[tuple[str, str | None]] = []
    with serving(standing_in(seen)) as port:
        env = lm_env(
            SERVER_URL=f"http://127.0.0.1:{port}",
            OB_URL=f"http://127.0.0.1:{port}",
            OB_USERNAME=OB_USERNAME,
            OB_PASSWORD=OB_PASSWORD,
            CMS_SERVICE_TOKEN=SERVICE_TOKEN,
            PORT=str(free_port()),
        )
        command = [require("node"), "-r", str(app / "lib/p2pvps-preload.js"), "listing-manager.js"]
        with background(command, output, env=env, cwd=app):
            wait_until(
                lambda: log.exists() and log.read_text().count("Error stringified:") >= FAILURES_LOGGED,
                "the failed calls in the log",
            )
    written = log.read_text() + output.read_text()
    assert (f"/api/devicePrivateData/{DEVICE_LOGIN}", SERVICE_TOKEN) in seen, "the CMS got the token"
    secrets = {"service token": SERVICE_TOKEN, "OB password": OB_PASSWORD, "OB Basic credential": BASIC_CREDENTIAL}
    assert [name for name, secret in secrets.items() if secret in written] == []
    logged = [
        json.loads(line.partition("Error stringified: ")[2])
        for line in log.read_text().splitlines()
        if "Error stringified: " in line
    ]
    assert {(failure["name"], failure["statusCode"]) for failure in logged} == {
        ("StatusCodeError", 500),
        ("StatusCodeError", 403),
        ("StatusCodeError", 401),
    }
    assert '500 - {"error":"stand-in failure"}' in {failure["message"] for failure in logged}
