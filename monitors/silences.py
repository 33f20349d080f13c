"""Alertmanager's silences (API v2): create, list, expire, and whether one covers an alert."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dcops.core.errors import OperationFailed
from dcops.monitors.alertmanager_members import AlertmanagerUnreachable


@dataclass(frozen=True)
class Matcher:
    """One label condition of a silence."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether the labels satisfy this condition (a missing label is the empty string)."""
        value = labels.get(self.name, "")
        hit = re.fullmatch(self.value, value) is not None if self.is_regex else value == self.value
        return hit == self.is_equal

    def as_api(self) -> dict[str, object]:
        """The matcher as Alertmanager's API writes it."""
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": self.is_regex,
            "isEqual": self.is_equal,
        }


@dataclass(frozen=True)
class Silence:
    """A silence with who set it, why, and its window."""

    id: str
    state: str
    matchers: tuple[Matcher, ...]
    starts_at: str
    ends_at: str
    created_by: str
    comment: str

    def covers(self, labels: dict[str, str]) -> bool:
        """Whether this silence, while active, mutes an alert with these labels."""
        return self.state == "active" and all(m.matches(labels) for m in self.matchers)

    def as_data(self) -> dict[str, str]:
        """The silence as `dcops alerts silences --output json` and the API give it."""
        return {
            "id": self.id,
            "state": self.state,
            "matchers": self.describe_matchers(),
            "created_by": self.created_by,
            "comment": self.comment,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
        }

    def describe_matchers(self) -> str:
        """The matchers as Alertmanager shows them: name="value", name=~"regex"."""
        ops = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
        return ", ".join(
            f'{m.name}{ops[(m.is_regex, m.is_equal)]}"{m.value}"' for m in self.matchers
        )


def parse_silence(raw: dict[str, Any]) -> Silence:
    """One entry of GET /api/v2/silences."""
    return Silence(
        id=str(raw.get("id", "")),
        state=str(raw.get("status", {}).get("state", "")),
        matchers=tuple(
            Matcher(
                str(m.get("name", "")),
                str(m.get("value", "")),
                bool(m.get("isRegex", False)),
                bool(m.get("isEqual", True)),
            )
            for m in raw.get("matchers", [])
        ),
        starts_at=str(raw.get("startsAt", "")),
        ends_at=str(raw.get("endsAt", "")),
        created_by=str(raw.get("createdBy", "")),
        comment=str(raw.get("comment", "")),
    )


def _call(
    base_url: str, path: str, method: str = "GET", body: Any = None, timeout: float = 5
) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(f"{base_url}{path}", data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            text = reply.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(2000).decode(errors="replace").strip()
        failure = AlertmanagerUnreachable if exc.code >= 500 else OperationFailed
        raise failure(
            f"Alertmanager at {base_url} refused {method} {path}: HTTP {exc.code} {detail}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AlertmanagerUnreachable(
            f"Alertmanager at {base_url} did not answer ({reason}); start it with `dcops monitors up`"
        ) from None
    return json.loads(text) if text.strip() else None


def list_silences(
    base_url: str, include_expired: bool = False, timeout: float = 5
) -> list[Silence]:
    """Silences, active and pending first by end time (expired ones only if asked)."""
    found = [parse_silence(s) for s in _call(base_url, "/api/v2/silences", timeout=timeout)]
    if not include_expired:
        found = [s for s in found if s.state != "expired"]
    order = {"active": 0, "pending": 1, "expired": 2}
    return sorted(found, key=lambda s: (order.get(s.state, 3), s.ends_at, s.id))


def create_silence(
    base_url: str,
    matchers: list[Matcher],
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
) -> str:
    """Create a silence; its ID."""
    body = {
        "matchers": [m.as_api() for m in matchers],
        "startsAt": starts_at.isoformat(),
        "endsAt": ends_at.isoformat(),
        "createdBy": created_by,
        "comment": comment,
    }
    reply = _call(base_url, "/api/v2/silences", "POST", body)
    return str(reply["silenceID"])


def expire_silence(base_url: str, silence_id: str) -> None:
    """End a silence now."""
    _call(base_url, f"/api/v2/silence/{silence_id}", "DELETE")
