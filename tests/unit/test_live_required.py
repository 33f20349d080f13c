"""A skipped live test fails the run where DCOPS_LIVE_REQUIRED=1 (CI), and only there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

SAMPLE = """
import pytest

def test_live():
    pytest.skip("LIVE TEST SKIPPED: the lab cloud needs root")

def test_optional():
    pytest.skip("hypothesis profile not wanted here")

def test_real():
    assert True
"""


def run(
    tmp_path: Path, required: str | None, body: str = SAMPLE
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(body, encoding="utf-8")
    env = {
        k: v for k, v in os.environ.items() if k not in ("DCOPS_LIVE_REQUIRED", "PYTEST_ADDOPTS")
    }
    if required is not None:
        env["DCOPS_LIVE_REQUIRED"] = required
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.live_required",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            str(tmp_path),
        ],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        text=True,
        capture_output=True,
        timeout=120,
    )


def test_a_live_skip_fails_the_run_where_live_tests_are_required(tmp_path: Path) -> None:
    done = run(tmp_path, "1")
    assert done.returncode == 1, done.stdout
    assert "1 live tests skipped where DCOPS_LIVE_REQUIRED=1" in done.stdout
    assert "test_sample.py::test_live: LIVE TEST SKIPPED: the lab cloud needs root" in done.stdout
    assert "test_optional" not in done.stdout.split("live tests skipped")[1]


def test_elsewhere_a_live_skip_is_reported_but_does_not_fail(tmp_path: Path) -> None:
    done = run(tmp_path, None)
    assert done.returncode == 0, done.stdout
    assert "LIVE TEST SKIPPED: the lab cloud needs root" in done.stdout


def test_a_run_without_live_skips_passes_where_they_are_required(tmp_path: Path) -> None:
    done = run(tmp_path, "1", "def test_real():\n    assert True\n")
    assert done.returncode == 0, done.stdout
