"""`dcops access` against the lab Keystone: department people log in and reach their project only.

Two tenancies (fgw and wjw) are requested and approved in a site of the module's own; their
projects are made by hand as `dcops provision` would make them, and each department's person of
dcops.toml (wanglei of fgw, lina of wjw) gets a Keystone user with a password set here, as the
site's directory would give them. Skips loudly where the lab cloud cannot run.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DCOPS, copy_site, dcops_env
from tests.integration.lab_cloud import LabCloud

pytestmark = [pytest.mark.integration, pytest.mark.live]

PEOPLE = {"fgw": "wanglei", "wjw": "lina"}
TENANCIES = {"fgw": "fgw-access", "wjw": "wjw-access"}
REQUEST = """\
name: {name}
department: {{code: {code}, name: {title}}}
contacts:
  - {{name: {user}, email: {user}@{code}.example.gov.cn}}
purpose: 部门人员访问 (people's access)
environment: staging
classification: level-3
expires: 2027-06-30
compute:
  - {{name: app, flavor: c2.m4, image: kylin-v10-sp3, count: 1, volume_gb: 20}}
networks:
  - {{name: app, size: 28}}
"""
TITLES = {"fgw": "市发展和改革委员会", "wjw": "市卫生健康委员会"}


@dataclass
class Access:
    """The module's site, the lab's admin connection and the people's passwords."""

    site: Path
    env: dict[str, str]
    admin: Any
    auth_url: str
    passwords: dict[str, str]

    def dcops(self, *args: str, user: str = "zhangwei") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DCOPS), *args],
            cwd=self.site,
            env={**self.env, "DCOPS_USER": user},
            text=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )

    def login(self, user: str, project: str) -> Any:
        """A connection as a department's person, scoped to a project (authorised at once)."""
        import openstack.connection

        connection = openstack.connection.Connection(
            auth={
                "auth_url": self.auth_url,
                "username": user,
                "password": self.passwords[user],
                "user_domain_name": "Default",
                "project_name": project,
                "project_domain_name": "Default",
            },
            identity_api_version="3",
        )
        connection.authorize()
        return connection


def _clear(admin: Any) -> None:
    for name in TENANCIES.values():
        project = admin.identity.find_project(name)
        if project is not None:
            admin.identity.delete_project(project)
    for user in PEOPLE.values():
        found = admin.identity.find_user(user, domain_id="default")
        if found is not None:
            admin.identity.delete_user(found)
    for code in PEOPLE:
        group = admin.identity.find_group(f"dcops-dept-{code}", domain_id="default")
        if group is not None:
            admin.identity.delete_group(group)


@pytest.fixture(scope="module")
def access(lab_cloud: LabCloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Access]:
    """Approved fgw and wjw tenancies with their projects, and a Keystone user per person."""
    site = copy_site(tmp_path_factory.mktemp("access") / "site")
    with (site / "dcops.toml").open("a", encoding="utf-8") as toml:
        toml.write(
            f'\n[clusters.openstack]\nclouds_yaml = "{lab_cloud.clouds_yaml}"\ncloud = "dcops-lab"\n'
        )
    admin = lab_cloud.connect()
    passwords = {user: secrets.token_urlsafe(18) for user in PEOPLE.values()}
    auth_url = admin.config.config["auth"]["auth_url"]
    result = Access(site, dcops_env("zhangwei"), admin, auth_url, passwords)
    _clear(admin)
    try:
        for code, name in TENANCIES.items():
            request = site / f"{name}.yml"
            text = REQUEST.format(name=name, code=code, title=TITLES[code], user=PEOPLE[code])
            request.write_text(text, encoding="utf-8")
            submitted = result.dcops("tenancy", "request", str(request))
            assert submitted.returncode == 0, submitted.stdout + submitted.stderr
            approved = result.dcops("tenancy", "approve", name, user="liuyang")
            assert approved.returncode == 0, approved.stdout + approved.stderr
            admin.identity.create_project(
                name=name, domain_id="default", tags=[f"department:{code}"]
            )
        for user, password in passwords.items():
            admin.identity.create_user(name=user, password=password, domain_id="default")
        yield result
    finally:
        _clear(admin)


def _refused(call: Any) -> str:
    """The error a call ends in; fails the test if it succeeds."""
    try:
        call()
    except Exception as error:  # openstacksdk's HttpException and keystoneauth's Unauthorized
        return f"{type(error).__name__}: {error}"
    raise AssertionError("the call succeeded; it must be refused")


def test_a_person_reaches_nothing_before_sync(access: Access) -> None:
    shown = access.dcops("access", "show")
    assert shown.returncode == 1, shown.stdout + shown.stderr  # Keystone lacks what is declared
    assert "grant role member on project fgw-access to group dcops-dept-fgw" in shown.stdout
    refused = _refused(lambda: access.login("wanglei", "fgw-access"))
    assert "401" in refused or "Unauthorized" in refused, refused


def test_sync_vends_groups_and_roles_then_finds_nothing_to_change(access: Access) -> None:
    done = access.dcops("access", "sync", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    for code, name in TENANCIES.items():
        group = f"dcops-dept-{code}"
        assert f"create group {group}" in done.stdout
        assert f"add user {PEOPLE[code]} to group {group}" in done.stdout
        assert f"grant role member on project {name} to group {group}" in done.stdout
    again = access.dcops("access", "sync", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing to change" in again.stdout
    shown = access.dcops("access", "show", "--output", "json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert json.loads(shown.stdout)["changes"] == []
    journal = access.site / ".dcops" / "audit" / "journal.jsonl"
    events = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    synced = [e for e in events if e["action"] == "access.sync" and e["phase"] == "result"]
    assert {e["object"]["id"] for e in synced} == {"fgw", "wjw"}
    assert all(e["object"]["type"] == "department" for e in synced)
    assert all(e["result"]["status"] == "success" for e in synced)
    fgw = next(e for e in synced if e["object"]["id"] == "fgw")
    assert "add user wanglei to group dcops-dept-fgw" in fgw["diff"]


def test_a_department_person_logs_in_and_sees_only_their_project(access: Access) -> None:
    connection = access.login("wanglei", "fgw-access")
    mine = connection.identity.get("/auth/projects").json()["projects"]
    assert [p["name"] for p in mine] == ["fgw-access"]
    # Listing every project is the cloud admin's; a token for another department's project
    # is refused.
    refused = _refused(lambda: list(connection.identity.projects()))
    assert "403" in refused or "Forbidden" in refused, refused
    other = _refused(lambda: access.login("wanglei", "wjw-access"))
    assert "401" in other or "Unauthorized" in other, other
    lina = access.login("lina", "wjw-access")
    assert lina.current_project_id != connection.current_project_id


def test_scan_finds_a_role_given_by_hand_and_nothing_else_of_access(access: Access) -> None:
    admin = access.admin
    project = admin.identity.find_project("fgw-access")
    lina = admin.identity.find_user("lina", domain_id="default")
    member = admin.identity.find_role("member")
    admin.identity.assign_project_role_to_user(project, lina, member)
    try:
        done = access.dcops(
            "cloud", "scan", "--only", "openstack", "--output", "json", user="sunli"
        )
        assert done.returncode == 1, done.stdout + done.stderr
        found = [f for f in json.loads(done.stdout)["findings"] if f["rule"] == "access-undeclared"]
        assert [(f["scope"], f["name"]) for f in found] == [("fgw-access", "user lina: member")]
        assert found[0]["severity"] == "high" and "dcops access sync" in found[0]["fix"]
    finally:
        admin.identity.unassign_project_role_from_user(project, lina, member)


def test_offboarding_and_leaving_take_access_away(access: Access) -> None:
    offboarded = access.dcops("tenancy", "offboard", "wjw-access", "--yes")
    assert offboarded.returncode == 0, offboarded.stdout + offboarded.stderr
    toml = access.site / "dcops.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('roles = ["department:fgw"]', 'roles = ["auditor"]'), "utf-8")
    try:
        done = access.dcops("access", "sync", "--yes")
    finally:
        toml.write_text(text, encoding="utf-8")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "remove user wanglei from group dcops-dept-fgw" in done.stdout
    assert "revoke role member on project wjw-access from group dcops-dept-wjw" in done.stdout
    assert "delete group dcops-dept-wjw" in done.stdout
    for user, project in (("wanglei", "fgw-access"), ("lina", "wjw-access")):
        refused = _refused(lambda u=user, p=project: access.login(u, p))
        assert "401" in refused or "Unauthorized" in refused, refused
    assert access.admin.identity.find_group("dcops-dept-wjw", domain_id="default") is None
