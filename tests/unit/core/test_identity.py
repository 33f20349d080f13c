"""Who runs a command and what their roles allow."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.errors import AccessDenied
from dcops.core.identity import current_actor, require_role
from dcops.core.loader import load_site


def test_dcops_user_maps_to_roles_in_the_site(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DCOPS_USER", "liuyang")
    actor = current_actor(load_site(site_dir))
    assert actor.name == "刘洋"
    assert actor.roles == {"ops", "approver"}
    require_role(actor, "approver", action="approving")


def test_unknown_people_hold_no_role_and_are_refused(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DCOPS_USER", "mallory")
    actor = current_actor(load_site(site_dir))
    with pytest.raises(AccessDenied) as caught:
        require_role(actor, "ops", action="dcops configure network")
    assert caught.value.exit_code == 2
    assert "needs the ops role" in str(caught.value)
    assert "'mallory'" in str(caught.value)


def test_department_people_speak_for_their_department(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DCOPS_USER", "wanglei")
    actor = current_actor(load_site(site_dir))
    assert actor.departments == ["fgw"]
    with pytest.raises(AccessDenied):
        require_role(actor, "approver", action="approving")
