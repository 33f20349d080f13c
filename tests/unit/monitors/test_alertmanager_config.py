"""The rendered Alertmanager config: receivers, routes by severity and room, grouping, inhibitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.errors import InvalidInput
from dcops.core.loader import load_site
from dcops.core.monitoring import MonitorsConfig, Receiver, Route
from dcops.monitors.alertmanager_config import alertmanager_config

MAIL = Receiver.model_validate(
    {
        "name": "facility-mail",
        "kind": "email",
        "to": "a@b.cn",
        "from": "c@b.cn",
        "smarthost": "mail.b.cn:25",
    }
)


def test_default_sends_everything_to_the_shift_log_grouped_per_device() -> None:
    config = alertmanager_config(MonitorsConfig(sink_port=9999))
    assert config["route"]["receiver"] == "shift-log"
    assert config["route"]["group_by"] == ["site", "room", "device"]
    [log] = config["receivers"]
    assert log["webhook_configs"] == [
        {"url": "http://127.0.0.1:9999/alerts", "send_resolved": True}
    ]
    [everything] = config["route"]["routes"]
    assert everything["matchers"] == [] and everything["continue"] is True


def test_routes_by_severity_and_room_to_webhook_and_email() -> None:
    pager = Receiver(name="duty-pager", kind="webhook", url="http://127.0.0.1:8080/hook")
    monitors = MonitorsConfig(
        receivers=[Receiver(name="shift-log", kind="log"), pager, MAIL],
        routes=[
            Route(receiver="duty-pager", severities=["critical"], rooms=["r301"]),
            Route(receiver="facility-mail", severities=["critical", "warning"]),
        ],
    )
    config = alertmanager_config(monitors)
    routes = config["route"]["routes"]
    assert [r["receiver"] for r in routes] == ["shift-log", "duty-pager", "facility-mail"]
    assert routes[1]["matchers"] == ['severity=~"critical"', 'room=~"r301"']
    assert routes[2]["matchers"] == ['severity=~"critical|warning"']
    email = next(r for r in config["receivers"] if r["name"] == "facility-mail")["email_configs"][0]
    assert (email["to"], email["from"], email["smarthost"]) == ("a@b.cn", "c@b.cn", "mail.b.cn:25")
    fire = routes[0]["routes"][0]
    assert fire == {"matchers": ['alertname="FireAlarm"'], "group_wait": "0s"}


def test_inhibitions_cover_device_down_fire_and_on_battery() -> None:
    rules = alertmanager_config(MonitorsConfig())["inhibit_rules"]
    sources = [r["source_matchers"][0] for r in rules]
    assert 'alertname=~"DeviceDown|CracUnreachable"' in sources
    fire = next(r for r in rules if r["source_matchers"] == ['alertname="FireAlarm"'])
    assert fire["equal"] == ["site", "room"] and 'severity="warning"' in fire["target_matchers"]
    battery = next(r for r in rules if r["source_matchers"] == ['alertname="UpsOnBattery"'])
    assert battery["target_matchers"] == ['alertname="UpsAlarm"', 'alarm="input_bad"']


def _append(site_dir: Path, text: str) -> None:
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as out:
        out.write(text)


def test_a_route_to_an_unknown_receiver_is_reported_with_its_line(site_dir: Path) -> None:
    _append(site_dir, '\n[[monitors.routes]]\nreceiver = "nobody"\nrooms = ["r999"]\n')
    with pytest.raises(InvalidInput) as caught:
        load_site(site_dir)
    messages = [str(p) for p in caught.value.problems]
    assert any(
        "monitors.routes[0].receiver: unknown receiver 'nobody'; allowed: shift-log" in m
        for m in messages
    )
    assert any("unknown room 'r999'; allowed: r301" in m for m in messages)
    assert all(m.startswith("dcops.toml:") for m in messages)


def test_an_email_receiver_without_smarthost_is_refused(site_dir: Path) -> None:
    _append(
        site_dir,
        '\n[[monitors.receivers]]\nname = "mail"\nkind = "email"\nto = "a@b.cn"\nfrom = "c@b.cn"\n',
    )
    with pytest.raises(InvalidInput) as caught:
        load_site(site_dir)
    assert "a email receiver needs smarthost" in str(
        caught.value.problems[0]
    ) or "needs smarthost" in str(caught.value.problems[0])


def test_clashing_ports_are_refused(site_dir: Path) -> None:
    text = (site_dir / "dcops.toml").read_text(encoding="utf-8")
    (site_dir / "dcops.toml").write_text(
        text.replace("sink_port = 9811", "sink_port = 9090"), encoding="utf-8"
    )
    with pytest.raises(InvalidInput) as caught:
        load_site(site_dir)
    assert "port 9090 is also prometheus_port" in str(caught.value.problems[0])


def test_a_notifier_receiver_posts_to_the_notifier_with_resolved_notices() -> None:
    notifier = Receiver(name="duty", kind="notifier")
    config = alertmanager_config(
        MonitorsConfig(notifier_port=9955, receivers=[*MonitorsConfig().receivers, notifier])
    )
    duty = next(r for r in config["receivers"] if r["name"] == "duty")
    assert duty["webhook_configs"] == [
        {"url": "http://127.0.0.1:9955/alerts", "send_resolved": True}
    ]
