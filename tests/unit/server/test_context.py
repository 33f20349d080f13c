"""Who is calling: bearer token or session cookie, CSRF on changes, and what each scope may do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dcops.core.loader import load_site
from dcops.server.accounts import account_store
from dcops.server.app import create_app
from dcops.server.clock import ManualClock
from dcops.server.context import CSRF_HEADER, SESSION_COOKIE
from dcops.server.passwords import hash_password

PASSWORD = "Dept-Passw0rd-2026"
TOKENS = "/api/v1/auth/tokens"
NEW_TOKEN = {"name": "ci", "scopes": ["read"], "days": 1}


@pytest.fixture
def client(site_dir: Path) -> Iterator[TestClient]:
    """The API of a site copy with wanglei (department) and zhangwei (ops, no TOTP yet)."""
    site = load_site(site_dir)
    clock = ManualClock(1_800_000_000)
    store = account_store(site.paths.state)
    for user in ("wanglei", "zhangwei"):
        store.set_password(user, hash_password(PASSWORD), clock.now(), 5, must_change=False)
    # not entered: the app's lifespan (deliveries, the room's cache, policy workers) is not needed
    yield TestClient(create_app(site, clock), base_url="https://testserver")


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
    told = "not logged in: send a bearer token (dcops login) or a session cookie"
    refused = client.get("/api/v1/whoami")
    assert refused.status_code == 401 and told in refused.json()["detail"]
    empty = client.get("/api/v1/whoami", headers={"Authorization": "Bearer   "})
    assert empty.status_code == 401 and told in empty.json()["detail"]


def test_a_session_cookie_reads_but_changes_only_with_its_csrf_token(client: TestClient) -> None:
    csrf = session(client)
    assert client.get("/api/v1/whoami").json()["user"] == "wanglei"
    for given in ({}, {CSRF_HEADER: "not-the-token"}, {CSRF_HEADER: ""}):
        refused = client.post(TOKENS, json=NEW_TOKEN, headers=given)
        assert refused.status_code == 403, given
        assert "CSRF token is missing or wrong" in refused.json()["detail"]
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
    assert refused.status_code == 403 and "read-only (scope read)" in refused.json()["detail"]
    gone = client.delete(f"{TOKENS}/{made.json()['id']}", headers=read_only)
    assert gone.status_code == 403
    assert client.get("/api/v1/whoami", headers=read_only).status_code == 200  # not revoked


def test_a_login_that_must_enrol_may_only_enrol(client: TestClient) -> None:
    csrf = session(client, "zhangwei", enrol=True)
    who = client.get("/api/v1/whoami")
    assert who.status_code == 200 and who.json()["scopes"] == ["enrol"]
    listed = client.get(TOKENS)
    assert listed.status_code == 403 and "may only enrol a second factor" in listed.json()["detail"]
    made = client.post(TOKENS, json=NEW_TOKEN, headers={CSRF_HEADER: csrf})
    assert made.status_code == 403 and "may only enrol" in made.json()["detail"]
    enrol = client.post("/api/v1/auth/totp", headers={CSRF_HEADER: csrf})
    assert enrol.status_code == 200 and "secret=" in enrol.json()["otpauth_uri"]
    assert client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 200
