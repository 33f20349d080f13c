"""`dcops cloud exporter` as a process: /metrics on a real socket, readings repeated, Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import DCOPS, dcops_env

SERVING = re.compile(r"serving http://127\.0\.0\.1:(\d+)/metrics")


def _scrape(port: int) -> tuple[dict[str, float], str]:
    """The samples of /metrics by series, and the whole text."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        text = answer.read().decode()
    samples = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    return samples, text


@pytest.mark.integration
def test_exporter_serves_the_last_reading_reads_again_and_stops_on_ctrl_c(site_dir: Path) -> None:
    # No cloud in this site copy: every reading fails, and the exporter says so in its metrics.
    process = subprocess.Popen(
        [str(DCOPS), "cloud", "exporter", "--listen", "127.0.0.1:0", "--interval", "5"],
        cwd=site_dir,
        env=dcops_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(process.stderr.readline, "")),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:
        deadline = time.monotonic() + 180
        while not any(SERVING.search(line) for line in lines) and time.monotonic() < deadline:
            assert process.poll() is None, "".join(lines)
            time.sleep(0.2)
        found = next((SERVING.search(line) for line in lines if SERVING.search(line)), None)
        assert found, "".join(lines)
        port = int(found.group(1))
        first, text = _scrape(port)
        assert first['dcops_cloud_usage_read_failures{site="gdc"}'] == 1
        assert "# TYPE dcops_cloud_usage_used gauge" in text
        stamp = 'dcops_cloud_usage_last_read_timestamp_seconds{site="gdc"}'
        later = first
        while later[stamp] == first[stamp] and time.monotonic() < deadline:
            time.sleep(1)
            later = _scrape(port)[0]
        assert later[stamp] > first[stamp], "no second reading within the bound"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
