"""Fixtures of the simulated room: the example site's devices on loopback and the exporter."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DCOPS, RunDcops, dcops_env
from tests.integration.lab_cloud import lab_cloud  # noqa: F401  (the session's lab cloud)


@pytest.fixture
def simulated(dcops: RunDcops, site_dir: Path) -> Iterator[RunDcops]:
    """The example site with its devices simulated in the background."""
    started = dcops("dcim", "simulate", "--detach", "--tick", "0.2", timeout=90)
    assert started.returncode == 0, started.stderr
    assert "simulating 15 devices (1 Modbus gateway), scenario normal" in started.stdout
    try:
        yield dcops
    finally:
        stopped = dcops("dcim", "simulate", "stop", timeout=60)
        assert stopped.returncode == 0, stopped.stderr


@pytest.fixture
def exporter(simulated: RunDcops, site_dir: Path) -> Iterator[int]:
    """`dcops dcim serve` on a free port, polling every 0.5 s; yields the port."""
    process = subprocess.Popen(
        [
            str(DCOPS),
            "dcim",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "0.5",
            "--timeout",
            "1",
        ],
        cwd=site_dir,
        env=dcops_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
    assert match, (
        f"serve printed {line!r}; stderr {process.stderr.read() if process.stderr else ''}"
    )
    try:
        yield int(match.group(1))
    finally:
        process.terminate()
        process.wait(timeout=10)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that starts the session's lab cloud `cloud`, so CI can run them together."""
    for item in items:
        if "lab_cloud" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cloud)
