"""The site's notification channels, built from [[monitors.channels]] with their secrets read."""

from __future__ import annotations

from pathlib import Path

from dcops.core.channels import (
    ChannelSettings,
    DingtalkChannelSettings,
    EmailChannelSettings,
    SmsChannelSettings,
    WebhookChannelSettings,
)
from dcops.core.site import Site
from dcops.monitors.channel import Channel
from dcops.monitors.dingtalk import DingtalkChannel
from dcops.monitors.mail import MailChannel
from dcops.monitors.sms import SmsChannel
from dcops.monitors.webhook_channel import WebhookChannel
from dcops.monitors.wecom import WecomChannel


def build_channel(settings: ChannelSettings, state: Path, root: Path) -> Channel:
    """One channel; InputError if a secret it needs cannot be read."""
    what = f"[[monitors.channels]] {settings.name}"
    if isinstance(settings, EmailChannelSettings):
        password = settings.password.read(state, f"{what} password") if settings.password else None
        ca_file = str(root / settings.ca_file) if settings.ca_file else None
        return MailChannel(
            settings.name,
            settings.smarthost,
            settings.sender,
            starttls=settings.starttls,
            username=settings.username,
            password=password,
            ca_file=ca_file,
            timeout=settings.timeout_s,
        )
    if isinstance(settings, WebhookChannelSettings):
        key = settings.secret.read(state, f"{what} secret") if settings.secret else None
        return WebhookChannel(settings.name, settings.url, key, settings.timeout_s)
    if isinstance(settings, DingtalkChannelSettings):
        return DingtalkChannel(
            settings.name,
            settings.url,
            settings.token.read(state, f"{what} token"),
            settings.secret.read(state, f"{what} secret"),
            settings.timeout_s,
        )
    if isinstance(settings, SmsChannelSettings):
        token = settings.token.read(state, f"{what} token") if settings.token else None
        return SmsChannel(
            settings.name, settings.url, token, settings.max_chars, settings.timeout_s
        )
    return WecomChannel(
        settings.name, settings.url, settings.key.read(state, f"{what} key"), settings.timeout_s
    )


def site_channels(site: Site) -> dict[str, Channel]:
    """Every channel of dcops.toml by name."""
    return {
        c.name: build_channel(c, site.paths.state, site.paths.root)
        for c in site.config.monitors.channels
    }
