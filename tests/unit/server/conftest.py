"""Fixtures for the server's unit tests: cheap Argon2id hashes and a site copy of what they read.

The site's Argon2id cost (46 MiB, 2 passes) is there to slow down guessing, and it made each
login in these tests take a tenth of a second; mutation testing runs them thousands of times.
Here hashes use Argon2id's smallest cost, so every check is still a real Argon2id check. The
tests of the site's own cost (test_passwords.py, the stand-in hash) put the real hasher back.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcops.server import passwords
from tests.conftest import REPO


@pytest.fixture(scope="session", autouse=True)
def cheap_argon2() -> Iterator[None]:
    """Argon2id at its smallest cost (8 KiB, 1 pass) for every server unit test."""
    from argon2 import PasswordHasher, Type

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", cheap)
        yield


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """A private copy of the example site's dcops.toml and inventory (all a server test reads)."""
    target = tmp_path / "site"
    target.mkdir()
    shutil.copy2(REPO / "dcops.toml", target / "dcops.toml")
    shutil.copytree(REPO / "inventory", target / "inventory")
    return target
