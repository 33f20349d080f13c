"""The notifier as a service: Alertmanager's webhook receiver over HTTP plus the escalation loop."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from dcops.core.durations import duration_seconds
from dcops.core.site import Site
from dcops.monitors.alertmanager_members import ask_in_turn
from dcops.monitors.channel import Channel, Recipient
from dcops.monitors.channels import site_channels
from dcops.monitors.incidents import IncidentStore
from dcops.monitors.notifier import DutyPlan, Notifier
from dcops.monitors.silences import Silence, list_silences

MAX_BODY = 4 * 1024 * 1024


def duty_plan(site: Site) -> DutyPlan:
    """The roster, escalation and people of dcops.toml as the notifier uses them."""
    monitors = site.config.monitors
    people = {p.user: Recipient(p.user, p.name, p.email, p.phone or "") for p in site.config.people}
    return DutyPlan(
        roster=monitors.roster,
        policies=tuple(monitors.escalation),
        people=people,
        timezone=site.config.site.timezone,
        retry_initial_s=duration_seconds(monitors.retry_initial),
        retry_max_s=duration_seconds(monitors.retry_max),
        site_title=site.config.site.title,
    )


def site_notifier(
    site: Site, database: Path, channels: dict[str, Channel] | None = None
) -> Notifier:
    """A notifier for the site: its store, plan, channels and Alertmanager's silences as acks."""
    monitors, state = site.config.monitors, site.paths.state

    def silences() -> list[Silence]:
        """From the first Alertmanager that answers: the pair gossips silences to both."""
        members = monitors.alertmanager_members(state)
        return ask_in_turn(members, lambda url: list_silences(url, timeout=2)).value

    return Notifier(
        IncidentStore(database),
        duty_plan(site),
        site_channels(site) if channels is None else channels,
        silences=silences,
    )


def _handler(notifier: Notifier) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(200 if self.path in ("/-/ready", "/-/healthy") else 404, b"OK\n")

        def do_POST(self) -> None:
            if self.path != "/alerts":
                self._reply(404, b"POST notifications to /alerts\n")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                self._reply(400, b"body missing or too large\n")
                return
            try:
                payload = json.loads(self.rfile.read(length))
            except (json.JSONDecodeError, UnicodeDecodeError):
                self._reply(400, b"body is not JSON\n")
                return
            if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
                self._reply(400, b"expected an Alertmanager webhook notification\n")
                return
            # Stored before the answer: a failure here is a 5xx and Alertmanager sends again.
            notifier.receive(payload)
            self._reply(200, b"OK\n")

        def _reply(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Requests are not logged: the incident store is the record."""

    return Handler


def notifier_server(notifier: Notifier, host: str, port: int) -> ThreadingHTTPServer:
    """A bound (not yet serving) webhook receiver; port 0 picks a free port."""
    return ThreadingHTTPServer((host, port), _handler(notifier))


def serve_notifier(notifier: Notifier, host: str, port: int, stop: threading.Event) -> None:
    """Receive webhooks and run the escalation loop until stop is set."""
    server = notifier_server(notifier, host, port)
    worker = threading.Thread(target=notifier.run, args=(stop,), daemon=True)
    worker.start()
    listener = threading.Thread(target=server.serve_forever, daemon=True)
    listener.start()
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        notifier.wake.set()
        worker.join(timeout=10)
        notifier.store.close()
