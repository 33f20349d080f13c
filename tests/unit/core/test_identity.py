"""Who runs a command and what their roles allow."""

from __future__ import annotations

import os
import pwd
import socket
from pathlib import Path

import pytest

from dcops.core.errors import AccessDenied
from dcops.core.identity import actor_for, current_actor, current_user, os_login, require_role
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


def _without_override(site_dir: Path) -> Path:
    toml = site_dir / "dcops.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(
        text.replace("allow_user_override = true", "allow_user_override = false"), encoding="utf-8"
    )
    return site_dir


def test_dcops_user_is_refused_unless_the_site_allows_it(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DCOPS_USER", "chenjing")
    site = load_site(_without_override(site_dir))
    with pytest.raises(AccessDenied) as caught:
        current_actor(site)
    assert "DCOPS_USER='chenjing' is not honoured" in str(caught.value)
    assert f"your login {os_login()!r}" in str(caught.value)


def test_without_override_dcops_acts_as_the_os_login(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DCOPS_USER", raising=False)
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.setenv("USER", "liuyang")  # the environment's USER is not believed
    monkeypatch.setenv("LOGNAME", "liuyang")
    actor = current_actor(load_site(_without_override(site_dir)))
    assert actor.user == pwd.getpwuid(os.getuid()).pw_name
    assert actor.method == "os" and actor.user != "liuyang"


def test_under_sudo_the_invoking_user_acts_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.getuid() != 0:
        pytest.skip("SUDO_USER is only believed for a process running as root; this one is not")
    monkeypatch.setenv("SUDO_USER", "zhangwei")
    assert os_login() == "zhangwei"
    monkeypatch.setenv("SUDO_USER", "root")
    assert os_login() == "root"


def test_an_allowed_override_keeps_the_os_login_in_the_actor(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DCOPS_USER", "chenjing")
    actor = current_actor(load_site(site_dir))
    assert (actor.user, actor.login, actor.method) == ("chenjing", os_login(), "override")


def test_refusals_no_longer_advise_setting_dcops_user(site_dir: Path) -> None:
    actor = actor_for(load_site(site_dir), "wanglei", login="wanglei", method="os")
    with pytest.raises(AccessDenied) as caught:
        require_role(actor, "ops", action="dcops provision")
    assert "DCOPS_USER" not in str(caught.value)
    assert str(caught.value).startswith("权限不足 / dcops provision needs the ops role")


def test_without_dcops_user_an_allowed_override_changes_nothing(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DCOPS_USER", raising=False)
    site = load_site(site_dir)
    assert site.config.identity.allow_user_override
    assert current_user(site) == os_login()
    assert current_actor(site).method == "os"


def test_a_refused_override_is_never_the_user(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DCOPS_USER", "chenjing")
    assert current_user(load_site(_without_override(site_dir))) == os_login()


def test_an_actor_records_where_the_request_came_from(site_dir: Path) -> None:
    site = load_site(site_dir)
    local = actor_for(site, "liuyang", login="liuyang", method="os")
    assert (local.source, local.agent, local.host) == ("", "", socket.gethostname())
    remote = actor_for(
        site, "liuyang", login="liuyang", method="token", source="10.8.0.7", agent="curl/8"
    )
    assert (remote.source, remote.agent, remote.method) == ("10.8.0.7", "curl/8", "token")


def test_roles_from_a_directory_replace_those_of_the_site(site_dir: Path) -> None:
    site = load_site(site_dir)
    actor = actor_for(site, "liuyang", login="liuyang", method="ldap", roles=frozenset({"auditor"}))
    assert actor.roles == {"auditor"} and actor.name == "刘洋"
    assert actor_for(site, "liuyang", login="liuyang", method="os").roles == {"ops", "approver"}


def test_a_refusal_names_the_roles_needed_and_held(site_dir: Path) -> None:
    site = load_site(site_dir)
    nobody = actor_for(site, "mallory", login="mallory", method="os")
    with pytest.raises(AccessDenied) as caught:
        require_role(nobody, "ops", "security", action="dcops users add")
    assert str(caught.value).startswith(
        "权限不足 / dcops users add needs the ops or security role; user 'mallory' has no roles "
        "(not listed under [[people]] in dcops.toml)."
    )
    ops = actor_for(site, "liuyang", login="liuyang", method="os")
    with pytest.raises(AccessDenied) as caught:
        require_role(ops, "auditor", action="dcops audit report")
    assert "needs the auditor role; user 'liuyang' has approver, ops." in str(caught.value)
