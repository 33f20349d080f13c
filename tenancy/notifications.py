"""Notifications of tenancy transitions: written to the outbox with the transition, delivered apart.

Commands only enqueue; `dcops tenancy notifications --deliver` (from a timer, or the server)
delivers, with bounded tries and exponential back-off, so an SMTP or webhook outage never
slows a tenancy command down.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import smtplib
import socket
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcops.core.channels import SmsChannelSettings
from dcops.core.site import Notifications, Site, SmtpSettings, WebhookSettings
from dcops.tenancy.event_channels import addresses, event_channels, event_settings, phones
from dcops.tenancy.records import HistoryRecord, OutboxRecord, RequestRecord
from dcops.tenancy.states import STATE_TITLES
from dcops.tenancy.store import Store

SMTP, WEBHOOK = "smtp", "webhook"
BATCH = 20  # messages claimed at a time
MAX_BATCHES = 500  # one round handles at most BATCH * MAX_BATCHES messages
LEASE_S = 60.0  # how long a claim holds beyond the channel's timeout
MAX_PAUSE_S = 3600.0


class Channel(Protocol):
    """A way to deliver one outbox message; raises on failure."""

    def send(self, message: OutboxRecord) -> None:
        """Deliver the message or raise an exception that says why not."""


@dataclass(frozen=True)
class Delivery:
    """The outcome of trying to deliver one outbox message."""

    outbox_id: int
    request_id: int
    channel: str
    delivered: bool
    attempts: int
    error: str | None


class SmtpChannel:
    """E-mail through the site's mail relay."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, message: OutboxRecord) -> None:
        """Send the message as a plain-text UTF-8 e-mail to its recipients."""
        mail = EmailMessage()
        mail["From"] = self.settings.sender
        mail["To"] = ", ".join(message.recipients)
        mail["Subject"] = message.subject
        mail["Message-ID"] = f"<dcops-outbox-{message.id}@{self.settings.sender.split('@')[1]}>"
        mail.set_content(message.body)
        with smtplib.SMTP(
            self.settings.host, self.settings.port, timeout=self.settings.timeout_s
        ) as smtp:
            if self.settings.starttls:
                smtp.starttls()
            if self.settings.username:
                password = os.environ.get(self.settings.password_env or "", "")
                smtp.login(self.settings.username, password)
            smtp.send_message(mail)


class WebhookChannel:
    """A JSON POST to the site's webhook, signed with HMAC-SHA256 when a key is set."""

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings

    def send(self, message: OutboxRecord) -> None:
        """POST the transition; any status other than 2xx is a failure."""
        body = json.dumps(message.payload, ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "dcops"}
        key = os.environ.get(self.settings.secret_env or "", "")
        if key:
            digest = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Dcops-Signature"] = f"sha256={digest}"
        request = urllib.request.Request(self.settings.url, body, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as reply:
                status = reply.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        if not 200 <= status < 300:
            raise OSError(f"webhook answered HTTP {status}")


def channels_for(settings: Notifications) -> dict[str, Channel]:
    """The channels dcops.toml configures."""
    found: dict[str, Channel] = {}
    if settings.smtp is not None:
        found[SMTP] = SmtpChannel(settings.smtp)
    if settings.webhook is not None:
        found[WEBHOOK] = WebhookChannel(settings.webhook)
    return found


def channel_names(site: Site) -> list[str]:
    """Every channel tenancy events go to: the mail relay, the webhook, then `channels`."""
    settings = site.config.notifications
    return [*channels_for(settings), *event_settings(site)]


def recipients(site: Site, record: RequestRecord) -> list[str]:
    """Who hears about a request: the requester, the department's contacts and the approvers."""
    found: list[str] = []
    person = site.person(record.requester)
    if person is not None:
        found.append(person.email)
    contacts = record.spec.get("contacts", [])
    if isinstance(contacts, list):
        found += [str(c["email"]) for c in contacts if isinstance(c, dict) and "email" in c]
    found += [p.email for p in site.config.people if "approver" in p.roles]
    return list(dict.fromkeys(found))


def enqueue(
    session: Session, site: Site, record: RequestRecord, history: HistoryRecord
) -> list[OutboxRecord]:
    """Write the notifications of one transition into the outbox, in the transition's transaction."""
    configured = channel_names(site)
    if not configured:
        return []
    subject, body = _text(record, history, site.config.site.timezone)
    payload = _payload(site, record, history)
    now = datetime.datetime.now(datetime.UTC)
    emails, numbers, events = recipients(site, record), phones(site, record), event_settings(site)
    rows = []
    for channel in configured:
        to = addresses(events[channel], emails, numbers) if channel in events else []
        if channel == SMTP:
            to = emails
        if channel in events and isinstance(events[channel], SmsChannelSettings) and not to:
            continue  # nobody to text: a message that can never be delivered is not queued
        row = OutboxRecord(
            request_id=record.id,
            history_id=history.id,
            channel=channel,
            recipients=to,
            subject=subject,
            body=body,
            payload=payload,
            attempts=0,
            created_at=now,
        )
        session.add(row)
        rows.append(row)
    return rows


def _text(record: RequestRecord, history: HistoryRecord, zone: str) -> tuple[str, str]:
    state = STATE_TITLES[history.to_state]
    when = history.at.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")
    subject = f"[dcops] 租户申请 #{record.id} {record.name}: {state}"
    lines = [
        f"租户申请 #{record.id}（{record.name}，部门 {record.department}）状态变为：{state}。",
        f"操作人：{history.actor}；时间：{when}。",
    ]
    if history.reason:
        lines.append(f"说明：{history.reason}")
    lines += [
        "",
        f"Tenancy request #{record.id} ({record.name}, department {record.department}) "
        f"is now {history.to_state}.",
        f"By {history.actor} at {when}.",
    ]
    if history.reason:
        lines.append(f"Reason: {history.reason}")
    lines += ["", f"dcops tenancy show {record.id}"]
    return subject, "\n".join(lines) + "\n"


def _payload(site: Site, record: RequestRecord, history: HistoryRecord) -> dict[str, object]:
    return {
        "site": site.name,
        "request_id": record.id,
        "tenancy": record.name,
        "department": record.department,
        "kind": record.kind,
        "from_state": history.from_state,
        "state": history.to_state,
        "actor": history.actor,
        "at": history.at.isoformat(),
        "reason": history.reason,
        "expires": record.expires.isoformat(),
    }


def pending(session: Session) -> list[OutboxRecord]:
    """Notifications not yet delivered, oldest first."""
    return list(
        session.scalars(
            select(OutboxRecord)
            .where(OutboxRecord.delivered_at.is_(None))
            .order_by(OutboxRecord.id)
        )
    )


def unknown_channel(name: str) -> Channel:
    """A channel for messages whose channel dcops.toml no longer configures: always fails."""
    return _Unconfigured(name)


@dataclass
class _Unconfigured:
    name: str

    def send(self, message: OutboxRecord) -> None:
        raise OSError(f"channel {self.name!r} is no longer configured in [notifications]")


def channel_map(site: Site, override: Mapping[str, Channel] | None) -> Mapping[str, Channel]:
    """The channels to deliver through: injected ones (tests, tools) or those of dcops.toml."""
    if override is not None:
        return override
    return {**channels_for(site.config.notifications), **event_channels(site)}


def backoff(settings: Notifications, attempts: int) -> datetime.timedelta:
    """The pause after the attempts-th failed try: doubling from retry_delay_s, at most an hour."""
    return datetime.timedelta(
        seconds=min(settings.retry_delay_s * 2 ** (attempts - 1), MAX_PAUSE_S)
    )


def deliver_pending(
    site: Site,
    store: Store,
    channels: Mapping[str, Channel] | None = None,
    *,
    everything: bool = False,
    worker: str | None = None,
) -> list[Delivery]:
    """One delivery round: claim what is due, try each once, record the outcome; never raises.

    Due means undelivered, fewer than `attempts` tries so far and its back-off pause over;
    `everything` also takes given-up and waiting messages (an operator's retry). A claim is a
    lease written under the store's write lock, so deliverers running at once never send the
    same message twice.
    """
    available = channel_map(site, channels)
    settings = site.config.notifications
    me = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    tried: set[int] = set()
    outcomes: list[Delivery] = []
    for _ in range(MAX_BATCHES):
        batch = _claim(store, settings, me, tried, everything, _timeout(site))
        if not batch:
            break
        for message in batch:
            tried.add(message.id)
            channel = available.get(message.channel) or unknown_channel(message.channel)
            error: str | None = None
            try:
                channel.send(message)
            except Exception as exc:  # any failure of a transport is reported, never raised
                error = f"{type(exc).__name__}: {exc}"
            outcome = _settle(store, settings, me, message, error)
            if outcome is not None:
                outcomes.append(outcome)
    return outcomes


def _claim(
    store: Store,
    settings: Notifications,
    me: str,
    tried: set[int],
    everything: bool,
    timeout_s: float,
) -> list[OutboxRecord]:
    """Lease up to BATCH due messages to this deliverer, for as long as sending them all may take
    (they are sent one after another, each within its channel's timeout)."""
    now = _now()
    with store.writing() as session:
        query = (
            select(OutboxRecord)
            .where(OutboxRecord.delivered_at.is_(None))
            .where(OutboxRecord.claimed_until.is_(None) | (OutboxRecord.claimed_until < now))
            .order_by(OutboxRecord.id)
        )
        if tried:
            query = query.where(OutboxRecord.id.not_in(tried))
        if not everything:
            query = query.where(OutboxRecord.attempts < settings.attempts).where(
                OutboxRecord.next_attempt_at.is_(None) | (OutboxRecord.next_attempt_at <= now)
            )
        rows = list(session.scalars(query.limit(BATCH)))
        lease = datetime.timedelta(seconds=LEASE_S + len(rows) * timeout_s)
        for row in rows:
            row.claimed_by, row.claimed_until = me, now + lease
        session.flush()
        session.expunge_all()
    return rows


def _settle(
    store: Store, settings: Notifications, me: str, message: OutboxRecord, error: str | None
) -> Delivery | None:
    """Record one try of a message this deliverer holds; None if its lease was lost meanwhile."""
    with store.writing() as session:
        row = session.get(OutboxRecord, message.id)
        if row is None or row.delivered_at is not None or row.claimed_by != me:
            return None
        now = _now()
        row.attempts += 1
        row.claimed_by, row.claimed_until = None, None
        row.last_error = error
        if error is None:
            row.delivered_at = now
        else:
            row.next_attempt_at = now + backoff(settings, row.attempts)
        return Delivery(row.id, row.request_id, row.channel, error is None, row.attempts, error)


def _timeout(site: Site) -> float:
    """The longest one send may take: the slowest timeout of the tenancy events' channels."""
    settings = site.config.notifications
    named = set(settings.channels)
    events = [c.timeout_s for c in site.config.monitors.channels if c.name in named]
    own = [c.timeout_s for c in (settings.smtp, settings.webhook) if c is not None]
    return float(max(own + events, default=0.0))


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
