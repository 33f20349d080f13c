"""What a read of the clouds found: resources, the scopes that hold them, services that failed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

UNOWNED = "unowned"
PLATFORM = "platform"


@dataclass(frozen=True)
class Resource:
    """One live resource as dcops reports it; `details` keeps the fields the checks read."""

    kind: str
    id: str
    name: str
    scope: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The resource as plain data."""
        return {"kind": self.kind, "id": self.id, "name": self.name, **self.details}


@dataclass
class Scope:
    """A project (OpenStack) or a namespace (Kubernetes) and what it holds."""

    cloud: str
    name: str
    id: str
    tenancy: str = UNOWNED
    department: str = UNOWNED
    resources: list[Resource] = field(default_factory=list)
    tags: tuple[str, ...] = ()

    def counts(self) -> Counter[str]:
        """How many resources of each kind the scope holds."""
        return Counter(r.kind for r in self.resources)

    def of_kind(self, kind: str) -> list[Resource]:
        """The scope's resources of one kind."""
        return [r for r in self.resources if r.kind == kind]


@dataclass(frozen=True)
class ServiceFailure:
    """A service that could not be read, and why; the rest of the read goes on without it."""

    cloud: str
    service: str
    reason: str
    absent: bool = False
    """The cloud does not offer the service at all (not in its catalogue): nothing to read."""

    def as_dict(self) -> dict[str, str | bool]:
        """The failure as plain data."""
        return {
            "cloud": self.cloud,
            "service": self.service,
            "reason": self.reason,
            "absent": self.absent,
        }


@dataclass
class Reading:
    """One cloud's read: its scopes, resources outside any listed scope, failures, API calls."""

    cloud: str
    scopes: list[Scope] = field(default_factory=list)
    failures: list[ServiceFailure] = field(default_factory=list)
    calls: int = 0
    account: str = ""
    """The ID of the account the cloud was read as (dcops' own, which provisions too)."""
