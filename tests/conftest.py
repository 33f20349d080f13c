"""Fixtures shared by all tests: a private copy of the example site and a way to run dcops."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests.live_required import pytest_sessionfinish  # noqa: F401  (a hook: CI fails on live skips)

REPO = Path(__file__).resolve().parent.parent
SITE_DATA = ("dcops.toml", "inventory", "playbooks", "monitors")
DCOPS = Path(sys.executable).parent / "dcops"

RunDcops = Callable[..., subprocess.CompletedProcess[str]]


def copy_site(target: Path) -> Path:
    """Copy the example site's data (not its state) into target and return target."""
    target.mkdir(parents=True, exist_ok=True)
    for name in SITE_DATA:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        elif source.is_file():
            shutil.copy2(source, target / name)
    return target


def dcops_env(user: str = "zhangwei", extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A predictable environment for the dcops console script."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DCOPS_")}
    env.update(
        {
            "DCOPS_USER": user,
            "COLUMNS": "100",
            "NO_COLOR": "1",
            "TERM": "dumb",
            "PATH": f"{DCOPS.parent}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    env.update(extra or {})
    return env


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """A private, writable copy of the example site."""
    return copy_site(tmp_path / "site")


@pytest.fixture
def dcops(site_dir: Path) -> RunDcops:
    """Run the installed dcops console script in the site copy; returns the finished process."""
    assert DCOPS.exists(), f"dcops console script not installed next to {sys.executable}"

    def run(
        *args: str,
        user: str = "zhangwei",
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DCOPS), *args],
            cwd=cwd or site_dir,
            env=dcops_env(user, env),
            text=True,
            capture_output=True,
            timeout=timeout,
            input=input,
        )

    return run
