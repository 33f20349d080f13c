"""The SMS gateway over HTTP: numbers and a short text as JSON, a bearer token if the gateway wants one."""

from __future__ import annotations

from dcops.core.errors import OperationFailed
from dcops.monitors.channel import Notice
from dcops.monitors.posting import post_json


def sms_text(notice: Notice, max_chars: int) -> str:
    """The short form of the notice, cut to max_chars characters."""
    text = notice.short or notice.subject
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


class SmsChannel:
    """One POST per notice: {"id", "phones", "text"}; 2xx is delivered."""

    def __init__(
        self, name: str, url: str, token: str | None, max_chars: int, timeout: float
    ) -> None:
        self.name = name
        self.url = url
        self._token = token
        self.max_chars = max_chars
        self.timeout = timeout

    def send(self, notice: Notice) -> None:
        """Text every recipient that has a phone number."""
        phones = [r.phone for r in notice.recipients if r.phone]
        if not phones:
            names = ", ".join(r.user for r in notice.recipients) or "nobody"
            raise OperationFailed(f"SMS {self.name}: no phone number for {names}")
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        body = {"id": notice.key, "phones": phones, "text": sms_text(notice, self.max_chars)}
        post_json(
            self.url, body, what=f"SMS gateway {self.name}", timeout=self.timeout, headers=headers
        )
