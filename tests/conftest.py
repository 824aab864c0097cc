import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tools
from harness import Evaluation, evaluate

pytest_plugins = ["docker_daemon"]
TIERS = ("unit", "tools", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test belongs to exactly one tier, declared by its module's `pytestmark`."""
    for item in items:
        tiers = [marker.name for marker in item.iter_markers() if marker.name in TIERS]
        if len(tiers) != 1:
            raise pytest.UsageError(f"{item.nodeid}: set `pytestmark` to exactly one of {', '.join(TIERS)}")


@pytest.fixture(autouse=True)
def _unit_tests_use_no_real_tool(request: pytest.FixtureRequest) -> Iterator[None]:
    """The unit tier's promise (seconds, no root, nothing installed) holds: `tools.require` fails in it."""
    tools.refusing_tools = request.node.get_closest_marker("unit") is not None
    yield
    tools.refusing_tools = False


# One evaluation per example stack for the whole session, shared by every test module that reads it.
@pytest.fixture(scope="session")
def dev() -> Evaluation:
    return evaluate("dev")


@pytest.fixture(scope="session")
def aws() -> Evaluation:
    return evaluate("aws-us-east-1")


@pytest.fixture(scope="session")
def vultr() -> Evaluation:
    return evaluate("vultr-ewr")


@pytest.fixture(scope="session")
def local() -> Evaluation:
    return evaluate("local")
