"""Two `dcops dcim serve --shard K/2` exporters share the room: each device in exactly one."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import DCOPS, RunDcops, dcops_env

pytestmark = pytest.mark.integration


@contextmanager
def shard_exporter(site_dir: Path, shard: str) -> Iterator[tuple[str, int]]:
    """An exporter for one shard on a free loopback port: its first line and its port."""
    process = subprocess.Popen(
        [str(DCOPS), "dcim", "serve", "--listen", "127.0.0.1:0", "--shard", shard,
         "--interval", "0.5", "--timeout", "0.3", "--retries", "0"],
        cwd=site_dir, env=dcops_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
        assert match, f"serve printed {line!r}"
        yield line, int(match.group(1))
    finally:
        process.terminate()
        process.wait(timeout=10)


def polled_devices(line: str, port: int) -> set[str]:
    """Devices with a dcops_dcim_device_up series, once all the exporter serves were polled."""
    serving = re.search(r"serving (\d+) devices", line)
    assert serving, line
    deadline = time.monotonic() + 20
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
        found = set(re.findall(r'^dcops_dcim_device_up\{device="([^"]+)"', text, re.M))
        if len(found) >= int(serving[1]) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_two_shards_split_the_room_between_them(simulated: RunDcops, site_dir: Path) -> None:
    with (
        shard_exporter(site_dir, "1/2") as (first_line, first),
        shard_exporter(site_dir, "2/2") as (second_line, second),
    ):
        one, two = polled_devices(first_line, first), polled_devices(second_line, second)
    assert "(shard 1/2)" in first_line and "(shard 2/2)" in second_line
    assert one and two and not one & two
    assert len(one | two) == 15
    gateway_units = {"crac-1", "crac-2", "leak-1", "door-1", "fire-1"}
    assert gateway_units <= one or gateway_units <= two  # one gateway, one exporter


def test_a_bad_shard_exits_2_saying_what_is_allowed(dcops: RunDcops) -> None:
    done = dcops("dcim", "serve", "--shard", "3/2")
    assert done.returncode == 2
    assert "--shard '3/2' is not K/N with 1 <= K <= N <= 64" in done.stderr
