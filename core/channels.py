"""The notification channels of dcops.toml ([[monitors.channels]]): how a message reaches people."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field

from dcops.core.secrets import SecretRef
from dcops.core.strict import Strict

CHANNEL_KINDS = ("email", "webhook", "dingtalk", "wecom", "sms")
_NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    if "?" in value:
        raise ValueError(f"{value!r} has a query; tokens and keys go in a secret reference")
    return value


def _smarthost(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT; allowed: e.g. mail.example.gov.cn:587")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
Timeout = Annotated[float, Field(gt=0, le=60)]


class EmailChannelSettings(Strict):
    """E-mail through an SMTP relay, upgraded with STARTTLS; the password from a secret reference."""

    name: str = Field(pattern=_NAME)
    kind: Literal["email"]
    smarthost: Annotated[str, AfterValidator(_smarthost)]
    sender: Annotated[str, AfterValidator(_email)] = Field(alias="from")
    username: str | None = None
    password: SecretRef | None = None
    starttls: bool = True
    ca_file: str | None = Field(
        None,
        description="PEM file of the CA that signed the relay's certificate (else the system's)",
    )
    timeout_s: Timeout = 10

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WebhookChannelSettings(Strict):
    """A JSON POST of the alert, signed with HMAC-SHA256 when a key is given."""

    name: str = Field(pattern=_NAME)
    kind: Literal["webhook"]
    url: HttpUrl
    secret: SecretRef | None = None
    timeout_s: Timeout = 10


class DingtalkChannelSettings(Strict):
    """A DingTalk group robot (钉钉群机器人) with its signing secret (加签)."""

    name: str = Field(pattern=_NAME)
    kind: Literal["dingtalk"]
    url: HttpUrl = "https://oapi.dingtalk.com/robot/send"
    token: SecretRef
    secret: SecretRef
    timeout_s: Timeout = 10


class WecomChannelSettings(Strict):
    """A WeCom group robot (企业微信群机器人), addressed by its key."""

    name: str = Field(pattern=_NAME)
    kind: Literal["wecom"]
    url: HttpUrl = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    key: SecretRef
    timeout_s: Timeout = 10


class SmsChannelSettings(Strict):
    """An SMS gateway over HTTP: a JSON POST of numbers and text, with a bearer token."""

    name: str = Field(pattern=_NAME)
    kind: Literal["sms"]
    url: HttpUrl
    token: SecretRef | None = None
    max_chars: int = Field(300, ge=70, le=1000)
    timeout_s: Timeout = 10


ChannelSettings = Annotated[
    EmailChannelSettings
    | WebhookChannelSettings
    | DingtalkChannelSettings
    | WecomChannelSettings
    | SmsChannelSettings,
    Field(discriminator="kind"),
]
