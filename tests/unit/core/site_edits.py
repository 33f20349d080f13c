"""Editing a copy of the example site and reading the problems dcops finds in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.errors import InvalidInput, Problem
from dcops.core.loader import load_site


def refusals(site_dir: Path) -> list[Problem]:
    """The problems load_site reports for the site (it must refuse it)."""
    with pytest.raises(InvalidInput) as caught:
        load_site(site_dir)
    return caught.value.problems


def replace_once(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in the file with `new`; `old` must be there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
