"""plans/<stack>.md: the offline plan of every example stack, committed and kept current."""

from __future__ import annotations

import pytest

from harness import SENTINEL, stack_names
from offline.plan import PLANS_DIR, plan_path, render_plan

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("stack", stack_names())
def test_committed_plan_is_current(stack: str) -> None:
    assert plan_path(stack).exists(), f"run `make plans` and commit plans/{stack}.md"
    assert plan_path(stack).read_text() == render_plan(stack), (
        f"plans/{stack}.md is stale: the program or Pulumi.{stack}.yaml changed; run `make plans` and commit it"
    )


def test_there_is_a_plan_for_exactly_the_example_stacks() -> None:
    assert sorted(path.stem for path in PLANS_DIR.glob("*.md")) == stack_names()


def test_plan_says_it_is_desired_state_not_a_diff() -> None:
    assert "**Desired state, not a diff.**" in render_plan("dev")


def test_a_firewall_port_change_shows_in_the_plan() -> None:
    before, after = render_plan("dev"), render_plan("dev", overrides={"sshTunnelPorts": "7001-7100"})
    assert "| 6101-6200 | tcp | 0.0.0.0/0, ::/0 | SSH tunnels |" in before
    assert "| 7001-7100 | tcp | 0.0.0.0/0, ::/0 | SSH tunnels |" in after
    assert "7001-7100/tcp<-0.0.0.0/0,::/0" in after and "6101-6200/tcp" not in after


@pytest.mark.parametrize("stack", stack_names())
def test_plans_show_no_secret(stack: str) -> None:
    plan = render_plan(stack)
    assert SENTINEL not in plan
    assert "[secret]" in plan
