"""The whole alert path on loopback: simulated room → dcops dcim serve → Prometheus → Alertmanager
→ a webhook receiver owned by the caller (a test or the latency benchmark)."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.conftest import DCOPS, dcops_env
from tests.integration.monitors_stack import set_monitors

# Short intervals so that a scenario change reaches the webhook in seconds.
POLL_INTERVAL = 0.5
SIM_TICK = 0.2
FAST_MONITORS: dict[str, object] = {
    "scrape_interval": "500ms",
    "evaluation_interval": "1s",
    "group_wait": "0s",
    "critical_group_wait": "0s",
    "group_interval": "1s",
    "repeat_interval": "1h",
    "max_for": "2s",
}


@dataclass
class Notification:
    """One webhook call: when it arrived and what Alertmanager sent."""

    received: float
    payload: dict[str, Any]


class WebhookReceiver:
    """An HTTP server on loopback that keeps every Alertmanager notification it receives."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.notifications.append(Notification(time.time(), json.loads(body)))
                    receiver._lock.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test asserts on what arrived."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Where Alertmanager should post."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def wait_for(
        self, name: str, status: str, labels: Mapping[str, str], after: float, timeout: float = 60
    ) -> tuple[float, dict[str, Any]]:
        """The first alert named name with this status and labels received after `after`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for note in self.notifications:
                    if note.received < after:
                        continue
                    for alert in note.payload.get("alerts", []):
                        got = alert.get("labels", {})
                        if (
                            alert.get("status") == status
                            and got.get("alertname") == name
                            and all(got.get(k) == v for k, v in labels.items())
                        ):
                            return note.received, alert
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted(
                        {
                            (a["labels"].get("alertname", ""), a.get("status", ""))
                            for n in self.notifications
                            for a in n.payload.get("alerts", [])
                        }
                    )
                    raise AssertionError(
                        f"no {status} {name} {dict(labels)} within {timeout:.0f} s; seen: {seen}"
                    )
                self._lock.wait(min(left, 0.5))

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


@dataclass
class AlertPath:
    """A running simulation, exporter, Prometheus and Alertmanager for one site copy."""

    site_dir: Path
    receiver: WebhookReceiver
    env: dict[str, str] = field(default_factory=lambda: dcops_env())
    _serve: subprocess.Popen[str] | None = None

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run dcops in the site copy; fail with its output if it does not succeed."""
        done = subprocess.run(
            [str(DCOPS), *args],
            cwd=self.site_dir,
            env=self.env,
            text=True,
            capture_output=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise AssertionError(f"dcops {' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done

    def start(self) -> None:
        """Simulator (normal), exporter on a free port, then the monitors pointed at both."""
        self.run("dcim", "simulate", "--scenario", "normal", "--tick", str(SIM_TICK), "--detach")
        self._serve = subprocess.Popen(
            [
                str(DCOPS),
                "dcim",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--interval",
                str(POLL_INTERVAL),
            ],
            cwd=self.site_dir,
            env=self.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        exporter = _exporter_address(self._serve)
        set_monitors(self.site_dir, exporters=[exporter], **FAST_MONITORS)
        with (self.site_dir / "dcops.toml").open("a", encoding="utf-8") as out:
            out.write(
                f'\n[[monitors.receivers]]\nname = "test-hook"\nkind = "webhook"\nurl = "{self.receiver.url}"\n'
                '\n[[monitors.routes]]\nreceiver = "test-hook"\n'
            )
        self.run("monitors", "up")

    def scenario(self, name: str) -> float:
        """Switch the simulation to a scenario; the time just before the switch was asked for."""
        asked = time.time()
        self.run("dcim", "simulate", "set-scenario", name)
        return asked

    def stop(self) -> None:
        """Stop everything this path started (each by its own pid)."""
        subprocess.run(
            [str(DCOPS), "monitors", "down"],
            cwd=self.site_dir,
            env=self.env,
            capture_output=True,
            timeout=60,
        )
        if self._serve is not None and self._serve.poll() is None:
            self._serve.terminate()
            try:
                self._serve.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._serve.kill()
                self._serve.wait(timeout=10)
        subprocess.run(
            [str(DCOPS), "dcim", "simulate", "stop"],
            cwd=self.site_dir,
            env=self.env,
            capture_output=True,
            timeout=60,
        )


_SERVING = re.compile(r"http://(127\.0\.0\.1:\d+)/metrics")


def _exporter_address(process: subprocess.Popen[str], timeout: float = 60) -> str:
    """Read the bound address from `dcops dcim serve`'s first line."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"dcops dcim serve exited: {''.join(lines)}")
        lines.append(line)
        match = _SERVING.search(line)
        if match:
            threading.Thread(target=_drain, args=(process,), daemon=True).start()
            return match[1]
    raise AssertionError(f"dcops dcim serve did not report its address: {''.join(lines)}")


def _drain(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    for _ in process.stdout:
        pass
