"""`monitors up/status/down` trust only the processes dcops started, never whoever answers."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dcops.monitors.processes import owns_port
from tests.conftest import RunDcops
from tests.integration.monitors_stack import set_monitors

pytestmark = pytest.mark.integration


class _Impostor(BaseHTTPRequestHandler):
    """Answers everything as a healthy Prometheus would."""

    def do_GET(self) -> None:
        body = json.dumps({"status": "success", "data": {"version": "2.99.0"}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def impostor() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Impostor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1]
    except (OSError, IndexError):
        return True
    return state == "Z"


def test_a_stranger_on_the_port_is_named_not_reported_running(
    dcops: RunDcops, site_dir: Path, impostor: int
) -> None:
    set_monitors(site_dir, prometheus_port=impostor, exporters=["127.0.0.1:9"])
    try:
        started = dcops("monitors", "up")
        assert started.returncode == 1, started.stdout + started.stderr
        assert f"127.0.0.1:{impostor} is taken by pid {os.getpid()}" in started.stderr
        status = dcops("monitors", "status", "--output", "json")
        assert status.returncode == 1
        prometheus = next(
            s for s in json.loads(status.stdout)["services"] if s["name"] == "prometheus"
        )
        assert not prometheus["running"] and not prometheus["ready"]
    finally:
        dcops("monitors", "down")


def test_a_damaged_pid_file_leaves_no_orphan_and_status_tells_down_from_up(
    dcops: RunDcops, site_dir: Path
) -> None:
    set_monitors(site_dir, exporters=["127.0.0.1:9"])
    assert dcops("monitors", "status").returncode == 1  # nothing runs yet
    started = dcops("monitors", "up")
    try:
        assert started.returncode == 0, started.stderr
        status = dcops("monitors", "status", "--output", "json")
        assert status.returncode == 0, status.stderr
        pids = {s["name"]: s["pid"] for s in json.loads(status.stdout)["services"]}
        pid_file = site_dir / ".dcops" / "monitors" / "prometheus.pid"
        pid_file.write_text("\x00garbage 12")
        again = json.loads(dcops("monitors", "status", "--output", "json").stdout)
        assert {s["name"]: s["pid"] for s in again["services"]} == pids
    finally:
        stopped = dcops("monitors", "down")
    assert stopped.returncode == 0 and "prometheus" in stopped.stdout
    assert all(_gone(pid) for pid in pids.values())


def test_owning_a_port_means_listening_on_it_oneself() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert owns_port(os.getpid(), port)
        assert not owns_port(1, port)
