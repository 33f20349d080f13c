"""Plan snapshots kept in the state dir, and the diff between two of them."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcops.core.site import Site

APPLIED = "applied"
PLANNED = "planned"


@dataclass(frozen=True)
class Change:
    """A resource whose inputs differ, with the fields that changed."""

    urn: str
    fields: list[str]


@dataclass
class Diff:
    """What a plan adds, changes and removes compared with a snapshot."""

    against: str
    added: list[str] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Whether nothing differs."""
        return not (self.added or self.changed or self.removed)

    def as_dict(self) -> dict[str, Any]:
        """The diff as plain data."""
        return {
            "against": self.against,
            "added": self.added,
            "changed": [{"urn": c.urn, "fields": c.fields} for c in self.changed],
            "removed": self.removed,
        }


Snapshot = dict[str, dict[str, Any]]


def folder(site: Site, tenancy: str) -> Path:
    """The state folder of one tenancy's stack."""
    return site.paths.state_path("stacks", tenancy)


def load(site: Site, tenancy: str) -> tuple[str, Snapshot]:
    """The last applied snapshot, else the last planned one, else none ("none", {})."""
    for kind in (APPLIED, PLANNED):
        path = folder(site, tenancy) / f"{kind}.json"
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            return kind, dict(data.get("resources", {}))
    return "none", {}


def live_stacks(site: Site) -> list[str]:
    """Stacks whose last applied snapshot holds resources: provisioned and not destroyed."""
    root = site.paths.state / "stacks"
    if not root.is_dir():
        return []
    return sorted(
        path.parent.name
        for path in root.glob(f"*/{APPLIED}.json")
        if json.loads(path.read_text(encoding="utf-8")).get("resources")
    )


def save(site: Site, tenancy: str, kind: str, resources: Snapshot) -> Path:
    """Write a snapshot atomically, readable by the owner only."""
    target = folder(site, tenancy)
    missing = [p for p in (target, *target.parents) if not p.exists()]
    for created in reversed(missing):
        created.mkdir(mode=0o700, exist_ok=True)  # a run beside this one may make it first
    path = target / f"{kind}.json"
    # A temp file of this writer's own: two runs on one stack (the second is then refused by
    # the engine's lock) both plan first, and a shared temp name let one move the other's away.
    fd, temp = tempfile.mkstemp(dir=target, prefix=f".{kind}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(
                {"tenancy": tenancy, "resources": resources},
                out,
                ensure_ascii=False,
                sort_keys=True,
            )
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def diff(against: str, old: Snapshot, new: Snapshot) -> Diff:
    """Resources added, changed (which input fields) and removed."""
    result = Diff(against=against)
    result.added = sorted(set(new) - set(old))
    result.removed = sorted(set(old) - set(new))
    for urn in sorted(set(new) & set(old)):
        before, after = old[urn].get("inputs", {}), new[urn].get("inputs", {})
        fields = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        if fields:
            result.changed.append(Change(urn, fields))
    return result
