"""The shift log: a small webhook receiver that appends each Alertmanager notification as a JSON line."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_BODY = 4 * 1024 * 1024


class AlertLog:
    """Appends notifications to a JSON-lines file, one writer at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)

    def append(self, notification: dict[str, Any]) -> None:
        """Write one notification with the time it was received."""
        record = {"received_at": datetime.now(UTC).isoformat(), **notification}
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line)


def read_alert_log(path: Path) -> list[dict[str, Any]]:
    """Every notification recorded so far (a torn last line is skipped)."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _handler(log: AlertLog) -> type[BaseHTTPRequestHandler]:
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
            log.append(payload)
            self._reply(200, b"OK\n")

        def _reply(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Requests are not logged: the JSON lines are the record."""

    return Handler


def alert_sink_server(host: str, port: int, path: Path) -> ThreadingHTTPServer:
    """A bound (not yet serving) shift-log server; port 0 picks a free port."""
    return ThreadingHTTPServer((host, port), _handler(AlertLog(path)))
