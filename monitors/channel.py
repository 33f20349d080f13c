"""What every notification channel offers: send one notice to some people, or raise saying why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Recipient:
    """A person a notice is for, with the addresses the channels use."""

    user: str
    name: str
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Notice:
    """One message: a subject, a plain-text body (中文 first, then English), data for machines.

    `key` names the notice uniquely (the same notice retried keeps its key), so receivers that
    see it twice can tell.
    """

    key: str
    subject: str
    text: str
    recipients: tuple[Recipient, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)
    short: str = ""


class Channel(Protocol):
    """A way to deliver a notice (e-mail, webhook, robot, SMS); raises OperationFailed on failure."""

    name: str

    def send(self, notice: Notice) -> None:
        """Deliver the notice or raise an exception that says why not."""
