"""`dcops serve` on loopback, called with httpx and the CLI: who may do what, and the record of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import REPO, copy_site
from tests.integration.server.live_server import NEW_PASSWORD, LiveServer, run_cli

pytestmark = pytest.mark.integration

TWO_APPROVERS = (
    (REPO / "inventory/requests/fgw-production.yml")
    .read_text(encoding="utf-8")
    .replace(
        "flavor: c2.m4, image: kylin-v10-sp3, count: 2",
        "flavor: c16.m64, image: kylin-v10-sp3, count: 2",
    )
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module, with accounts for a department, two approvers and a victim."""
    site = copy_site(tmp_path_factory.mktemp("serve") / "site")
    live = LiveServer(site)
    live.start()
    try:
        live.account("wanglei", second_factor=False)
        live.account("chenjing", second_factor=True)
        live.account("liuyang", second_factor=True)
        live.account("lina", second_factor=False)
        yield live
    finally:
        live.stop()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_readiness_metrics_and_the_openapi_document(server: LiveServer) -> None:
    with server.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").status_code == 200
        paths = client.get("/api/v1/openapi.json").json()["paths"]
        assert {"/api/v1/tenancies", "/api/v1/tenancies/{ref}/approve", "/api/v1/whoami"} <= set(
            paths
        )
        assert "dcops_server_requests_total" in client.get("/metrics").text


def test_approvers_need_their_second_factor(server: LiveServer) -> None:
    with server.client() as client:
        bare = client.post(
            "/api/v1/auth/token", json={"user": "chenjing", "password": NEW_PASSWORD}
        )
        assert bare.status_code == 401 and "one-time code" in bare.json()["detail"]
        wrong = client.post(
            "/api/v1/auth/token",
            json={"user": "chenjing", "password": NEW_PASSWORD, "code": "000000"},
        )
        assert wrong.status_code == 401
    token = server.token("chenjing")
    with server.client() as client:
        me = client.get("/api/v1/whoami", headers=_auth(token)).json()
    assert me["user"] == "chenjing" and me["roles"] == ["approver"]
    assert me["method"] == "password+totp"


def test_a_recovery_code_works_once(server: LiveServer) -> None:
    code = server.secrets["liuyang:recovery"]
    body = {"user": "liuyang", "password": NEW_PASSWORD, "code": code}
    with server.client() as client:
        first = client.post("/api/v1/auth/token", json=body)
        again = client.post("/api/v1/auth/token", json=body)
    assert first.status_code == 200 and first.json()["method"] == "password+recovery"
    assert again.status_code == 401


def test_a_department_token_cannot_approve_and_the_denial_is_audited(server: LiveServer) -> None:
    token = server.token("wanglei")
    headers = {**_auth(token), "Content-Type": "application/yaml", "User-Agent": "pytest-dept"}
    with server.client() as client:
        submitted = client.post("/api/v1/tenancies", content=TWO_APPROVERS, headers=headers)
        assert submitted.status_code == 201, submitted.text
        ident = submitted.json()[0]["request_id"]
        denied = client.post(
            f"/api/v1/tenancies/{ident}/approve",
            json={},
            headers={**_auth(token), "User-Agent": "pytest-dept"},
        )
    assert denied.status_code == 403
    assert "needs the approver role" in denied.json()["detail"]
    events = [e for e in server.journal() if e["action"] == "auth.denied"]
    assert events and events[-1]["actor"]["user"] == "wanglei"
    assert events[-1]["actor"]["source"] == "127.0.0.1"
    assert events[-1]["actor"]["agent"] == "pytest-dept"
    assert events[-1]["actor"]["method"] == "password"


def test_two_approvals_need_two_different_people(server: LiveServer) -> None:
    dept = server.token("wanglei")
    with server.client() as client:
        submitted = client.post(
            "/api/v1/tenancies", content=TWO_APPROVERS.replace("environment: production", "environment: staging").replace(
                "192.168.10.0/24", "192.168.77.0/24"
            ).replace("namespace: fgw\n", "namespace: fgw-staging\n"),
            headers={**_auth(dept), "Content-Type": "application/yaml"},
        )  # fmt: skip
        assert submitted.status_code == 201, submitted.text
        ident = submitted.json()[0]["request_id"]
        first_token = server.token("chenjing")
        first = client.post(
            f"/api/v1/tenancies/{ident}/approve", json={}, headers=_auth(first_token)
        )
        assert first.status_code == 200, first.text
        assert first.json()[0]["to_state"] == "submitted"
        twice = client.post(
            f"/api/v1/tenancies/{ident}/approve", json={}, headers=_auth(first_token)
        )
        assert twice.status_code == 403 and "already approved" in twice.json()["detail"]
        second = client.post(
            f"/api/v1/tenancies/{ident}/approve", json={}, headers=_auth(server.token("liuyang"))
        )
        assert second.status_code == 200 and second.json()[0]["to_state"] == "approved"
    approvals = [e for e in server.journal() if e["action"] == "tenancy.approve"]
    assert {e["actor"]["user"] for e in approvals} >= {"chenjing", "liuyang"}
    approvers = [e for e in approvals if e["actor"]["user"] in ("chenjing", "liuyang")]
    assert all(e["actor"]["method"].startswith("password+") for e in approvers)


def test_a_revoked_token_is_refused_at_once(server: LiveServer) -> None:
    token = server.token("wanglei")
    ident = token.removeprefix("dcops_").split(".")[0]
    with server.client() as client:
        assert client.get("/api/v1/whoami", headers=_auth(token)).status_code == 200
        revoked = client.delete(f"/api/v1/auth/tokens/{ident}", headers=_auth(token))
        assert revoked.status_code == 200
        after = client.get("/api/v1/whoami", headers=_auth(token))
    assert after.status_code == 401 and "revoked" in after.json()["detail"]


def test_the_security_administrator_revokes_every_token_of_a_person_at_once(
    server: LiveServer,
) -> None:
    tokens = [server.token("lina"), server.token("lina")]
    with server.client() as client:
        assert all(client.get("/api/v1/whoami", headers=_auth(t)).status_code == 200
                   for t in tokens)  # fmt: skip
        done = run_cli(server.site, "users", "revoke-tokens", "lina")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("lina: ") and "sessions and tokens revoked" in done.stdout
        after = [client.get("/api/v1/whoami", headers=_auth(t)) for t in tokens]
    assert [a.status_code for a in after] == [401, 401]
    recorded = [e for e in server.journal() if e["action"] == "users.revoke-tokens"]
    assert recorded and recorded[-1]["actor"]["user"] == "zhouqiang"
    refused = run_cli(server.site, "users", "revoke-tokens", "lina", user="zhangwei")
    assert refused.returncode == 2 and "needs the security role" in refused.stderr


def test_a_session_cookie_needs_the_csrf_token_for_changes(server: LiveServer) -> None:
    with server.client() as client:
        login = client.post(
            "/api/v1/auth/login",
            json={"user": "chenjing", "password": NEW_PASSWORD, "code": server.code("chenjing")},
        )
        assert login.status_code == 200, login.text
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
        assert client.get("/api/v1/whoami").json()["user"] == "chenjing"
        forged = client.post("/api/v1/tenancies/1/reject", json={"reason": "forged"})
        assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]
        shown = client.get("/api/v1/tenancies/1").json()
        assert shown["state"] != "rejected"


def test_lockout_after_repeated_failures_is_audited(server: LiveServer) -> None:
    with server.client() as client:
        for _ in range(5):
            bad = client.post("/api/v1/auth/token", json={"user": "lina", "password": "nope-nope"})
            assert bad.status_code == 401
        right = client.post("/api/v1/auth/token", json={"user": "lina", "password": NEW_PASSWORD})
    assert right.status_code == 401 and "locked" in right.json()["detail"]
    assert any(
        e["action"] == "auth.lockout" and e["actor"]["user"] == "lina" for e in server.journal()
    )


def test_bad_input_gets_problem_details_with_the_field(server: LiveServer) -> None:
    token = server.token("wanglei")
    broken = TWO_APPROVERS.replace("tier", "tierx").replace("count: 2", "count: -1")
    with server.client() as client:
        done = client.post(
            "/api/v1/tenancies/validate", content=broken,
            headers={**_auth(token), "Content-Type": "application/yaml"},
        )  # fmt: skip
        huge = client.post(
            "/api/v1/tenancies/validate", content="x" * 2_000_000,
            headers={**_auth(token), "Content-Type": "application/yaml"},
        )  # fmt: skip
    assert done.status_code == 422
    assert done.headers["content-type"] == "application/problem+json"
    fields = [p["field"] for p in done.json()["problems"]]
    assert any("count" in f for f in fields) and all(p["line"] for p in done.json()["problems"])
    assert huge.status_code == 413


def test_the_server_keeps_sessions_across_a_restart(server: LiveServer) -> None:
    token = server.token("wanglei")
    server.stop()
    server.start()
    with server.client() as client:
        assert client.get("/api/v1/whoami", headers=_auth(token)).json()["user"] == "wanglei"


def test_passwords_and_tokens_never_reach_logs_audit_or_errors(server: LiveServer) -> None:
    secrets = [v for k, v in server.secrets.items() if not k.endswith(":step")] + [NEW_PASSWORD]
    token_secrets = [s.split(".", 1)[1] for s in secrets if s.startswith("dcops_")]
    journal = (server.site / ".dcops" / "audit" / "journal.jsonl").read_text(encoding="utf-8")
    logs = "".join(p.read_text(errors="replace") for p in server.site.glob("serve-*.log"))
    for secret in [*secrets, *token_secrets]:
        assert secret not in journal and secret not in logs
    listed = run_cli(server.site, "users", "list", "--output", "json")
    assert listed.returncode == 0 and NEW_PASSWORD not in listed.stdout


def test_only_the_security_administrator_manages_accounts(server: LiveServer) -> None:
    denied = run_cli(server.site, "users", "reset-password", "wanglei", user="zhangwei")
    assert denied.returncode == 2 and "needs the security role" in denied.stderr
    missing = run_cli(server.site, "users", "add", "mallory")
    assert missing.returncode == 2 and "not under [[people]]" in missing.stderr


def test_plan_results_of_a_request_are_read_only_and_follow_visibility(server: LiveServer) -> None:
    department = server.token("wanglei")
    with server.client() as client:
        mine = client.get("/api/v1/tenancies", headers=_auth(department)).json()
        assert mine, "the earlier tests submitted fgw requests"
        ident = mine[-1]["id"]
        planned = client.get(f"/api/v1/tenancies/{ident}/plan", headers=_auth(department))
        assert planned.status_code == 200, planned.text
        body = planned.json()
        assert body["request_id"] == ident and body["tenancy"] == mine[-1]["name"]
        assert body["ok"] is True and body["summary"]["resources"] > 0
        assert {v["policy"] for v in body["verdicts"]} and body["diff"]["against"] == "none"
        server.account("zhaomin", second_factor=False)  # facility: no department to see
        other = client.get(
            f"/api/v1/tenancies/{ident}/plan", headers=_auth(server.token("zhaomin"))
        )
        assert other.status_code == 403
        anonymous = client.get(f"/api/v1/tenancies/{ident}/plan")
        assert anonymous.status_code == 401
        missing = client.get("/api/v1/tenancies/99999/plan", headers=_auth(department))
        assert missing.status_code == 400
    assert not (server.site / ".dcops" / "stacks" / body["tenancy"]).exists()  # nothing saved
