"""Audit events of access (等保2.0 8.1.4.3): logins, logouts, failures, lockouts, tokens, denials."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dcops.audit.event import draft, new_correlation

if TYPE_CHECKING:
    from dcops.audit.journal import Journal
    from dcops.core.site import Site

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def shown(value: str, limit: int = 120) -> str:
    """A caller-supplied value made safe to record: control characters replaced, length bounded."""
    cleaned = _UNPRINTABLE.sub("?", value)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"


@dataclass(frozen=True)
class Caller:
    """Where a request came from: the client's address and user agent."""

    source: str
    agent: str


class AccessLog:
    """Writes access events into the site's audit journal (no checkpoint each: the next covers them)."""

    def __init__(self, site: Site, journal: Journal) -> None:
        self.site = site
        self.journal = journal

    def record(
        self,
        action: str,
        user: str,
        caller: Caller,
        *,
        method: str,
        ok: bool,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one access event: who (as claimed or proven), how, from where, and the outcome."""
        actor = {
            "user": shown(user, 64),
            "method": method,
            "source": shown(caller.source, 64),
            "agent": shown(caller.agent, 200),
        }
        person = self.site.person(user)
        if person is not None:
            actor["name"] = person.name
        self.journal.append(
            draft(
                phase="record",
                action=action,
                target=f"account/{shown(user, 64)}",
                actor=actor,
                parameters={},
                correlation=new_correlation(),
                timezone=self.site.config.site.timezone,
                status="success" if ok else "failure",
                error=reason,
                details=dict(details or {}),
            )
        )
