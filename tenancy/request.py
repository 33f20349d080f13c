"""Read a tenancy request file (or data) and check it against the site, reporting every problem."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dcops.core.documents import Document, Limits, read_yaml
from dcops.core.errors import InvalidInput, Problem
from dcops.core.loader import problems_from_validation
from dcops.core.site import Site
from dcops.tenancy.model import TenancyRequest
from dcops.tenancy.validation import check_request

__all__ = ["TenancyRequest", "load_request", "parse_request", "request_schema", "today_at"]


def today_at(site: Site) -> datetime.date:
    """Today's date in the site's time zone."""
    from zoneinfo import ZoneInfo

    return datetime.datetime.now(ZoneInfo(site.config.site.timezone)).date()


def load_request(
    path: str | Path,
    site: Site,
    today: datetime.date | None = None,
    other_peers: Sequence[tuple[str, str]] = (),
    other_namespaces: Sequence[tuple[str, str]] = (),
) -> TenancyRequest:
    """Read and validate a request file; raise InvalidInput naming file:line and field of each problem."""
    file = Path(path)
    source = site.paths.relative(file) if file.is_absolute() else str(file)
    doc = read_yaml(file, source, request_limits(site))
    return parse_document(doc, site, today, other_peers, other_namespaces)


def request_limits(site: Site) -> Limits:
    """The limits a request file is read within: its size from dcops.toml [limits]."""
    return Limits(
        file_bytes=site.config.limits.request_file_bytes,
        values=20_000,
        depth=12,
        items=1000,
        string_chars=65_536,
    )


def parse_request(
    data: Any,
    site: Site,
    source: str = "request",
    today: datetime.date | None = None,
    other_peers: Sequence[tuple[str, str]] = (),
    other_namespaces: Sequence[tuple[str, str]] = (),
) -> TenancyRequest:
    """Validate request data already in memory (from a prompt or the store)."""
    return parse_document(Document(source, data), site, today, other_peers, other_namespaces)


def parse_document(
    doc: Document,
    site: Site,
    today: datetime.date | None = None,
    other_peers: Sequence[tuple[str, str]] = (),
    other_namespaces: Sequence[tuple[str, str]] = (),
) -> TenancyRequest:
    """Validate a parsed document: types first, then the site's rules."""
    summary = f"tenancy request {doc.source} is not valid"
    if doc.problems:
        raise InvalidInput(summary, doc.problems)
    if not isinstance(doc.data, dict):
        raise InvalidInput(
            summary, [Problem(doc.source, "", "expected a mapping of request fields", 1)]
        )
    try:
        request = TenancyRequest.model_validate(doc.data)
    except ValidationError as exc:
        raise InvalidInput(
            summary, _ordered(problems_from_validation(exc, doc, TenancyRequest))
        ) from None
    problems = check_request(
        request, site, doc, today or today_at(site), other_peers, other_namespaces
    )
    if problems:
        raise InvalidInput(summary, _ordered(problems))
    return request


def request_schema() -> dict[str, Any]:
    """The JSON Schema of a request file, for editors and other tools."""
    schema = TenancyRequest.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dcops tenancy request"
    return schema


def _ordered(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line or 0, p.field))
