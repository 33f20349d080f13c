"""Lockouts, session idle timeout and lifetime, password age: the API with an injected clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dcops.core.loader import load_site
from dcops.server.accounts import account_store
from dcops.server.app import create_app
from dcops.server.clock import ManualClock
from dcops.server.passwords import hash_password

PASSWORD = "Dept-Passw0rd-2026"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000)


@pytest.fixture
def client(site_dir: Path, clock: ManualClock) -> Iterator[TestClient]:
    site = load_site(site_dir)
    account_store(site.paths.state).set_password(
        "wanglei", hash_password(PASSWORD), clock.now(), 5, must_change=False
    )
    # not entered: the app's lifespan (deliveries, the room's cache, policy workers) is not needed
    yield TestClient(create_app(site, clock), base_url="https://testserver")


def _login(client: TestClient, password: str = PASSWORD) -> int:
    done = client.post("/api/v1/auth/login", json={"user": "wanglei", "password": password})
    return done.status_code


def test_a_lockout_ends_after_its_minutes(client: TestClient, clock: ManualClock) -> None:
    assert [_login(client, "wrong-one") for _ in range(5)] == [401] * 5
    assert _login(client) == 401
    clock.advance(14 * 60)
    assert _login(client) == 401
    clock.advance(61)
    assert _login(client) == 200


def test_an_idle_session_expires(client: TestClient, clock: ManualClock) -> None:
    assert _login(client) == 200
    clock.advance(10 * 60)
    assert client.get("/api/v1/whoami").status_code == 200
    clock.advance(10 * 60)  # 10 minutes since the last use: still within the 15
    assert client.get("/api/v1/whoami").status_code == 200
    clock.advance(16 * 60)
    gone = client.get("/api/v1/whoami")
    assert gone.status_code == 401 and "idle" in gone.json()["detail"]


def test_a_busy_session_still_ends_at_its_lifetime(client: TestClient, clock: ManualClock) -> None:
    assert _login(client) == 200
    for _ in range(8 * 6 - 1):
        clock.advance(10 * 60)
        assert client.get("/api/v1/whoami").status_code == 200
    clock.advance(10 * 60)
    assert client.get("/api/v1/whoami").status_code == 401


def test_an_old_password_must_be_changed(client: TestClient, clock: ManualClock) -> None:
    clock.advance(91 * 86400)
    refused = client.post("/api/v1/auth/login", json={"user": "wanglei", "password": PASSWORD})
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    weak = client.post(
        "/api/v1/auth/password",
        json={"user": "wanglei", "password": PASSWORD, "new_password": "short"},
    )
    assert weak.status_code == 422
    assert {p["field"] for p in weak.json()["problems"]} == {"password"}
    assert "short" not in weak.text
    same = client.post(
        "/api/v1/auth/password",
        json={"user": "wanglei", "password": PASSWORD, "new_password": PASSWORD},
    )
    assert same.status_code == 422 and "last 5" in same.text
    changed = client.post(
        "/api/v1/auth/password",
        json={"user": "wanglei", "password": PASSWORD, "new_password": "Fresh-Passw0rd-2027"},
    )
    assert changed.status_code == 200
    assert _login(client, "Fresh-Passw0rd-2027") == 200
