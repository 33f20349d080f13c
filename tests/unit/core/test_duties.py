"""Separation of duties (三权分立): warned about, or refused where the site is strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.duties import conflicts
from dcops.core.errors import InvalidInput
from dcops.core.loader import load_site


def test_the_example_site_has_root_as_system_and_audit_administrator(site_dir: Path) -> None:
    found = conflicts(load_site(site_dir).config)
    assert [(c.user, c.roles) for c in found] == [("root", ("ops", "auditor"))]
    assert found[0].message().startswith("root 同时担任系统管理员与审计管理员")


def test_a_strict_site_refuses_the_conflict_at_the_person(site_dir: Path) -> None:
    toml = site_dir / "dcops.toml"
    text = toml.read_text(encoding="utf-8").replace("strict = false", "strict = true")
    toml.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_site(site_dir)
    (problem,) = caught.value.problems
    assert problem.field == "people[7].roles"
    line = text.splitlines()[problem.line - 1] if problem.line else ""
    assert "ops" in line and "auditor" in line


def test_plain_http_away_from_loopback_is_refused(site_dir: Path) -> None:
    toml = site_dir / "dcops.toml"
    text = toml.read_text(encoding="utf-8").replace(
        'listen_host = "127.0.0.1"\nport = 8443',
        'listen_host = "0.0.0.0"\nport = 8443\nhttp = true',
    )
    toml.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_site(site_dir)
    assert [p.field for p in caught.value.problems] == ["server.http"]
    assert "loopback" in caught.value.problems[0].message
