"""Audit records name one object per thing; records made by hand are namespaced and checked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcops.audit.history import Filter, in_zone, operations
from dcops.audit.journal import Journal
from dcops.audit.objects import OBJECT_TYPES, manual_action, manual_object
from dcops.audit.recorder import audited
from dcops.core.errors import InputError
from dcops.core.identity import Actor
from dcops.core.site import Site


def test_hand_made_actions_live_under_manual() -> None:
    assert manual_action("manual.power-cycle") == "manual.power-cycle"
    assert manual_action("tenancy.approve") == "manual.tenancy.approve"  # never a command's own


@pytest.mark.parametrize("bad", ["", "  ", "Power Cycle", "a/b", "x" * 101, "tenancy.", ".x"])
def test_bad_actions_are_refused(bad: str) -> None:
    with pytest.raises(InputError, match="is not an action name"):
        manual_action(bad)


@pytest.mark.parametrize(
    "bad", ["", "host", "host/", "/leaf1", "thing/x", "host/a b", "host/\x1b[2J"]
)
def test_empty_or_unknown_objects_are_refused(bad: str) -> None:
    with pytest.raises(InputError, match="is not an object"):
        manual_object(bad)


@given(st.text(max_size=40))
def test_any_object_is_either_refused_or_a_known_type_with_an_id(text: str) -> None:
    try:
        shown = manual_object(text)
    except InputError:
        return
    kind, _, ident = shown.partition("/")
    assert kind in OBJECT_TYPES and ident and not any(c.isspace() for c in ident)


def test_a_block_can_record_failure_without_raising(
    site: Site, actor: Actor, journal: Journal
) -> None:
    with audited(site, actor, action="plan", target="tenancy/fgw-production") as op:
        op.fail("policy violations: fgw-production: no-admin-port-to-world")
    (done,) = operations(journal.events())
    assert done.status == "failure" and "no-admin-port-to-world" in (done.error or "")


def test_an_operation_on_several_objects_is_found_by_each(
    site: Site, actor: Actor, journal: Journal
) -> None:
    objects = ["stack/platform", "tenancy/fgw-production"]
    with audited(site, actor, "plan", "tenancy/*", {"objects": objects}):
        pass
    (done,) = operations(journal.events())
    assert Filter(object="tenancy/fgw-production").matches(done)
    assert Filter(object="stack").matches(done)
    assert not Filter(object="tenancy/wjw-production").matches(done)


def test_times_are_shown_in_the_site_zone_with_their_offset() -> None:
    assert in_zone("2026-12-01T16:00:00.000000Z", "Asia/Shanghai") == "2026-12-02T00:00:00+08:00"
