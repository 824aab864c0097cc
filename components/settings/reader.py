"""Typed access to the raw `p2pvps:*` strings Pulumi hands the program, collecting every problem."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TypeVar

import pulumi

from components.ports import PortRange
from components.settings.model import NAMESPACE
from components.settings.validators import quote

T = TypeVar("T")


class Problems:
    """Collects every invalid key so the user sees all of them in one run."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.messages.append(f"{NAMESPACE}:{key}: {message}")

    def raise_if_any(self) -> None:
        if self.messages:
            raise pulumi.RunError("invalid stack configuration:\n  " + "\n  ".join(self.messages))


class Reader:
    """Typed access to raw config strings; records a problem and returns None on bad input."""

    def __init__(self, raw: Mapping[str, str], problems: Problems) -> None:
        self._raw = raw
        self.problems = problems

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self._raw.get(key)
        if value is None or value.strip() == "":
            if required:
                self.problems.add(key, f"missing; set it with `pulumi config set {NAMESPACE}:{key} <value>`")
            return None
        return value.strip()

    def boolean(self, key: str, default: bool | None = None) -> bool | None:
        """`key` as true or false; `default` when it is unset (None: the key is required)."""
        value = self.text(key, required=default is None)
        if value is None:
            return default
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.problems.add(key, f"{quote(value)} is not a boolean; expected true or false")
        return None

    def integer(self, key: str, low: int, high: int) -> int | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            self.problems.add(key, f"{quote(value)} is not a whole number; expected {low} to {high}")
            return None
        if not low <= number <= high:
            self.problems.add(key, f"{number} is out of range; expected {low} to {high}")
            return None
        return number

    def port_range(self, key: str) -> PortRange | None:
        value = self.text(key)
        if value is None:
            return None
        parsed = PortRange.parse(value)
        if parsed is None or parsed.first < 1024:
            self.problems.add(key, f"{quote(value)} is not a port range; expected FIRST-LAST between 1024 and 65535")
            return None
        return parsed

    def text_list(self, key: str) -> tuple[str, ...] | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            self.problems.add(key, f"{quote(value)} is not a list of strings; write it as a YAML list")
            return None
        if not items:
            self.problems.add(key, "is empty; at least one entry is required")
            return None
        return tuple(item.strip() for item in items)

    def check(self, key: str, value: T | None, valid: Callable[[T], str | None]) -> T | None:
        """Run `valid` (which returns an error message or None) on a value that was read."""
        if value is None:
            return None
        message = valid(value)
        if message is not None:
            self.problems.add(key, message)
            return None
        return value
