"""[monitors] channels, roster and escalation in dcops.toml: every wrong reference is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.errors import InvalidInput
from dcops.core.loader import load_site


def _messages(site_dir: Path, extra: str) -> list[str]:
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as out:
        out.write(extra)
    with pytest.raises(InvalidInput) as caught:
        load_site(site_dir)
    return [str(p) for p in caught.value.problems]


CHANNELS = """
[[monitors.channels]]
name = "duty-sms"
kind = "sms"
url = "https://sms.example.gov.cn/send"
token = {env = "SMS_TOKEN"}
"""


def test_the_example_roster_loads(site_dir: Path) -> None:
    site = load_site(site_dir)
    assert site.config.monitors.roster.manager == "liuyang"
    assert [s.people[0] for s in site.config.monitors.roster.shifts] == ["zhaomin", "zhangwei"]


def test_a_secret_written_into_the_site_file_is_refused(site_dir: Path) -> None:
    [message] = _messages(site_dir, CHANNELS.replace('{env = "SMS_TOKEN"}', '"abc123"'))
    assert "monitors.channels.0.sms.token" in message or "token" in message
    assert "secrets are never written" in message and "abc123" not in message


def test_a_token_in_the_url_query_is_refused(site_dir: Path) -> None:
    [message] = _messages(site_dir, CHANNELS.replace("/send", "/send?token=abc"))
    assert "has a query; tokens and keys go in a secret reference" in message


def test_unknown_kind_lists_the_allowed_ones(site_dir: Path) -> None:
    [message] = _messages(site_dir, CHANNELS.replace('kind = "sms"', 'kind = "pager"'))
    assert "'email', 'webhook', 'dingtalk', 'wecom', 'sms'" in message


def test_escalation_references_are_checked(site_dir: Path) -> None:
    extra = (
        CHANNELS
        + """
[[monitors.escalation]]
name = "critical"
role = "network"
steps = [{after = "0s", channels = ["duty-sms", "pager"]}]
"""
    )
    messages = _messages(site_dir, extra)
    assert any(
        "monitors.escalation[0].role: no shift of role 'network'" in m and "allowed: facility" in m
        for m in messages
    )
    assert any(
        "monitors.escalation[0].steps[0].channels[1]: unknown channel 'pager'; allowed: duty-sms"
        in m
        for m in messages
    )


def test_an_sms_step_needs_a_phone_for_everyone_it_may_reach(site_dir: Path) -> None:
    path = site_dir / "dcops.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('phone = "13800000002"\n', ""), encoding="utf-8"
    )
    extra = (
        CHANNELS
        + """
[[monitors.escalation]]
name = "critical"
role = "facility"
steps = [{after = "0s", channels = ["duty-sms"]}]
"""
    )
    [message] = _messages(site_dir, extra)
    assert "an SMS channel needs a phone for zhangwei in [[people]]" in message


def test_roster_people_and_steps_must_be_known_and_in_order(site_dir: Path) -> None:
    extra = (
        CHANNELS
        + """
[[monitors.roster.shifts]]
role = "facility"
start = "8:00"
people = ["nobody"]

[[monitors.escalation]]
name = "critical"
role = "facility"
steps = [{after = "10m", channels = ["duty-sms"]}, {after = "5m", channels = ["duty-sms"]}]
"""
    )
    messages = _messages(site_dir, extra)
    assert any("'8:00' is not a time of day; allowed: HH:MM" in m for m in messages)
    assert any("steps must be in the order of their `after`" in m for m in messages)


def test_tenancy_events_go_only_to_channels_that_exist(site_dir: Path) -> None:
    extra = 'channels = ["duty-sms", "dingtalk-duty", "duty-sms"]\n' + CHANNELS
    messages = _messages(site_dir, extra)
    assert any(
        "notifications.channels" in m and "unknown channel 'dingtalk-duty'; allowed: duty-sms" in m
        for m in messages
    ), messages
    assert any("'duty-sms' is listed twice" in m for m in messages), messages


def test_tenancy_event_channels_load(site_dir: Path) -> None:
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as out:
        out.write('channels = ["duty-sms"]\n' + CHANNELS)
    assert load_site(site_dir).config.notifications.channels == ["duty-sms"]
