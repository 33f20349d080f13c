"""Enrolling a second factor through the API: shown once, confirmed by a code, audited, bounded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from starlette.testclient import TestClient

from dcops.audit.journal import Journal
from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.server import totp
from dcops.server.accounts import account_store
from dcops.server.app import create_app
from dcops.server.clock import ManualClock
from dcops.server.context import CSRF_HEADER
from dcops.server.passwords import hash_password

PASSWORD = "Dept-Passw0rd-2026"
START = 1_800_000_000


@dataclass
class Api:
    """A client of a site copy's API, with its clock and site at hand."""

    client: TestClient
    clock: ManualClock
    site: Site
    csrf: str = ""

    def login(self, user: str = "zhangwei", code: str = "", enrol: bool = True) -> Any:
        """Log in for a session; keep its CSRF token."""
        body = {"user": user, "password": PASSWORD, "code": code, "enrol": enrol}
        done = self.client.post("/api/v1/auth/login", json=body)
        if done.status_code == 200:
            self.csrf = done.json()["csrf"]
        return done

    def post(self, path: str, **body: str) -> Any:
        """A change, with the session's CSRF token."""
        return self.client.post(path, json=body or None, headers={CSRF_HEADER: self.csrf})

    def events(self, action: str) -> list[dict[str, Any]]:
        """The audit events of one action."""
        return [e for e in Journal.of(self.site).events() if e["action"] == action]


@pytest.fixture
def api(site_dir: Path) -> Api:
    """zhangwei (ops: needs a second factor, has none) and wanglei (department)."""
    site = load_site(site_dir)
    clock = ManualClock(START)
    store = account_store(site.paths.state)
    for user in ("zhangwei", "wanglei"):
        store.set_password(user, hash_password(PASSWORD), clock.now(), 5, must_change=False)
    return Api(TestClient(create_app(site, clock), base_url="https://testserver"), clock, site)


def secret_of(shown: dict[str, str]) -> str:
    """The secret inside an otpauth URI."""
    return parse_qs(urlparse(shown["otpauth_uri"]).query)["secret"][0]


def code(api: Api, secret: str) -> str:
    """The secret's code at the API's clock."""
    return totp.code_at(secret, totp.step_of(api.clock.now()))


def test_the_state_says_whether_a_factor_is_needed_waiting_or_enrolled(api: Api) -> None:
    api.login()
    assert api.client.get("/api/v1/auth/totp").json() == {
        "enrolled": False,
        "pending": False,
        "required": True,
    }
    api.post("/api/v1/auth/totp")
    assert api.client.get("/api/v1/auth/totp").json()["pending"] is True
    api.clock.advance(599)
    assert api.client.get("/api/v1/auth/totp").json()["pending"] is True
    api.clock.advance(1)  # ten minutes: the shown secret is no longer waiting
    assert api.client.get("/api/v1/auth/totp").json()["pending"] is False
    department = Api(api.client, api.clock, api.site)
    department.login("wanglei", enrol=False)
    assert api.client.get("/api/v1/auth/totp").json()["required"] is False


def test_a_new_secret_is_shown_once_for_the_caller_and_audited(api: Api) -> None:
    api.login()
    shown = api.post("/api/v1/auth/totp").json()
    assert shown["otpauth_uri"].startswith("otpauth://totp/dcops-gdc%3Azhangwei?secret=")
    assert shown["qr_svg"].startswith("data:image/svg+xml")
    assert shown["expires"] == str(START + 600)
    assert len(secret_of(shown)) == 32
    pending = account_store(api.site.paths.state).pending_enrolment("zhangwei")
    assert pending == (secret_of(shown), START)
    [event] = api.events("auth.totp.begin")
    assert event["actor"]["user"] == "zhangwei" and event["actor"]["method"] == "password"
    assert event["result"]["status"] == "success"


def test_confirming_with_the_code_enrols_and_ends_the_enrolling_login(api: Api) -> None:
    api.login()
    secret = secret_of(api.post("/api/v1/auth/totp").json())
    now_code = code(api, secret)
    done = api.post("/api/v1/auth/totp/confirm", code=f" {now_code} ")
    assert done.status_code == 200, done.text
    codes = done.json()["recovery_codes"]
    assert done.json()["user"] == "zhangwei" and len(codes) == 10
    assert all(re.fullmatch(r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}", c) for c in codes)
    account = account_store(api.site.paths.state).account("zhangwei")
    assert account is not None and account.totp_secret == secret
    [event] = api.events("auth.totp.confirm")
    assert event["result"]["status"] == "success" and event["details"] == {"recovery_codes": 10}
    assert event["actor"]["user"] == "zhangwei" and event["actor"]["method"] == "password"
    assert api.client.get("/api/v1/whoami").status_code == 401  # the enrol-only session ended
    assert api.login(code=now_code, enrol=False).status_code == 401  # its code is used up
    api.clock.advance(30)
    assert api.login(code=code(api, secret), enrol=False).status_code == 200
    assert api.client.get("/api/v1/whoami").json()["method"] == "password+totp"


def test_a_full_login_stays_after_confirming(api: Api) -> None:
    api.login("wanglei", enrol=False)
    secret = secret_of(api.post("/api/v1/auth/totp").json())
    assert api.post("/api/v1/auth/totp/confirm", code=code(api, secret)).status_code == 200
    assert api.client.get("/api/v1/whoami").json()["user"] == "wanglei"


def test_a_wrong_code_enrols_nothing_and_is_audited(api: Api) -> None:
    api.login()
    secret = secret_of(api.post("/api/v1/auth/totp").json())
    wrong = f"{(int(code(api, secret)) + 1) % 1_000_000:06d}"
    refused = api.post("/api/v1/auth/totp/confirm", code=wrong)
    assert refused.status_code == 400
    assert "the code does not match the new secret; check the authenticator app's clock and " \
        "enter the current 6-digit code" in refused.json()["detail"]  # fmt: skip
    account = account_store(api.site.paths.state).account("zhangwei")
    assert account is not None and account.totp_secret is None
    [event] = api.events("auth.totp.confirm")
    assert event["result"] == {"status": "failure", "error": "wrong code"}
    assert event["actor"]["user"] == "zhangwei" and event["actor"]["method"] == "password"


@pytest.mark.parametrize("wait", [None, 600])
def test_no_enrolment_waiting_or_one_ten_minutes_old_is_refused(api: Api, wait: int | None) -> None:
    api.login()
    if wait is not None:
        secret = secret_of(api.post("/api/v1/auth/totp").json())
        api.clock.advance(wait)
        late = code(api, secret)
    else:
        late = "123456"
    refused = api.post("/api/v1/auth/totp/confirm", code=late)
    assert refused.status_code == 400
    assert "no enrolment is waiting (or it is older than 10 minutes); start one with POST " \
        "/api/v1/auth/totp" in refused.json()["detail"]  # fmt: skip


def test_replacing_a_factor_needs_a_login_made_with_it(api: Api) -> None:
    api.login("wanglei", enrol=False)  # a password login; then a factor is enrolled elsewhere
    secret = totp.new_secret()
    account_store(api.site.paths.state).set_totp("wanglei", secret, [])
    refused = api.post("/api/v1/auth/totp")
    assert refused.status_code == 403
    assert "replacing a second factor needs a login made with the current one (password and " \
        "code)" in refused.json()["detail"]  # fmt: skip
    assert account_store(api.site.paths.state).pending_enrolment("wanglei") is None
    with_code = Api(api.client, api.clock, api.site)
    assert with_code.login("wanglei", code=code(api, secret), enrol=False).status_code == 200
    again = with_code.post("/api/v1/auth/totp")
    assert again.status_code == 200 and secret_of(again.json()) != secret
