"""The generic webhook channel: the notice as JSON, signed with HMAC-SHA256 over timestamp and body."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import asdict

from dcops.monitors.channel import Notice
from dcops.monitors.posting import post_json


def webhook_signature(key: str, timestamp: str, body: bytes) -> str:
    """The X-Dcops-Signature header value: sha256= hex HMAC of "<timestamp>." + body."""
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def webhook_body(notice: Notice) -> dict[str, object]:
    """What the webhook receives: key, subject, text, recipients and the alert's data."""
    return {
        "key": notice.key,
        "subject": notice.subject,
        "text": notice.text,
        "recipients": [asdict(r) for r in notice.recipients],
        **notice.payload,
    }


class WebhookChannel:
    """POSTs each notice as JSON to one URL; 2xx is delivered."""

    def __init__(self, name: str, url: str, key: str | None, timeout: float) -> None:
        self.name = name
        self.url = url
        self._key = key
        self.timeout = timeout

    def send(self, notice: Notice) -> None:
        """POST the notice with its delivery key (and signature when a key is set)."""
        body = webhook_body(notice)
        headers = {"X-Dcops-Delivery": notice.key}
        if self._key:
            timestamp = str(int(time.time()))
            data = json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
            headers["X-Dcops-Timestamp"] = timestamp
            headers["X-Dcops-Signature"] = webhook_signature(self._key, timestamp, data)
        post_json(
            self.url, body, what=f"webhook {self.name}", timeout=self.timeout, headers=headers
        )
