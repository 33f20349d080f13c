"""Notifications of tenancy transitions: written to the outbox with the transition, then delivered."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcops.core.site import Notifications, Site, SmtpSettings, WebhookSettings
from dcops.tenancy.records import HistoryRecord, OutboxRecord, RequestRecord
from dcops.tenancy.states import STATE_TITLES
from dcops.tenancy.store import Store

SMTP, WEBHOOK = "smtp", "webhook"


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
    configured = channels_for(site.config.notifications)
    if not configured:
        return []
    subject, body = _text(record, history)
    payload = _payload(site, record, history)
    now = datetime.datetime.now(datetime.UTC)
    rows = []
    for channel in configured:
        row = OutboxRecord(
            request_id=record.id,
            history_id=history.id,
            channel=channel,
            recipients=recipients(site, record) if channel == SMTP else [],
            subject=subject,
            body=body,
            payload=payload,
            attempts=0,
            created_at=now,
        )
        session.add(row)
        rows.append(row)
    return rows


def _text(record: RequestRecord, history: HistoryRecord) -> tuple[str, str]:
    state = STATE_TITLES[history.to_state]
    subject = f"[dcops] 租户申请 #{record.id} {record.name}: {state}"
    lines = [
        f"租户申请 #{record.id}（{record.name}，部门 {record.department}）状态变为：{state}。",
        f"操作人：{history.actor}；时间：{history.at.isoformat(timespec='seconds')}。",
    ]
    if history.reason:
        lines.append(f"说明：{history.reason}")
    lines += [
        "",
        f"Tenancy request #{record.id} ({record.name}, department {record.department}) "
        f"is now {history.to_state}.",
        f"By {history.actor} at {history.at.isoformat(timespec='seconds')}.",
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


def attempt(
    message: OutboxRecord, channel: Channel, tries: int, delay_s: float
) -> tuple[bool, str | None, int]:
    """Try to deliver up to `tries` times, doubling the pause; (delivered, last error, tries made)."""
    error: str | None = None
    for number in range(1, tries + 1):
        try:
            channel.send(message)
            return True, None, number
        except Exception as exc:  # any failure of a transport is reported, never raised
            error = f"{type(exc).__name__}: {exc}"
        if number < tries:
            time.sleep(delay_s * 2 ** (number - 1))
    return False, error, tries


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
    return override if override is not None else channels_for(site.config.notifications)


def deliver_pending(
    site: Site, store: Store, channels: Mapping[str, Channel] | None = None
) -> list[Delivery]:
    """Try every undelivered notification; record each outcome. Never raises for a transport."""
    available = channel_map(site, channels)
    settings = site.config.notifications
    with store.reading() as session:
        queued = pending(session)
        session.expunge_all()
    outcomes = []
    for message in queued:
        channel = available.get(message.channel) or unknown_channel(message.channel)
        delivered, error, tries = attempt(
            message, channel, settings.attempts, settings.retry_delay_s
        )
        with store.writing() as session:
            row = session.get(OutboxRecord, message.id)
            if row is None or row.delivered_at is not None:
                continue
            row.attempts += tries
            row.last_error = error
            if delivered:
                row.delivered_at = datetime.datetime.now(datetime.UTC)
            total = row.attempts
        outcomes.append(
            Delivery(message.id, message.request_id, message.channel, delivered, total, error)
        )
    return outcomes
