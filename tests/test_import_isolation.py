"""A stack imports only the cloud SDK it uses: a preview of a DigitalOcean or local stack never pays
for pulumi_aws (about 0.7 s and 40 MB, see the README's Performance section) and the reverse. Each
stack runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness import PROJECT_DIR

pytestmark = pytest.mark.unit

CLOUD_SDKS = ("pulumi_aws", "pulumi_digitalocean", "ediri_vultr")
EXPECTED = {
    "dev": {"pulumi_digitalocean"},
    "ams3": {"pulumi_digitalocean"},
    "aws-us-east-1": {"pulumi_aws"},
    "vultr-ewr": {"ediri_vultr"},
    "local": set(),
}

PROBE = """
import json, sys
sys.path[:0] = [{root!r}]
from offline.evaluate import evaluate

evaluate({stack!r})
print(json.dumps(sorted(name for name in {sdks!r} if name in sys.modules)))
"""


@pytest.mark.parametrize(("stack", "sdks"), sorted(EXPECTED.items()))
def test_a_stack_imports_exactly_its_own_cloud_sdk(stack: str, sdks: set[str]) -> None:
    probe = PROBE.format(root=str(PROJECT_DIR), stack=stack, sdks=CLOUD_SDKS)
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout.strip().splitlines()[-1])) == sdks
