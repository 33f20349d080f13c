"""The ops page's monitors: each member of the monitoring pair and each exporter, up or down with
the reason, and a port that answers in something other than HTTP is down (not a failed page)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dcops.core.monitoring import PAIRED_MARKER
from dcops.server.monitor_health import monitor_states
from dcops.server.room_feed import ExporterReading
from tests.integration.monitors_stack import free_port, set_monitors


def _http(status: int) -> ThreadingHTTPServer:
    """A loopback server answering every GET with this status."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _not_http() -> socket.socket:
    """A loopback port whose listener answers every connection with a line that is not HTTP."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    threading.Thread(target=answer, daemon=True).start()
    return listener


@pytest.fixture
def paired_site(site_dir: Path) -> Iterator[Any]:
    """The site with the pair running: Prometheus healthy, its pair member's port speaking
    something else, Alertmanager answering 503 and its pair member not listening."""
    from dcops.core.loader import load_site

    healthy, failing, other = _http(200), _http(503), _not_http()
    set_monitors(
        site_dir,
        prometheus_port=healthy.server_address[1],
        pair_prometheus_port=other.getsockname()[1],
        alertmanager_port=failing.server_address[1],
        pair_alertmanager_port=free_port(),
    )
    site = load_site(site_dir)
    marker = site.paths.state / PAIRED_MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("")
    try:
        yield site
    finally:
        for server in (healthy, failing):
            server.shutdown()
            server.server_close()
        other.close()


def test_each_pair_member_and_exporter_is_shown_up_or_down_with_why(paired_site: Any) -> None:
    readings = [
        ExporterReading("127.0.0.1:9810", read_at=1.0),
        ExporterReading("127.0.0.1:9820", error="Connection refused", read_at=1.0),
        ExporterReading("127.0.0.1:9830"),
    ]
    found = {m.name: m for m in monitor_states(paired_site, readings)}
    assert list(found) == ["Prometheus", "Prometheus-2", "Alertmanager", "Alertmanager-2",
                           "127.0.0.1:9810", "127.0.0.1:9820", "127.0.0.1:9830"]  # fmt: skip
    assert found["Prometheus"].up and not found["Prometheus"].why
    assert not found["Prometheus-2"].up and "BadStatusLine" in found["Prometheus-2"].why
    assert not found["Alertmanager"].up and found["Alertmanager"].why == "HTTP 503"
    assert not found["Alertmanager-2"].up and "refused" in found["Alertmanager-2"].why
    assert found["127.0.0.1:9810"].up and found["127.0.0.1:9810"].kind == "exporter"
    assert not found["127.0.0.1:9820"].up and found["127.0.0.1:9820"].why == "Connection refused"
    assert not found["127.0.0.1:9830"].up and "not read yet" in found["127.0.0.1:9830"].why


def test_without_the_pair_only_the_first_members_are_asked(paired_site: Any) -> None:
    (paired_site.paths.state / PAIRED_MARKER).unlink()
    found = [m.name for m in monitor_states(paired_site, [])]
    assert found == ["Prometheus", "Alertmanager"]
