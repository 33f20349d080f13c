"""Hostile request files through the loader: every attack is a problem at its field, never a crash."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcops.core.errors import InvalidInput
from dcops.core.site import Site
from dcops.tenancy.request import load_request
from dcops.tenancy.store import find_request, open_store

HOSTILE = Path(__file__).resolve().parents[2] / "fixtures" / "hostile"
SAMPLE = "inventory/requests/fgw-production.yml"
ATTACKS: list[dict[str, str]] = yaml.safe_load(
    (HOSTILE / "request-fields.yml").read_text(encoding="utf-8")
)
TODAY = datetime.date(2026, 11, 25)


def _fields(site: Site, path: Path) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        load_request(path, site, today=TODAY)
    return [p.field for p in caught.value.problems]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a["attack"][:40] for a in ATTACKS])
def test_field_attacks_are_problems_at_their_field(
    site: Site, tmp_path: Path, attack: dict[str, str]
) -> None:
    text = (site.paths.root / SAMPLE).read_text(encoding="utf-8")
    assert attack["old"] in text
    path = tmp_path / "attack.yml"
    new = attack["new"].replace("PURPOSE_3000", "x" * 3000)
    path.write_text(text.replace(attack["old"], new, 1), encoding="utf-8")
    assert attack["field"] in _fields(site, path)


def test_fifty_megabyte_purpose_is_refused_by_size(site: Site, tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    text = (site.paths.root / SAMPLE).read_text(encoding="utf-8")
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text.replace("purpose: 项目审批系统 (project approval system)\n", ""))
        handle.write("purpose: ")
        for _ in range(50):
            handle.write("x" * 1024 * 1024)
        handle.write("\n")
    with pytest.raises(InvalidInput) as caught:
        load_request(path, site, today=TODAY)
    assert "limit is 1048576 bytes" in caught.value.problems[0].message


def test_many_contacts_are_refused(site: Site, tmp_path: Path) -> None:
    text = (site.paths.root / SAMPLE).read_text(encoding="utf-8")
    contact = "  - {name: x, email: x@fgw.example.gov.cn}\n"
    path = tmp_path / "contacts.yml"
    path.write_text(text.replace("contacts:\n", "contacts:\n" + contact * 100, 1), encoding="utf-8")
    assert "contacts" in _fields(site, path)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(width=st.integers(2, 12), levels=st.integers(2, 12))
def test_alias_expansion_is_bounded_whatever_the_shape(
    site: Site, tmp_path: Path, width: int, levels: int
) -> None:
    """A bomb of any width and depth either fits the limit or is refused; never built past it."""
    lines = ["a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    path = tmp_path / "bomb.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sizes = [1 + width]  # each list with its values, aliases expanded
    for _ in range(1, levels):
        sizes.append(1 + width * sizes[-1])
    expanded = 1 + sum(1 + size for size in sizes)  # the mapping, its keys and values
    with pytest.raises(InvalidInput) as caught:
        load_request(path, site, today=TODAY)
    messages = " ".join(p.message for p in caught.value.problems)
    if expanded > 20_000:
        assert "once aliases are expanded" in messages
    else:  # small enough to build: refused because it is not a request
        assert "once aliases are expanded" not in messages


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(depth=st.integers(1, 60), flow=st.booleans())
def test_nesting_is_bounded_in_both_styles(
    site: Site, tmp_path: Path, depth: int, flow: bool
) -> None:
    if flow:
        body = "x: " + "[" * depth + "]" * depth + "\n"
    else:
        body = "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + "  " * depth + "v: 1\n"
    path = tmp_path / "deep.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_request(path, site, today=TODAY)
    nested = any("nested deeper" in p.message for p in caught.value.problems)
    assert nested == (depth + 1 > 12)


def test_huge_ids_name_no_request(site: Site) -> None:
    from dcops.core.errors import InputError

    with open_store(site).reading() as session:
        for ref in ("99999999999999999999999", "#99999999999999999999999", "٣"):
            with pytest.raises(InputError, match="no tenancy request"):
                find_request(session, ref)
