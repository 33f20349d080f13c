"""The notifier's channels against real receivers on loopback: an SMTP relay that demands STARTTLS
and a login (aiosmtpd), DingTalk and WeCom robots that check signature, key and message format,
an SMS gateway that checks its token, a webhook that checks its HMAC; receivers that are down."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dcops.core.loader import load_site
from dcops.monitors.notifier import Notifier
from dcops.monitors.notifier_server import notifier_server, site_notifier
from tests.integration.monitors_stack import free_port, wait_for, webhook_channel
from tests.integration.receivers import (
    Received,
    robot_channels,
    robot_server,
    serving,
    smtp_relay,
)

pytestmark = pytest.mark.integration

SECRETS = {
    "DCOPS_TEST_SMTP_PASSWORD": "relay-pass-1",
    "DCOPS_TEST_DING_TOKEN": "ding-token-1",
    "DCOPS_TEST_DING_SECRET": "SEC-ding-secret-1",
    "DCOPS_TEST_WECOM_KEY": "wecom-key-1",
    "DCOPS_TEST_SMS_TOKEN": "sms-token-1",
    "DCOPS_TEST_HOOK_SECRET": "hook-secret-1",
}


def duty_config(ports: dict[str, int], ca: Path, channels: list[str], starttls: bool = True) -> str:
    """TOML for the five channels on loopback and one policy sending to the given channels."""
    steps = ", ".join(f'"{c}"' for c in channels)
    mail = f"""
[[monitors.channels]]
name = "mail"
kind = "email"
smarthost = "127.0.0.1:{ports["smtp"]}"
from = "dcops@dsj.example.gov.cn"
username = "dcops"
password = {{env = "DCOPS_TEST_SMTP_PASSWORD"}}
starttls = {"true" if starttls else "false"}
ca_file = "{ca}"
timeout_s = 5
"""
    escalation = f"""
[[monitors.escalation]]
name = "critical-facility"
role = "facility"
severities = ["critical"]
steps = [{{after = "0s", to = "shift", channels = [{steps}]}}]
"""
    return mail + robot_channels(ports) + webhook_channel(ports["webhook"]) + escalation


def alert(status: str) -> dict[str, Any]:
    """An Alertmanager webhook alert: UPS ups-1 in room r301 on battery."""
    return {
        "status": status,
        "fingerprint": "5f3c0a1b2c3d4e5f",
        "startsAt": "2026-12-01T02:00:00Z",
        "labels": {
            "alertname": "UpsOnBattery",
            "severity": "critical",
            "category": "power",
            "site": "gdc",
            "room": "r301",
            "device": "ups-1",
        },
        "annotations": {
            "summary": "机房 r301 UPS ups-1 已转电池供电，市电中断 / UPS ups-1 in room r301 is on battery",
            "runbook_url": "https://docs.example.gov.cn/runbooks/UpsOnBattery.md",
            "value": "5",
        },
    }


@pytest.fixture
def ports() -> dict[str, int]:
    return {k: free_port() for k in ("smtp", "dingtalk", "wecom", "sms", "webhook")}


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def robot_secrets(kind: str) -> dict[str, str]:
    return {
        "dingtalk": {
            "token": SECRETS["DCOPS_TEST_DING_TOKEN"],
            "secret": SECRETS["DCOPS_TEST_DING_SECRET"],
        },
        "wecom": {"key": SECRETS["DCOPS_TEST_WECOM_KEY"]},
        "sms": {"token": SECRETS["DCOPS_TEST_SMS_TOKEN"]},
        "webhook": {"secret": SECRETS["DCOPS_TEST_HOOK_SECRET"]},
    }[kind]


@contextmanager
def running_notifier(site_dir: Path, extra: str, tmp_path: Path) -> Iterator[tuple[Notifier, str]]:
    """The site's notifier with the extra TOML, serving its webhook on a free port, with its loop."""
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as out:
        out.write(extra)
    site = load_site(str(site_dir))
    notifier = site_notifier(site, tmp_path / "notifier.db")
    notifier.silences = None
    server = notifier_server(notifier, "127.0.0.1", 0)
    stop = threading.Event()
    loop = threading.Thread(target=notifier.run, args=(stop,), kwargs={"tick": 0.05}, daemon=True)
    loop.start()
    with serving(server):
        yield notifier, f"http://127.0.0.1:{server.server_address[1]}/alerts"
    stop.set()
    notifier.wake.set()
    loop.join(timeout=10)
    notifier.store.close()


def post(url: str, alerts: list[dict[str, Any]]) -> None:
    import json
    import urllib.request

    body = json.dumps({"version": "4", "status": alerts[0]["status"], "alerts": alerts}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200


def test_every_channel_delivers_firing_and_resolved_in_chinese_first(
    site_dir: Path, tmp_path: Path, ports: dict[str, int]
) -> None:
    servers = {
        k: robot_server(k, ports[k], robot_secrets(k))
        for k in ("dingtalk", "wecom", "sms", "webhook")
    }
    got: dict[str, Received] = {k: v[1] for k, v in servers.items()}
    with (
        smtp_relay(tmp_path, ports["smtp"], "dcops", SECRETS["DCOPS_TEST_SMTP_PASSWORD"]) as (
            relay,
            ca,
        ),
        serving(servers["dingtalk"][0]),
        serving(servers["wecom"][0]),
        serving(servers["sms"][0]),
        serving(servers["webhook"][0]),
    ):
        extra = duty_config(ports, ca, ["mail", "ding", "wecom", "sms", "hook"])
        with running_notifier(site_dir, extra, tmp_path) as (notifier, url):
            post(url, [alert("firing")])
            wait_for(
                "five firing notices",
                lambda: (
                    len(relay.messages) == 1 and all(len(r.accepted) == 1 for r in got.values())
                ),
            )
            post(url, [alert("resolved")])
            wait_for(
                "five resolved notices",
                lambda: (
                    len(relay.messages) == 2 and all(len(r.accepted) == 2 for r in got.values())
                ),
            )
            assert all(d.delivered_at for d in notifier.store.deliveries())
    on_shift = {"13800000001", "13800000002"}  # zhaomin and zhangwei (day or night shift)
    firing, resolved = relay.messages
    assert len(relay.logins) == 2 and all(ok for _, ok in relay.logins)
    assert str(firing["Subject"]) == "[告警 FIRING] 机房 r301 设备 ups-1 UpsOnBattery"
    body = firing.get_content()
    assert body.index("已转电池供电") < body.index("is on battery")
    assert "当前值：5" in body and "runbooks/UpsOnBattery.md" in body
    assert str(resolved["Subject"]).startswith("[恢复 RESOLVED]")
    assert {"zhaomin@dsj.example.gov.cn", "zhangwei@dsj.example.gov.cn"} == {
        a.strip() for a in str(firing["To"]).split(",")
    }
    ding = got["dingtalk"].accepted[0]["body"]
    assert set(ding["at"]["atMobiles"]) == on_shift and "机房 r301" in ding["markdown"]["text"]
    wecom = got["wecom"].accepted[0]["body"]["text"]
    assert set(wecom["mentioned_mobile_list"]) == on_shift and wecom["content"].startswith(
        "[告警 FIRING]"
    )
    sms = got["sms"].accepted[0]["body"]
    assert set(sms["phones"]) == on_shift and sms["text"].startswith("【告警】机房 r301")
    hook = got["webhook"].accepted[1]["body"]
    assert hook["status"] == "resolved" and hook["labels"]["device"] == "ups-1"
    keys = [r["key"] for r in got["webhook"].accepted]
    assert len(set(keys)) == 2 and all(k.startswith("dcops-5f3c0a1b2c3d4e5f-") for k in keys)
    assert not any(r.refused for r in got.values())


def test_a_wrong_dingtalk_secret_is_refused_and_never_counted_as_sent(
    site_dir: Path, tmp_path: Path, ports: dict[str, int]
) -> None:
    server, got = robot_server(
        "dingtalk",
        ports["dingtalk"],
        {"token": SECRETS["DCOPS_TEST_DING_TOKEN"], "secret": "SEC-other"},
    )
    with serving(server):
        extra = duty_config(ports, tmp_path / "none.pem", ["ding"])
        with running_notifier(site_dir, extra, tmp_path) as (notifier, url):
            post(url, [alert("firing")])
            wait_for("two refused attempts", lambda: len(got.refused) >= 2, timeout=30)
            [delivery] = notifier.store.deliveries()
            assert delivery.delivered_at is None and delivery.attempts >= 2
            assert "errcode 310000" in (delivery.last_error or "")
    assert got.accepted == [] and set(got.refused) == {"sign not match"}


def test_a_relay_without_starttls_gets_no_mail_and_no_password(
    site_dir: Path, tmp_path: Path, ports: dict[str, int]
) -> None:
    with smtp_relay(tmp_path, ports["smtp"], "dcops", "x", starttls=False) as (relay, ca):
        extra = duty_config(ports, ca, ["mail"])
        with running_notifier(site_dir, extra, tmp_path) as (notifier, url):
            post(url, [alert("firing")])
            wait_for("a failed attempt", lambda: notifier.store.deliveries()[0].attempts >= 1)
            assert "does not offer STARTTLS" in (notifier.store.deliveries()[0].last_error or "")
    assert relay.messages == [] and relay.logins == []


def test_a_wrong_smtp_password_is_reported_as_a_refused_login(
    site_dir: Path, tmp_path: Path, ports: dict[str, int]
) -> None:
    with smtp_relay(tmp_path, ports["smtp"], "dcops", "another-password") as (relay, ca):
        extra = duty_config(ports, ca, ["mail"])
        with running_notifier(site_dir, extra, tmp_path) as (notifier, url):
            post(url, [alert("firing")])
            wait_for("a failed attempt", lambda: notifier.store.deliveries()[0].attempts >= 1)
            error = notifier.store.deliveries()[0].last_error or ""
            assert "refused the login" in error and SECRETS["DCOPS_TEST_SMTP_PASSWORD"] not in error
    assert relay.messages == []


def test_a_receiver_that_is_down_gets_the_notice_once_when_it_is_back(
    site_dir: Path, tmp_path: Path, ports: dict[str, int]
) -> None:
    extra = duty_config(ports, tmp_path / "none.pem", ["hook"])
    with running_notifier(site_dir, extra, tmp_path) as (notifier, url):
        post(url, [alert("firing")])
        wait_for("two failed attempts", lambda: notifier.store.deliveries()[0].attempts >= 2)
        assert "did not answer" in (notifier.store.deliveries()[0].last_error or "")
        server, got = robot_server("webhook", ports["webhook"], robot_secrets("webhook"))
        with serving(server):
            wait_for("the notice after the receiver is back", lambda: got.accepted, timeout=30)
            post(url, [alert("firing")])  # Alertmanager repeats itself: no second notice
            post(url, [alert("resolved")])
            wait_for("the resolved notice", lambda: len(got.accepted) >= 2)
            notifier.wake.set()
            threading.Event().wait(1.0)
    assert [a["body"]["status"] for a in got.accepted] == ["firing", "resolved"]


def test_a_receiver_that_answers_503_is_retried_and_gets_the_notice_once(
    site_dir: Path, tmp_path: Path, ports: dict[str, int]
) -> None:
    server, got = robot_server("sms", ports["sms"], robot_secrets("sms"))
    got.fail_next = 2
    with serving(server):
        extra = duty_config(ports, tmp_path / "none.pem", ["sms"])
        with running_notifier(site_dir, extra, tmp_path) as (notifier, url):
            post(url, [alert("firing")])
            wait_for("the notice", lambda: got.accepted, timeout=30)
            threading.Event().wait(1.0)
            [delivery] = notifier.store.deliveries()
            assert delivery.attempts == 3 and delivery.delivered_at is not None
    assert len(got.accepted) == 1 and got.fail_next == 0
