"""Tenancy events through the channels of [[monitors.channels]]: DingTalk and WeCom robots, SMS,
e-mail and webhooks, the same transports the alerts use, named in `[notifications] channels`."""

from __future__ import annotations

import re

from dcops.core.channels import (
    ChannelSettings,
    DingtalkChannelSettings,
    EmailChannelSettings,
    SmsChannelSettings,
    WecomChannelSettings,
)
from dcops.core.site import Site
from dcops.monitors.channel import Notice, Recipient
from dcops.monitors.channels import build_channel
from dcops.tenancy.records import OutboxRecord, RequestRecord

PHONE_KINDS = (SmsChannelSettings, DingtalkChannelSettings, WecomChannelSettings)
MOBILE = re.compile(r"\+?[0-9]{5,15}")


def event_settings(site: Site) -> dict[str, ChannelSettings]:
    """The channels tenancy events go to, by name, in the order dcops.toml lists them."""
    known = {c.name: c for c in site.config.monitors.channels}
    return {name: known[name] for name in site.config.notifications.channels if name in known}


def phones(site: Site, record: RequestRecord) -> list[str]:
    """Mobile numbers of the requester, the department's contacts and the approvers."""
    found: list[str] = []
    person = site.person(record.requester)
    if person is not None and person.phone:
        found.append(person.phone)
    contacts = record.spec.get("contacts", [])
    if isinstance(contacts, list):
        found += [str(c.get("phone")) for c in contacts if isinstance(c, dict)]
    found += [p.phone for p in site.config.people if "approver" in p.roles and p.phone]
    # A contact's landline (0356-0000000) takes no SMS and no @: only mobile numbers are kept.
    return list(dict.fromkeys(n for n in found if MOBILE.fullmatch(n)))


def addresses(settings: ChannelSettings, emails: list[str], numbers: list[str]) -> list[str]:
    """Whom a channel addresses: e-mail addresses, mobile numbers (SMS, robots' @), or nobody."""
    if isinstance(settings, EmailChannelSettings):
        return emails
    if isinstance(settings, PHONE_KINDS):
        return numbers
    return []


def event_notice(message: OutboxRecord, settings: ChannelSettings) -> Notice:
    """The outbox message as a notice: the same key on every try, so a receiver can tell repeats."""
    by_phone = isinstance(settings, PHONE_KINDS)
    recipients = tuple(
        Recipient(a, a, phone=a) if by_phone else Recipient(a, a, email=a)
        for a in message.recipients
    )
    return Notice(
        key=f"dcops-tenancy-{message.id}",
        subject=message.subject,
        text=message.body,
        recipients=recipients,
        payload=dict(message.payload),
        short=message.subject,
    )


class EventChannel:
    """One channel of [[monitors.channels]] delivering outbox messages; its secrets are read per
    try, so a missing secret is a failed try that is retried, not a stopped round."""

    def __init__(self, site: Site, settings: ChannelSettings) -> None:
        self.site = site
        self.settings = settings

    def send(self, message: OutboxRecord) -> None:
        """Deliver through the channel; raises saying why not."""
        paths = self.site.paths
        channel = build_channel(self.settings, paths.state, paths.root)
        channel.send(event_notice(message, self.settings))


def event_channels(site: Site) -> dict[str, EventChannel]:
    """The channels `[notifications] channels` names, ready to deliver."""
    return {name: EventChannel(site, s) for name, s in event_settings(site).items()}
