"""Self-service through the API of a real `dcops serve`: a new approver sets their password,
enrols TOTP with a code, and from then on must give one; the OpenAPI document lists it all."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from dcops.server import totp
from tests.conftest import copy_site
from tests.integration.server.live_server import NEW_PASSWORD, LiveServer, run_cli

pytestmark = pytest.mark.integration

LATER_PASSWORD = "Another-Passw0rd-9"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with one new approver account (one-time password, no second factor yet)."""
    site = copy_site(tmp_path_factory.mktemp("self-service") / "site")
    live = LiveServer(site)
    live.start()
    try:
        added = run_cli(site, "users", "add", "chenjing", "--output", "json")
        assert added.returncode == 0, added.stderr
        live.secrets["chenjing:one-time"] = json.loads(added.stdout)["one_time_password"]
        live.account("wanglei", second_factor=False)
        yield live
    finally:
        live.stop()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client: httpx.Client, password: str, code: str = "", **extra: object) -> httpx.Response:
    body = {"user": "chenjing", "password": password, "code": code, **extra}
    return client.post("/api/v1/auth/token", json=body)


def _fresh_code(secret: str, used: set[int]) -> str:
    """The code of a step not used yet (waits for the next step when needed)."""
    step = totp.step_of(time.time())
    while step in used:
        time.sleep(totp.STEP_SECONDS - time.time() % totp.STEP_SECONDS + 0.2)
        step = totp.step_of(time.time())
    used.add(step)
    return totp.code_at(secret, step)


def test_a_new_approver_sets_a_password_enrols_totp_and_then_needs_it(server: LiveServer) -> None:
    one_time = server.secrets["chenjing:one-time"]
    with server.client() as client:
        bare = _login(client, one_time)
        assert bare.status_code == 401 and "enrol" in bare.json()["detail"]
        expired = _login(client, one_time, enrol=True)
        assert expired.status_code == 401 and "expired or was reset" in expired.json()["detail"]
        weak = client.post(
            "/api/v1/auth/password",
            json={"user": "chenjing", "password": one_time, "new_password": "short"},
        )
        assert weak.status_code == 422 and "short" not in weak.text
        assert {x["field"] for x in weak.json()["problems"]} == {"password"}
        changed = client.post(
            "/api/v1/auth/password",
            json={"user": "chenjing", "password": one_time, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 200, changed.text

        refused = _login(client, NEW_PASSWORD)
        assert refused.status_code == 401 and "enrol" in refused.json()["detail"]
        enrol_only = _login(client, NEW_PASSWORD, enrol=True)
        assert enrol_only.status_code == 200, enrol_only.text
        assert enrol_only.json()["scopes"] == ["enrol"]
        token = enrol_only.json()["token"]

        blocked = client.get("/api/v1/tenancies", headers=_auth(token))
        assert blocked.status_code == 403 and "enrol" in blocked.json()["detail"]
        state = client.get("/api/v1/auth/totp", headers=_auth(token)).json()
        assert state == {"enrolled": False, "pending": False, "required": True}

        started = client.post("/api/v1/auth/totp", headers=_auth(token))
        assert started.status_code == 200, started.text
        uri = started.json()["otpauth_uri"]
        assert uri.startswith("otpauth://totp/") and started.json()["qr_svg"].startswith("data:")
        secret = uri.split("secret=")[1].split("&")[0]
        wrong = client.post(
            "/api/v1/auth/totp/confirm", json={"code": "000000"}, headers=_auth(token)
        )
        assert wrong.status_code == 400 and "does not match" in wrong.json()["detail"]
        used: set[int] = set()
        confirmed = client.post(
            "/api/v1/auth/totp/confirm",
            json={"code": _fresh_code(secret, used)},
            headers=_auth(token),
        )
        assert confirmed.status_code == 200, confirmed.text
        assert len(confirmed.json()["recovery_codes"]) == 10
        assert client.get("/api/v1/whoami", headers=_auth(token)).status_code == 401  # spent

        without = _login(client, NEW_PASSWORD)
        assert without.status_code == 401 and "one-time code" in without.json()["detail"]
        full = _login(client, NEW_PASSWORD, _fresh_code(secret, used))
        assert full.status_code == 200, full.text
        assert full.json()["method"] == "password+totp" and full.json()["scopes"] == [
            "read",
            "write",
        ]
        me = client.get("/api/v1/whoami", headers=_auth(full.json()["token"])).json()
        assert me["roles"] == ["approver"]

        changed_again = client.post(
            "/api/v1/auth/password",
            json={"user": "chenjing", "password": NEW_PASSWORD, "code": _fresh_code(secret, used),
                  "new_password": LATER_PASSWORD},
        )  # fmt: skip
        assert changed_again.status_code == 200, changed_again.text
        reused = client.post(
            "/api/v1/auth/password",
            json={"user": "chenjing", "password": LATER_PASSWORD,
                  "code": _fresh_code(secret, used), "new_password": NEW_PASSWORD},
        )  # fmt: skip
        assert reused.status_code == 422
        assert any("must differ" in x["message"] for x in reused.json()["problems"])

    actions = [(e["action"], e["result"]["status"]) for e in server.journal()]
    assert ("auth.totp.begin", "success") in actions
    assert ("auth.totp.confirm", "failure") in actions and (
        "auth.totp.confirm",
        "success",
    ) in actions
    assert secret not in json.dumps(server.journal())


def test_a_stolen_password_cannot_replace_an_enrolled_second_factor(server: LiveServer) -> None:
    with server.client() as client:
        department = server.token("wanglei")
        first = client.post("/api/v1/auth/totp", headers=_auth(department))
        assert first.status_code == 200
        secret = first.json()["otpauth_uri"].split("secret=")[1].split("&")[0]
        used: set[int] = set()
        done = client.post(
            "/api/v1/auth/totp/confirm",
            json={"code": _fresh_code(secret, used)},
            headers=_auth(department),
        )
        assert done.status_code == 200
        again = client.post("/api/v1/auth/totp", headers=_auth(department))
        assert again.status_code == 403 and "current one" in again.json()["detail"]


def test_the_openapi_document_lists_the_self_service_endpoints(server: LiveServer) -> None:
    with server.client() as client:
        paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/auth/totp", "/api/v1/auth/totp/confirm", "/api/v1/auth/password"} <= set(paths)
    assert "post" in paths["/api/v1/auth/totp"] and "get" in paths["/api/v1/auth/totp"]
