"""The notifier's notices as listed by `dcops alerts deliveries` and its API: newest first,
at most `limit` of them, saying how many more exist; a limit out of range is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dcops.core.errors import InvalidInput
from dcops.core.loader import load_site
from dcops.monitors.incidents import IncidentStore
from dcops.monitors.layout import layout_of
from dcops.monitors.notices import MAX_LIMIT, notices
from tests.conftest import RunDcops

PASSWORD = "Facility-Passw0rd-2026"
NOW = 1_796_090_400.0


def record(site_dir: Path, alerts: int) -> None:
    """A notifier record with one UPS alert per device, each notified once and delivered,
    except the newest, which is still pending."""
    store = IncidentStore(layout_of(load_site(site_dir)).notifier_db)
    try:
        for n in range(1, alerts + 1):
            labels = {"alertname": "UpsOnBattery", "device": f"ups-{n}"}
            incident = store.open_incident(f"f{n}", f"start-{n}", labels, {}, "critical", NOW + n)
            assert incident is not None
            store.escalate(incident.id, 0, [("sms", ["zhaomin"])], NOW + n)
        for delivery in store.deliveries()[:-1]:
            store.delivered(delivery.id, NOW + alerts + 1)
    finally:
        store.close()


def test_the_newest_notices_are_listed_first_with_how_many_there_are(site_dir: Path) -> None:
    record(site_dir, 5)
    site = load_site(site_dir)
    listed = notices(site, limit=2)
    assert [n["device"] for n in listed["notices"]] == ["ups-5", "ups-4"]
    assert (listed["total"], listed["limit"]) == (5, 2)
    pending = notices(site, pending=True, limit=2)
    assert ([n["device"] for n in pending["notices"]], pending["total"]) == (["ups-5"], 1)
    assert [n["device"] for n in notices(site)["notices"]] == [f"ups-{n}" for n in range(5, 0, -1)]


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_a_limit_out_of_range_is_refused_naming_the_range(site_dir: Path, limit: int) -> None:
    site = load_site(site_dir)
    with pytest.raises(InvalidInput) as raised:
        notices(site, limit=limit)
    assert f"limit: {limit} is not allowed; allowed: 1 to 1000" in raised.value.details()
    assert not layout_of(site).notifier_db.exists()


def test_the_command_says_when_more_exist_and_refuses_a_limit_out_of_range(
    site_dir: Path, dcops: RunDcops
) -> None:
    record(site_dir, 3)
    shown = dcops("alerts", "deliveries", "--limit", "2", user="zhaomin")
    assert shown.returncode == 0, shown.stderr
    assert "ups-3" in shown.stdout and "ups-2" in shown.stdout and "ups-1" not in shown.stdout
    assert shown.stdout.index("ups-3") < shown.stdout.index("ups-2")
    assert "2 of 3 notices, newest first; 1 older not shown (--limit up to 1000)" in shown.stdout
    every = dcops("alerts", "deliveries", user="zhaomin")
    assert "3 notices" in every.stdout and "not shown" not in every.stdout
    data = json.loads(dcops("alerts", "deliveries", "--limit", "1", "-o", "json").stdout)
    assert ([n["device"] for n in data["notices"]], data["total"]) == (["ups-3"], 3)
    refused = dcops("alerts", "deliveries", "--limit", "5000", user="zhaomin")
    assert refused.returncode == 2 and "allowed: 1 to 1000" in refused.stderr


def test_the_api_lists_at_most_the_limit_and_refuses_one_out_of_range(site_dir: Path) -> None:
    from dcops.server.accounts import account_store
    from dcops.server.app import create_app
    from dcops.server.clock import ManualClock
    from dcops.server.passwords import hash_password

    record(site_dir, 3)
    site = load_site(site_dir)
    clock = ManualClock(NOW)
    account_store(site.paths.state).set_password(
        "zhaomin", hash_password(PASSWORD), clock.now(), 5, must_change=False
    )
    client = TestClient(create_app(site, clock), base_url="https://testserver")
    login = {"user": "zhaomin", "password": PASSWORD}
    token = client.post("/api/v1/auth/token", json=login).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/alerts/deliveries", params={"limit": 2}, headers=headers)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert ([n["device"] for n in body["notices"]], body["total"]) == (["ups-3", "ups-2"], 3)
    assert client.get("/api/v1/alerts/deliveries", headers=headers).json()["limit"] == 200
    refused = client.get("/api/v1/alerts/deliveries", params={"limit": 1001}, headers=headers)
    assert refused.status_code == 422
    assert "allowed: 1 to 1000" in json.dumps(refused.json()["problems"])
