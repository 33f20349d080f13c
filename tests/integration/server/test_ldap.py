"""LDAP logins against a real OpenLDAP (slapd) over ldaps and StartTLS, through a real dcops serve."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dcops.core.access import LdapSettings
from dcops.server.certificates import loopback_certificate
from dcops.server.directory import DirectoryError, bind_and_groups
from tests.conftest import DCOPS, copy_site, dcops_env
from tests.integration.server import directory_server
from tests.integration.server.browser import chromium, new_page
from tests.integration.server.directory_server import (
    LOOKUP_PASSWORD,
    PASSWORD,
    SUFFIX,
    Directory,
)
from tests.integration.server.live_server import LiveServer
from tests.integration.server.test_cli_client import name_server

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    """slapd with the test directory, stopped after the module."""
    reason = directory_server.missing()
    if reason:
        pytest.skip(reason)
    found = Directory(tmp_path_factory.mktemp("slapd"))
    found.start()
    try:
        yield found
    finally:
        found.stop()


@pytest.fixture(scope="module")
def server(directory: Directory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A dcops serve whose site logs people in against the directory."""
    site = copy_site(tmp_path_factory.mktemp("ldap-serve") / "site")
    secret = site / "ldap-lookup.secret"
    secret.write_text(LOOKUP_PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)
    live = LiveServer(site)
    name_server(site, live.url)
    toml = site / "dcops.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8") + "\n" + directory.site_settings(Path(secret.name)),
        encoding="utf-8",
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _token(server: LiveServer, user: str, password: str = PASSWORD) -> tuple[int, dict[str, str]]:
    with server.client() as client:
        done = client.post("/api/v1/auth/token", json={"user": user, "password": password})
    return done.status_code, done.json()


def _whoami(server: LiveServer, token: str) -> tuple[int, dict[str, object]]:
    with server.client() as client:
        done = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    return done.status_code, done.json()


def _settings(directory: Directory, **changes: object) -> LdapSettings:
    values: dict[str, object] = {
        "url": directory.ldaps_url,
        "user_dn": f"uid={{user}},ou=people,{SUFFIX}",
        "group_base": f"ou=groups,{SUFFIX}",
        "ca_file": str(directory.ca),
    }
    return LdapSettings.model_validate({**values, **changes})


def test_the_directory_password_logs_in_and_groups_give_the_roles(server: LiveServer) -> None:
    status, body = _token(server, "wanglei")
    assert status == 200, body
    assert body["method"] == "ldap"
    status, me = _whoami(server, body["token"])
    assert status == 200 and me["roles"] == ["department:fgw"] and me["method"] == "ldap"


def test_the_cli_logs_in_against_the_directory(server: LiveServer, tmp_path: Path) -> None:
    env = dcops_env("zhangwei", {"XDG_CONFIG_HOME": str(tmp_path)})

    def dcops(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DCOPS), *args], cwd=server.site, env=env, input=stdin,
            text=True, capture_output=True, timeout=180,
        )  # fmt: skip

    done = dcops("login", "--user", "zhaoli", "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    me = dcops("whoami", "--output", "json")
    assert me.returncode == 0, me.stderr
    data = json.loads(me.stdout)
    assert data["user"] == "zhaoli" and data["roles"] == ["facility"] and data["method"] == "ldap"


def test_a_wrong_directory_password_is_refused_and_audited(server: LiveServer) -> None:
    status, body = _token(server, "wanglei", "Not-the-Passw0rd")
    assert status == 401 and "wrong user name, password or code" in body["detail"]
    failures = [
        e for e in server.journal()
        if e["action"] == "auth.login" and e["actor"]["user"] == "wanglei"
        and e["result"]["status"] != "success"
    ]  # fmt: skip
    assert failures and failures[-1]["actor"]["method"] == "ldap"
    assert "Not-the-Passw0rd" not in json.dumps(server.journal())
    status, _ = _token(server, "nobody-here")
    assert status == 401


def test_a_group_dcops_does_not_map_gives_no_access(server: LiveServer) -> None:
    status, body = _token(server, "lina")
    assert status == 401 and "no directory group that dcops maps" in body["detail"]


def test_a_role_that_needs_a_second_factor_is_refused_without_one(server: LiveServer) -> None:
    status, body = _token(server, "sunli")
    assert status == 401 and "second factor" in body["detail"]


def test_a_user_removed_from_the_directory_loses_access_at_once(
    server: LiveServer, directory: Directory
) -> None:
    status, body = _token(server, "sunhao")
    assert status == 200, body
    assert _whoami(server, body["token"])[0] == 200
    with directory.admin() as admin:
        admin.delete(f"uid=sunhao,ou=people,{SUFFIX}")
    status, me = _whoami(server, body["token"])
    assert status == 401 and "removed from the directory" in str(me["detail"])
    assert _token(server, "sunhao")[0] == 401


def test_a_disabled_directory_user_loses_access(server: LiveServer, directory: Directory) -> None:
    from ldap3 import MODIFY_REPLACE

    status, body = _token(server, "qianwei")
    assert status == 200, body
    with directory.admin() as admin:
        admin.modify(
            f"uid=qianwei,ou=people,{SUFFIX}",
            {"pwdAccountLockedTime": [(MODIFY_REPLACE, ["000001010000Z"])]},
        )
    status, me = _whoami(server, body["token"])
    assert status == 401 and "disabled in the directory" in str(me["detail"])
    assert _token(server, "qianwei")[0] == 401


def test_leaving_the_mapped_group_ends_the_login(server: LiveServer, directory: Directory) -> None:
    from ldap3 import MODIFY_DELETE

    status, body = _token(server, "zhaoli")
    assert status == 200, body
    with directory.admin() as admin:
        admin.modify(
            f"cn=gdc-facility,ou=groups,{SUFFIX}",
            {"member": [(MODIFY_DELETE, [f"uid=zhaoli,ou=people,{SUFFIX}"])]},
        )
    status, me = _whoami(server, body["token"])
    assert status == 401 and "directory groups changed" in str(me["detail"])


def test_start_tls_binds_against_the_test_ca(directory: Directory) -> None:
    settings = _settings(directory, url=directory.ldap_url, start_tls=True)
    entry = bind_and_groups(settings, "wanglei", PASSWORD)
    assert entry is not None and entry.groups == ("fgw-staff",)
    assert bind_and_groups(settings, "wanglei", "Wrong-Passw0rd") is None


def test_a_directory_certificate_from_another_ca_is_refused(
    directory: Directory, tmp_path: Path
) -> None:
    other = loopback_certificate(tmp_path / "other", "127.0.0.1")
    for url, start_tls in ((directory.ldaps_url, False), (directory.ldap_url, True)):
        settings = _settings(directory, url=url, start_tls=start_tls, ca_file=str(other.ca))
        with pytest.raises(DirectoryError):
            bind_and_groups(settings, "wanglei", PASSWORD)


def test_plain_ldap_without_start_tls_is_refused_by_the_site_model() -> None:
    with pytest.raises(ValueError, match="in the clear"):
        LdapSettings(url="ldap://127.0.0.1:389", user_dn="uid={user}", group_base="dc=x")


def test_the_console_logs_directory_users_in_and_says_why_it_refuses(server: LiveServer) -> None:
    with chromium() as browser:
        refused = new_page(browser, server)
        refused.goto("/console/login")
        assert "LDAP" in refused.inner_text("p.directory")
        _console_login(refused, "wanglei", "Not-the-Passw0rd")
        error = refused.locator("p.message.error")
        error.wait_for()
        assert "wrong user name, password or code" in error.inner_text()
        assert refused.locator("form.logout").count() == 0

        _console_login(refused, "lina", PASSWORD)
        refused.locator("p.message.error", has_text="no directory group").wait_for()
        assert refused.locator("form.logout").count() == 0

        page = new_page(browser, server)
        _console_login(page, "wanglei", PASSWORD)
        page.wait_for_selector("form.logout")
        assert page.url.endswith("/console/requests")  # the group fgw-staff gives department:fgw
        assert "(wanglei)" in page.inner_text("header .who")
    logins = [e for e in server.journal() if e["action"] == "auth.login"
              and e["actor"]["user"] == "wanglei" and e["result"]["status"] == "success"]  # fmt: skip
    assert logins and logins[-1]["actor"]["method"] == "ldap"


def _console_login(page: Page, user: str, password: str) -> None:
    page.goto("/console/login")
    page.fill("#user", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
