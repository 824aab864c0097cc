"""A server's user data is the same bytes whichever YAML emitter renders it: the program uses libyaml's
where PyYAML has it and the pure-Python one where not, and on DigitalOcean and Vultr a byte of
difference replaces the server."""

from __future__ import annotations

import pytest
import yaml

from components.cloud_init import represent_str
from harness import cloud_stacks, evaluate, machine

pytestmark = pytest.mark.unit


class PurePythonDumper(yaml.SafeDumper):
    """The pure-Python emitter with the program's string representation."""


PurePythonDumper.add_representer(str, represent_str)


@pytest.mark.parametrize("stack", cloud_stacks())
def test_user_data_is_what_the_pure_python_emitter_writes(stack: str) -> None:
    rendered = machine(evaluate(stack)).plain("userData")
    header, _, body = rendered.partition("\n")
    document = yaml.safe_load(body)
    assert header == "#cloud-config"
    assert body == yaml.dump(document, Dumper=PurePythonDumper, sort_keys=False, width=1000)
