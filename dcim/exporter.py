"""The exporter's HTTP side: /metrics for the whole inventory, /probe for one device."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from dcops.core.errors import DcopsError
from dcops.dcim.collector import DcimCollector
from dcops.dcim.poller import Poller
from dcops.dcim.probe_url import target_from_url

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_INDEX = b"""<html><head><title>dcops DCIM exporter</title></head><body>
<h1>dcops DCIM exporter</h1><p><a href="/metrics">/metrics</a> - the whole inventory</p>
<p>/probe?target=snmp://HOST:PORT%3Fsecret%3DDEVICE&amp;profile=ups-mib - one device (the community of DEVICE in the inventory)</p></body></html>
"""


MAX_HEADER_BYTES = 64 * 1024  # all header lines together; one line is bounded by the reader
# /metrics?after=N answers once the poller's count of finished device polls (sent in the header
# POLLS_HEADER) is no longer N, or after MAX_WAIT s: a reader is told of each poll at once
# instead of finding it at its next scrape.
POLLS_HEADER = "X-Dcops-Polls"
MAX_WAIT = 60.0
# Requests held for the next poll at once; more are answered at once, so anyone who can reach
# the exporter cannot pile up held connections until Prometheus' scrapes find no descriptor.
MAX_HELD = 16


class _Refused(Exception):
    """A request refused before it is read to the end: answer this status and close."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


async def _line(reader: asyncio.StreamReader, too_long: str) -> bytes:
    """One line of the request head; _Refused with too_long if it exceeds the reader's limit."""
    try:
        return await asyncio.wait_for(reader.readline(), 10)
    except ValueError:  # asyncio's limit (64 KiB) overrun: the line is not worth reading
        raise _Refused(too_long) from None


async def _discard(reader: asyncio.StreamReader, limit: int = 1 << 20) -> None:
    """Read and drop what the client still sends (bounded in bytes and time)."""
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(1.0):
            left = limit
            while left > 0 and (chunk := await reader.read(min(left, 65536))):
                left -= len(chunk)


def render(poller: Poller, site: str, version: str) -> bytes:
    """The text exposition of a poller's current state."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(DcimCollector(poller, site, version))
    return bytes(generate_latest(registry))


class Exporter:
    """Serves one poller over HTTP on an asyncio server."""

    def __init__(
        self,
        poller: Poller,
        site: str,
        version: str,
        probe_timeout: float = 5.0,
        secret: Callable[[str], str] | None = None,
    ) -> None:
        self.poller, self.site, self.version = poller, site, version
        self.probe_timeout = probe_timeout
        self.secret = secret  # resolves /probe's secret=DEVICE to that device's community
        self.server: asyncio.Server | None = None
        self.held = 0  # requests waiting for the next poll (one event loop: no lock)

    async def start(self, host: str, port: int) -> int:
        """Listen; return the port actually bound (useful with port 0)."""
        self.server = await asyncio.start_server(self._handle, host, port)
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        refused = False
        try:
            request = await _line(reader, "414 URI Too Long")
            header_bytes = 0
            while True:
                line = await _line(reader, "431 Request Header Fields Too Large")
                if line in (b"\r\n", b"\n", b""):
                    break
                header_bytes += len(line)
                if header_bytes > MAX_HEADER_BYTES:
                    raise _Refused("431 Request Header Fields Too Large")
            status, ctype, body = await self._answer(request.decode("latin-1"))
        except _Refused as too_big:
            refused = True
            status, ctype, body = too_big.status, "text/plain", f"{too_big.status}\n".encode()
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            writer.close()
            return
        head = (
            f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            f"{POLLS_HEADER}: {self.poller.polls}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode() + body)
            await writer.drain()
            if refused:  # let the client read the answer before the rest is cut off
                await _discard(reader)
        writer.close()

    async def _answer(self, request_line: str) -> tuple[str, str, bytes]:
        parts = request_line.split()
        if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
            return "405 Method Not Allowed", "text/plain", b"only GET\n"
        url = urlsplit(parts[1])
        if url.path == "/metrics":
            query = parse_qs(url.query)
            if "after" in query:
                try:
                    after = int(query["after"][-1])
                    wait = min(MAX_WAIT, float(query.get("wait", [str(MAX_WAIT)])[-1]))
                except ValueError:
                    message = "after must be a whole number of polls and wait seconds\n"
                    return "400 Bad Request", "text/plain", message.encode()
                if self.held < MAX_HELD:
                    self.held += 1
                    try:
                        await self.poller.next_poll(after, max(0.0, wait))
                    finally:
                        self.held -= 1
            return "200 OK", CONTENT_TYPE, render(self.poller, self.site, self.version)
        if url.path == "/probe":
            return await self._probe(parse_qs(url.query))
        if url.path == "/":
            return "200 OK", "text/html", _INDEX
        return "404 Not Found", "text/plain", b"not found; try /metrics or /probe\n"

    async def _probe(self, query: dict[str, list[str]]) -> tuple[str, str, bytes]:
        target_url = query.get("target", [""])[-1]
        profile = query.get("profile", [""])[-1]
        try:
            target = target_from_url(
                target_url, profile, self.probe_timeout, 1, secret=self.secret, files=False
            )
        except DcopsError as exc:
            return "400 Bad Request", "text/plain", f"{exc}\n".encode()
        poller = Poller([target], interval=self.poller.interval, clock=self.poller.clock)
        try:
            await poller.poll_all()
        finally:
            await poller.close()
        return "200 OK", CONTENT_TYPE, render(poller, self.site, self.version)

    async def close(self) -> None:
        """Stop listening."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def serve(
    poller: Poller,
    site: str,
    version: str,
    host: str,
    port: int,
    stop: asyncio.Event,
    on_ready: Callable[[int], None] | None = None,
    secret: Callable[[str], str] | None = None,
) -> None:
    """Poll every interval and serve /metrics until stop is set."""
    exporter = Exporter(poller, site, version, secret=secret)
    bound = await exporter.start(host, port)
    if on_ready is not None:
        on_ready(bound)
    try:
        await poller.run(stop)
    finally:
        await exporter.close()
        await poller.close()
