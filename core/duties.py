"""Separation of duties (三权分立): roles that 等保 level 3 keeps with different people."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from dcops.core.documents import Document
from dcops.core.errors import Problem
from dcops.core.site import SiteConfig

# GB/T 22239-2019 8.1.4.2 c): system, security and audit administrators are different people.
DUTIES = {
    "ops": "系统管理员 system administrator",
    "security": "安全管理员 security administrator",
    "auditor": "审计管理员 audit administrator",
}


@dataclass(frozen=True)
class Conflict:
    """One person holding two roles that must be held by different people."""

    user: str
    index: int
    roles: tuple[str, str]

    def message(self) -> str:
        """What is wrong and what is allowed, 中文 first."""
        first, second = (DUTIES[r].split()[0] for r in self.roles)
        kept = " and ".join(DUTIES[r].split(" ", 1)[1] for r in self.roles)
        return (
            f"{self.user} 同时担任{first}与{second}，违反三权分立 / {self.user} holds "
            f"{self.roles[0]} and {self.roles[1]}: 等保 level 3 keeps {kept} with different "
            "people; give one role to someone else"
        )


def conflicts(config: SiteConfig) -> list[Conflict]:
    """Every person holding two roles kept apart, in the order of dcops.toml."""
    found: list[Conflict] = []
    for index, person in enumerate(config.people):
        held = [role for role in DUTIES if role in person.roles]
        found.extend(Conflict(person.user, index, pair) for pair in combinations(held, 2))
    return found


def check_duties(config: SiteConfig, doc: Document) -> list[Problem]:
    """Problems for the conflicts when the site asks for strict separation; else none."""
    if not config.identity.separation.strict:
        return []
    return [doc.problem(("people", c.index, "roles"), c.message()) for c in conflicts(config)]
