"""The files the components package ships (Nginx templates, host scripts), read where the package is.

Read with pathlib rather than importlib.resources, whose readers cost every evaluation about 2 ms
to import and set up; the program always runs from a source checkout.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def package_text(relative: str) -> str:
    """The text of the file at `relative` (a POSIX path) inside components/."""
    return (PACKAGE_DIR / relative).read_text()
