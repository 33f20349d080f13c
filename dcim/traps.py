"""The trap receiver: SNMP v2c and v3 (authPriv) traps and informs from the site's devices.

dcops listens itself, with its own SNMP codec, rather than behind Debian's snmptrapd: the
devices' credentials are already in the inventory (snmptrapd would need them copied into its
own configuration, v3 users per sending engine), a trap becomes an alert in the same process
without a fork per trap, and unknown sources and bad credentials are counted where the
exporter's metrics are.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, cast

from dcops.core.errors import DcopsError
from dcops.dcim.inventory import Target
from dcops.dcim.snmp import ber
from dcops.dcim.snmp.notification import (
    Notification,
    discovery_report,
    message_version,
    parse_v2c,
    parse_v3,
    peek_security,
    v2c_response,
    v3_response,
)
from dcops.dcim.snmp.usm import Engine, UserKeys, UsmError, user_keys
from dcops.dcim.trap_alerts import alert_for, trap_events

log = logging.getLogger(__name__)
RESULTS = ("alerted", "unmapped", "unknown_source", "bad_credentials", "malformed", "post_failed")
Poster = Callable[[list[dict[str, Any]]], None]


class TrapReceiver(asyncio.DatagramProtocol):
    """Checks each datagram's source and credentials, answers informs, posts the alerts."""

    def __init__(
        self,
        targets: Iterable[Target],
        site: str,
        post: Poster,
        engine_id: bytes,
        hold: timedelta = timedelta(minutes=5),
        runbook_base_url: str = "",
        on_posted: Poster | None = None,
        simulated: bool = False,
    ) -> None:
        self.sources = {t.host: t for t in targets if t.protocol in ("snmp", "snmpv3")}
        self.site = site
        self.post = post
        self.engine_id = engine_id
        self.started = time.monotonic()
        self.hold = hold
        self.runbook_base_url = runbook_base_url
        self.on_posted = on_posted
        # Polled series of a simulated room carry simulated="true"; the trap's alert must too,
        # or it would not merge with the rule's alert for the same condition.
        self.extra_labels = {"simulated": "true"} if simulated else {}
        self.counts: Counter[str] = Counter({r: 0 for r in RESULTS})
        self._keys: dict[tuple[str, bytes], UserKeys] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._posting = ThreadPoolExecutor(max_workers=2, thread_name_prefix="trap-post")

    @property
    def engine(self) -> Engine:
        """This receiver as an authoritative engine (for informs): id, boots, time."""
        return Engine(self.engine_id, 1, int(time.monotonic() - self.started))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the socket to answer informs on."""
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """Take one datagram; count what became of it."""
        target = self.sources.get(str(addr[0]))
        if target is None:
            self.counts["unknown_source"] += 1
            return
        try:
            notification, answer = self._open(data, target)
        except UsmError:
            self.counts["bad_credentials"] += 1
            return
        except ber.BerError:
            self.counts["malformed"] += 1
            return
        if answer is not None and self._transport is not None:
            self._transport.sendto(answer, addr)
        if notification is None:
            return
        events = trap_events(notification, target)
        if not events:
            self.counts["unmapped"] += 1
            return
        alerts = [alert_for(e, target, self.site, self.hold, self.runbook_base_url) for e in events]
        for alert in alerts:
            alert["labels"].update(self.extra_labels)
        self._posting.submit(self._post, alerts)

    def _post(self, alerts: list[dict[str, Any]]) -> None:
        try:
            self.post(alerts)
        except DcopsError as exc:
            self.counts["post_failed"] += 1
            log.warning("%s", exc)
            return
        self.counts["alerted"] += 1
        if self.on_posted is not None:
            self.on_posted(alerts)

    def _open(self, data: bytes, target: Target) -> tuple[Notification | None, bytes | None]:
        """The notification and the answer to send (inform response or discovery report)."""
        version = message_version(data)
        if version == 1:
            if target.user or not target.community:
                raise UsmError("v2c from a device set up for v3")
            community, notification = parse_v2c(data)
            if community != target.community.encode():
                raise UsmError("wrong community")
            answer = v2c_response(community, notification) if notification.inform else None
            return notification, answer
        if version != 3 or not target.user:
            raise UsmError(f"version {version} from a device set up otherwise")
        security = peek_security(data)
        if not security.engine_id:
            return None, discovery_report(data, self.engine, 1)
        if security.user != target.user.encode():
            raise UsmError("unknown user")
        keys = self._user_keys(target, security.engine_id)
        notification = parse_v3(data, keys)
        if not notification.inform:
            return notification, None
        if security.engine_id != self.engine_id:
            raise UsmError("inform not addressed to this engine")
        return notification, v3_response(security.msg_id, notification, self.engine, keys)

    def _user_keys(self, target: Target, engine_id: bytes) -> UserKeys:
        key = (target.name, engine_id)
        if key not in self._keys:
            self._keys[key] = user_keys(
                target.user, target.auth_password, target.priv_password, engine_id
            )
        return self._keys[key]

    def close(self) -> None:
        """Finish the posts under way."""
        self._posting.shutdown(wait=True)


def engine_id_for(site: str) -> bytes:
    """A stable engine id for this site's receiver (RFC 3411 text format, enterprise 0)."""
    return b"\x80\x00\x00\x00\x04" + f"dcops-traps-{site}"[:27].encode()


async def serve_traps(
    receiver: TrapReceiver,
    host: str,
    port: int,
    stop: asyncio.Event,
    on_ready: Callable[[int], None] = lambda port: None,
) -> None:
    """Listen on UDP until stop is set; on_ready gets the bound port."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: receiver, local_addr=(host, port))
    on_ready(int(transport.get_extra_info("sockname")[1]))
    try:
        await stop.wait()
    finally:
        transport.close()
        receiver.close()


class TrapCollector:
    """dcops_dcim_traps_total{result}: what became of the datagrams the receiver got."""

    def __init__(self, receiver: TrapReceiver) -> None:
        self.receiver = receiver

    def collect(self) -> Iterable[Any]:
        """One counter family, a sample per result."""
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily(
            "dcops_dcim_traps",
            "SNMP notifications received, by what became of them.",
            labels=["result"],
        )
        for result in RESULTS:
            family.add_metric([result], float(self.receiver.counts[result]))
        yield family
