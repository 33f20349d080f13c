"""Who is calling: bearer token or session cookie, CSRF on changes, and what each scope may do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from dcops.audit.journal import Journal
from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.server import directory
from dcops.server.accounts import account_store
from dcops.server.app import create_app
from dcops.server.clock import ManualClock
from dcops.server.context import CSRF_HEADER, SESSION_COOKIE
from dcops.server.directory import DirectoryEntry
from dcops.server.passwords import hash_password

PASSWORD = "Dept-Passw0rd-2026"
NOW = 1_800_000_000
TOKENS = "/api/v1/auth/tokens"
NEW_TOKEN = {"name": "ci", "scopes": ["read"], "days": 1}
# What a refused caller reads, in full (both languages)
NOT_LOGGED_IN = "未登录 / not logged in: send a bearer token (dcops login) or a session cookie"
CSRF_REFUSED = (
    "跨站请求校验失败 / the CSRF token is missing or wrong: a change made with a session cookie "
    "needs the X-CSRF-Token header the login returned"
)
ENROL_ONLY = (
    "请先登记第二因子 / this login may only enrol a second factor (scope enrol): POST "
    "/api/v1/auth/totp, confirm with a code, then log in again with the code"
)
READ_ONLY = "只读令牌 / this token is read-only (scope read); changes need scope write"
DIRECTORY = """
[identity.ldap]
url = "ldaps://127.0.0.1:636"
user_dn = "uid={user},ou=people,dc=gdc,dc=example"
group_base = "ou=groups,dc=gdc,dc=example"
[identity.ldap.group_roles]
facility-staff = ["facility"]
"""


@pytest.fixture
def site(site_dir: Path) -> Site:
    """A site copy with wanglei (department) and zhangwei (ops, no TOTP yet) given passwords."""
    found = load_site(site_dir)
    store = account_store(found.paths.state)
    for user in ("wanglei", "zhangwei"):
        store.set_password(user, hash_password(PASSWORD), NOW, 5, must_change=False)
    return found


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    """The API of the site copy."""
    # not entered: the app's lifespan (deliveries, the room's cache, policy workers) is not needed
    yield TestClient(create_app(site, ManualClock(NOW)), base_url="https://testserver")


def events(site: Site, action: str) -> list[dict[str, Any]]:
    """The audit events of one action recorded so far, oldest first."""
    return [e for e in Journal.of(site).events() if e["action"] == action]


def session(client: TestClient, user: str = "wanglei", **extra: object) -> str:
    """Log in for a session cookie (kept by the client); its CSRF token."""
    done = client.post("/api/v1/auth/login", json={"user": user, "password": PASSWORD, **extra})
    assert done.status_code == 200, done.text
    assert client.cookies.get(SESSION_COOKIE)
    return str(done.json()["csrf"])


def bearer(client: TestClient) -> str:
    """A bearer token of wanglei's (what `dcops login` keeps)."""
    done = client.post("/api/v1/auth/token", json={"user": "wanglei", "password": PASSWORD})
    assert done.status_code == 200, done.text
    return str(done.json()["token"])


def test_nobody_is_let_in_without_a_token_or_a_cookie(client: TestClient) -> None:
    refused = client.get("/api/v1/whoami")
    assert refused.status_code == 401 and refused.json()["detail"] == NOT_LOGGED_IN
    empty = client.get("/api/v1/whoami", headers={"Authorization": "Bearer   "})
    assert empty.status_code == 401 and empty.json()["detail"] == NOT_LOGGED_IN


def test_a_session_cookie_reads_but_changes_only_with_its_csrf_token(client: TestClient) -> None:
    csrf = session(client)
    assert client.get("/api/v1/whoami").json()["user"] == "wanglei"
    for given in ({}, {CSRF_HEADER: "not-the-token"}, {CSRF_HEADER: ""}):
        refused = client.post(TOKENS, json=NEW_TOKEN, headers=given)
        assert refused.status_code == 403, given
        assert refused.json()["detail"] == CSRF_REFUSED
    assert client.get(TOKENS).json() and len(client.get(TOKENS).json()) == 1  # nothing issued
    made = client.post(TOKENS, json=NEW_TOKEN, headers={CSRF_HEADER: csrf})
    assert made.status_code == 201 and made.json()["scopes"] == ["read"]


def test_a_bearer_token_needs_no_csrf_token_and_wins_over_a_cookie(client: TestClient) -> None:
    secret = bearer(client)
    for scheme in ("Bearer", "bearer", "BEARER"):
        made = client.post(TOKENS, json=NEW_TOKEN, headers={"Authorization": f"{scheme} {secret}"})
        assert made.status_code == 201, (scheme, made.text)
    session(client, "zhangwei", enrol=True)  # a cookie of someone else's, present too
    mine = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert mine.json()["user"] == "wanglei" and mine.json()["method"] == "password"


def test_a_malformed_authorization_header_falls_back_to_the_cookie(client: TestClient) -> None:
    secret = bearer(client)
    refused = client.get("/api/v1/whoami", headers={"Authorization": f"Token {secret}"})
    assert refused.status_code == 401 and "not logged in" in refused.json()["detail"]


def test_a_read_only_token_reads_but_changes_nothing(client: TestClient) -> None:
    secret = bearer(client)
    made = client.post(TOKENS, json=NEW_TOKEN, headers={"Authorization": f"Bearer {secret}"})
    read_only = {"Authorization": f"Bearer {made.json()['token']}"}
    assert client.get("/api/v1/whoami", headers=read_only).json()["scopes"] == ["read"]
    refused = client.post(TOKENS, json=NEW_TOKEN, headers=read_only)
    assert refused.status_code == 403 and refused.json()["detail"] == READ_ONLY
    gone = client.delete(f"{TOKENS}/{made.json()['id']}", headers=read_only)
    assert gone.status_code == 403
    assert client.get("/api/v1/whoami", headers=read_only).status_code == 200  # not revoked


def test_a_login_that_must_enrol_may_only_enrol(client: TestClient) -> None:
    csrf = session(client, "zhangwei", enrol=True)
    who = client.get("/api/v1/whoami")
    assert who.status_code == 200 and who.json()["scopes"] == ["enrol"]
    listed = client.get(TOKENS)
    assert listed.status_code == 403 and listed.json()["detail"] == ENROL_ONLY
    made = client.post(TOKENS, json=NEW_TOKEN, headers={CSRF_HEADER: csrf})
    assert made.status_code == 403 and made.json()["detail"] == ENROL_ONLY
    enrol = client.post("/api/v1/auth/totp", headers={CSRF_HEADER: csrf})
    assert enrol.status_code == 200 and "secret=" in enrol.json()["otpauth_uri"]
    assert client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 200


def test_a_refused_change_is_audited_under_the_person_who_tried_it(
    client: TestClient, site: Site
) -> None:
    session(client)
    assert client.post(TOKENS, json=NEW_TOKEN).status_code == 403  # cookie without CSRF token
    secret = bearer(client)
    made = client.post(TOKENS, json=NEW_TOKEN, headers={"Authorization": f"Bearer {secret}"})
    read_only = {"Authorization": f"Bearer {made.json()['token']}"}
    assert client.post(TOKENS, json=NEW_TOKEN, headers=read_only).status_code == 403
    denied = [(e["actor"]["user"], e["result"]["error"]) for e in events(site, "auth.denied")]
    assert denied == [("wanglei", CSRF_REFUSED), ("wanglei", READ_ONLY)]


def test_an_api_token_sent_as_a_session_cookie_changes_nothing(client: TestClient) -> None:
    cookie = {"Cookie": f"{SESSION_COOKIE}={bearer(client)}"}
    assert client.get("/api/v1/whoami", headers=cookie).json()["user"] == "wanglei"
    # an API token has no CSRF token, so no header can stand for one
    for guess in ("", "None", "null", "XXXX"):
        refused = client.post(TOKENS, json=NEW_TOKEN, headers={**cookie, CSRF_HEADER: guess})
        assert refused.status_code == 403 and refused.json()["detail"] == CSRF_REFUSED, guess
    assert len(client.get(TOKENS, headers=cookie).json()) == 1  # nothing issued


def test_the_access_audit_names_the_callers_address_and_user_agent(
    client: TestClient, site: Site
) -> None:
    agent = "dcops-test/1.0 " + "x" * 300
    wrong = {"user": "wanglei", "password": "Not-The-Passw0rd"}
    refused = client.post("/api/v1/auth/login", json=wrong, headers={"User-Agent": agent})
    assert refused.status_code == 401
    caller = events(site, "auth.login")[-1]["actor"]
    assert (caller["source"], caller["agent"]) == ("testclient", agent[:200])


def test_a_call_with_no_client_address_or_user_agent_is_served_and_audited_so(
    site: Site,
) -> None:
    app = create_app(site, ManualClock(NOW))

    async def over_a_unix_socket(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "client": None}, receive, send)

    anonymous = TestClient(over_a_unix_socket, base_url="https://testserver")
    del anonymous.headers["user-agent"]
    assert session(anonymous)
    caller = events(site, "auth.login")[-1]["actor"]
    assert (caller["user"], caller["source"], caller["agent"]) == ("wanglei", "", "")


def test_a_change_is_audited_with_the_callers_directory_roles_address_and_agent(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # lina is department:wjw in dcops.toml; her directory group makes her facility staff
    toml = site_dir / "dcops.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + DIRECTORY, encoding="utf-8")
    site = load_site(site_dir)
    entry = DirectoryEntry(found=True, disabled=False, groups=("facility-staff",))

    def bind(_settings: object, user: str, password: str) -> DirectoryEntry | None:
        return entry if (user, password) == ("lina", PASSWORD) else None

    monkeypatch.setattr(directory, "bind_and_groups", bind)
    client = TestClient(create_app(site, ManualClock(NOW)), base_url="https://testserver")
    login = client.post("/api/v1/auth/token", json={"user": "lina", "password": PASSWORD})
    assert login.status_code == 200 and login.json()["method"] == "ldap", login.text
    headers = {"Authorization": f"Bearer {login.json()['token']}", "User-Agent": "ops-laptop/2.1"}
    record = {"action": "power-cycle", "object": "device/ups-1", "message": "UPS 1 restarted"}
    done = client.post("/api/v1/audit/records", json=record, headers=headers)
    assert done.status_code == 201, done.text
    actor = events(site, "manual.power-cycle")[-1]["actor"]
    assert {k: actor[k] for k in ("user", "name", "login", "method", "roles")} == {
        "user": "lina", "name": "李娜", "login": "lina", "method": "ldap", "roles": ["facility"],
    }  # fmt: skip
    assert (actor["source"], actor["agent"]) == ("testclient", "ops-laptop/2.1")


def test_the_consoles_enrolment_form_needs_only_its_own_csrf_field(client: TestClient) -> None:
    # the console's forms carry the CSRF token as a field, not as the API's header
    csrf = session(client, "zhangwei", enrol=True)
    page = client.post("/console/totp", data={"csrf": csrf})
    assert page.status_code == 200, page.text
    assert 'id="otpauth">otpauth://totp/' in page.text
    forged = client.post("/console/totp", data={"csrf": "not-the-token"})
    assert forged.status_code == 403 and 'id="otpauth"' not in forged.text
