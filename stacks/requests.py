"""Find the tenancy requests a command names: files, names of files in inventory/requests/, or all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dcops.core.errors import InputError
from dcops.core.site import Site
from dcops.stacks.allocation import OfflineAllocation
from dcops.stacks.spec import TenancySpec

REQUESTS = "requests"


@dataclass(frozen=True)
class Planned:
    """A tenancy spec and where its request came from."""

    spec: TenancySpec
    source: str


def request_files(site: Site) -> list[Path]:
    """The request files of the site, in name order."""
    folder = site.paths.inventory / REQUESTS
    return sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml"))


def resolve(site: Site, refs: Sequence[str], every: bool) -> list[Planned]:
    """Specs for the given files or names (or every request file with every=True)."""
    from dcops.stacks.config import tenancy_spec
    from dcops.tenancy.request import load_request

    if not refs and not every:
        raise InputError("name at least one request (a file or a tenancy name), or give --all")
    paths = request_files(site) if every else []
    for ref in refs:
        path = _path_of(site, ref)
        if path not in paths:
            paths.append(path)
    allocation = OfflineAllocation(site)
    planned = []
    for path in paths:
        request = load_request(path, site)
        planned.append(Planned(tenancy_spec(request, site, allocation), site.paths.relative(path)))
    return planned


def _path_of(site: Site, ref: str) -> Path:
    given = Path(ref)
    if given.is_file():
        return given.resolve()
    for path in request_files(site):
        if path.stem == ref or _declared_name(path) == ref:
            return path
    known = ", ".join(p.stem for p in request_files(site)) or "none"
    raise InputError(
        f"no request file or tenancy named {ref!r}; give a path to a request file or one of "
        f"the names in inventory/{REQUESTS}/: {known}"
    )


def _declared_name(path: Path) -> str | None:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return str(data.get("name")) if isinstance(data, dict) and data.get("name") else None
