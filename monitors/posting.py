"""One JSON POST to a notification endpoint: status and, for robots, the reply's error code checked."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from dcops.core.errors import OperationFailed

MAX_REPLY = 64 * 1024


def post_json(
    url: str,
    body: dict[str, Any],
    *,
    what: str,
    timeout: float,
    headers: dict[str, str] | None = None,
    shown_url: str | None = None,
) -> bytes:
    """POST body as UTF-8 JSON; the reply body, or OperationFailed naming the endpoint and why.

    `shown_url` is what messages show instead of url when url carries a token.
    """
    data = json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
    sent = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "dcops"}
    request = urllib.request.Request(url, data, {**sent, **(headers or {})}, method="POST")
    where = shown_url or url
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return bytes(reply.read(MAX_REPLY))
    except urllib.error.HTTPError as exc:
        raise OperationFailed(f"{what} at {where} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OperationFailed(f"{what} at {where} did not answer: {reason}") from None


def check_robot_reply(reply: bytes, what: str) -> None:
    """Robots answer HTTP 200 with {"errcode": N, "errmsg": ...}; anything but errcode 0 fails."""
    try:
        data = json.loads(reply)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise OperationFailed(f"{what} answered something that is not JSON") from None
    code = data.get("errcode") if isinstance(data, dict) else None
    if code != 0:
        message = data.get("errmsg") if isinstance(data, dict) else None
        raise OperationFailed(f"{what} refused the message: errcode {code}, {message}")
