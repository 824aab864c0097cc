"""Each setting change touches only the resources the blast-radius table allows: the program is
evaluated twice under mocks (stack file's value, then the new value) and the inputs compared."""

from __future__ import annotations

import pytest

from harness import PROJECT_DIR, Registration, evaluate
from offline.blast_radius import changed_inputs, measure
from offline.blast_radius_table import ROWS, Row, markdown

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_a_setting_change_touches_only_its_resources(row: Row) -> None:
    impact = measure(row.stack, **{row.key: row.value(row.stack)})
    if row.replaces_machine:
        assert row.touches <= frozenset(impact.changed)
        assert impact.replaced, "the machine should be replaced"
    else:
        assert not impact.replaced, f"replaces the machine and with it {sorted(impact.replaced)}"
        assert set(impact.changed) == row.touches, {name: sorted(keys) for name, keys in impact.changed.items()}


def test_a_machine_replacement_takes_every_container_with_it() -> None:
    """Control for the cascade: a new droplet image replaces the droplet and everything on it."""
    impact = measure("dev", ubuntuVersion="26.04")
    replaced = impact.replaced
    assert "p2pvps-host-droplet" in replaced
    assert "p2pvps-host-ready" in replaced
    assert "p2pvps-stack-nginx-container" in replaced


def test_an_ignored_input_is_no_change() -> None:
    droplet = next(r for r in evaluate("dev").resources if r.name == "p2pvps-host-droplet")
    heeding = Registration(**{**vars(droplet), "ignore_changes": []})
    changed = Registration(**{**vars(heeding), "inputs": {**droplet.inputs, "userData": "other"}})
    assert changed_inputs(heeding, changed) == {"userData"}
    ignoring = Registration(**{**vars(changed), "ignore_changes": ["userData"]})
    assert changed_inputs(heeding, ignoring) == frozenset()


def test_the_readme_shows_the_table_the_tests_hold() -> None:
    assert markdown() in (PROJECT_DIR / "README.md").read_text(), "paste `python -m offline.blast_radius_table`"
