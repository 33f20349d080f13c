"""The notifier's escalation, acknowledgement, resolution and retries, with a clock and channels
that tests control (a recording Channel, a store in a temp dir)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dcops.core.duty import EscalationPolicy, Roster, Shift
from dcops.core.errors import OperationFailed
from dcops.monitors.channel import Notice, Recipient
from dcops.monitors.incidents import IncidentStore
from dcops.monitors.notifier import DutyPlan, Notifier
from dcops.monitors.silences import Matcher, Silence

# 2026-12-01 10:00 in Asia/Shanghai (a Tuesday), as Unix time.
TUESDAY_10H = 1_796_090_400.0


@dataclass
class Recorder:
    """A channel that keeps what it is asked to send, and fails while `down` is set."""

    name: str
    sent: list[Notice] = field(default_factory=list)
    down: bool = False

    def send(self, notice: Notice) -> None:
        if self.down:
            raise OperationFailed(f"{self.name} is down")
        self.sent.append(notice)


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = TUESDAY_10H

    def __call__(self) -> float:
        return self.now


PEOPLE = {
    u: Recipient(u, n, f"{u}@example.gov.cn", p)
    for u, n, p in [
        ("zhaomin", "赵敏", "13800000001"),
        ("zhangwei", "张伟", "13800000002"),
        ("liuyang", "刘洋", "13800000003"),
        ("wangfang", "王芳", "13800000004"),
    ]
}
ROSTER = Roster(
    manager="liuyang",
    shifts=[
        Shift(role="facility", start="08:00", end="20:00", people=["zhaomin", "zhangwei"]),
        Shift(role="facility", start="20:00", end="08:00", people=["wangfang", "zhaomin"]),
    ],
)
POLICY = EscalationPolicy.model_validate(
    {
        "name": "critical-facility",
        "role": "facility",
        "severities": ["critical"],
        "steps": [
            {"after": "0s", "to": "on-call", "channels": ["robot", "sms"]},
            {"after": "10m", "to": "backup", "channels": ["sms"]},
            {"after": "20m", "to": "manager", "channels": ["sms", "mail"]},
        ],
    }
)


def alert(
    status: str = "firing", severity: str = "critical", fp: str = "a1b2c3d4"
) -> dict[str, Any]:
    return {
        "status": status,
        "fingerprint": fp,
        "startsAt": "2026-12-01T02:00:00Z",
        "labels": {
            "alertname": "UpsOnBattery",
            "severity": severity,
            "category": "power",
            "site": "gdc",
            "room": "r301",
            "device": "ups-1",
        },
        "annotations": {
            "summary": "机房 r301 UPS ups-1 已转电池供电 / UPS ups-1 in room r301 is on battery",
            "runbook_url": "https://docs.example.gov.cn/runbooks/UpsOnBattery.md",
            "value": "5",
        },
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def channels() -> dict[str, Recorder]:
    return {name: Recorder(name) for name in ("robot", "sms", "mail")}


def make_notifier(
    tmp_path: Path,
    clock: Clock,
    channels: dict[str, Recorder],
    silences: list[Silence] | None = None,
) -> Notifier:
    plan = DutyPlan(ROSTER, (POLICY,), PEOPLE, "Asia/Shanghai", retry_initial_s=2, retry_max_s=60)
    return Notifier(
        IncidentStore(tmp_path / "notifier.db"),
        plan,
        channels,
        silences=(lambda: silences) if silences is not None else None,
        clock=clock,
    )


def users(notice: Notice) -> list[str]:
    return [r.user for r in notice.recipients]


def test_a_critical_alert_goes_to_the_on_call_then_the_backup_then_the_manager(
    tmp_path: Path, clock: Clock, channels: dict[str, Recorder]
) -> None:
    notifier = make_notifier(tmp_path, clock, channels)
    notifier.receive({"alerts": [alert()]})
    assert notifier.deliver_due() == 2
    assert [users(n) for n in channels["robot"].sent] == [["zhaomin"]]
    assert [users(n) for n in channels["sms"].sent] == [["zhaomin"]]
    clock.now += 9 * 60 + 59
    assert notifier.escalate() == 0
    clock.now += 1
    assert notifier.escalate() == 1
    notifier.deliver_due()
    assert users(channels["sms"].sent[-1]) == ["zhangwei"]
    assert "第 2 级升级" in channels["sms"].sent[-1].text
    clock.now += 10 * 60
    notifier.escalate()
    notifier.deliver_due()
    assert users(channels["sms"].sent[-1]) == ["liuyang"]
    assert [users(n) for n in channels["mail"].sent] == [["liuyang"]]
    clock.now += 3600
    assert notifier.escalate() == 0, "past the last step nothing more is sent"


def test_the_night_shift_is_on_call_after_eight_in_the_evening(
    tmp_path: Path, clock: Clock, channels: dict[str, Recorder]
) -> None:
    clock.now += 11 * 3600  # 21:00 local
    notifier = make_notifier(tmp_path, clock, channels)
    notifier.receive({"alerts": [alert()]})
    notifier.deliver_due()
    assert users(channels["sms"].sent[0]) == ["wangfang"]


def test_an_acknowledged_alert_stops_escalating(
    tmp_path: Path, clock: Clock, channels: dict[str, Recorder]
) -> None:
    silences: list[Silence] = []
    notifier = make_notifier(tmp_path, clock, channels, silences)
    notifier.receive({"alerts": [alert()]})
    notifier.deliver_due()
    labels = alert()["labels"]
    silences.append(
        Silence(
            "s1",
            "active",
            tuple(Matcher(k, v) for k, v in labels.items()),
            "",
            "",
            "zhaomin",
            "ack: 已到现场 on site",
        )
    )
    assert notifier.refresh_acknowledgements() == 1
    clock.now += 3600
    assert notifier.escalate() == 0
    notifier.deliver_due()
    assert len(channels["sms"].sent) == 1
    [incident] = notifier.store.all_incidents()
    assert incident.acked_by == "zhaomin" and incident.ack_reason == "ack: 已到现场 on site"


def test_a_silence_for_another_device_is_no_acknowledgement(
    tmp_path: Path, clock: Clock, channels: dict[str, Recorder]
) -> None:
    other = Silence("s2", "active", (Matcher("device", "ups-2"),), "", "", "x", "ack: other")
    notifier = make_notifier(tmp_path, clock, channels, [other])
    notifier.receive({"alerts": [alert()]})
    assert notifier.refresh_acknowledgements() == 0
    clock.now += 600
    assert notifier.escalate() == 1


def test_repeats_and_a_second_sender_open_one_incident_and_notify_once(
    tmp_path: Path, clock: Clock, channels: dict[str, Recorder]
) -> None:
    notifier = make_notifier(tmp_path, clock, channels)
    for _ in range(3):
        notifier.receive({"alerts": [alert()]})
        notifier.deliver_due()
    assert len(channels["robot"].sent) == 1
    assert len(notifier.store.all_incidents()) == 1


def test_resolved_goes_to_everyone_told_and_only_once(
    tmp_path: Path, clock: Clock, channels: dict[str, Recorder]
) -> None:
    notifier = make_notifier(tmp_path, clock, channels)
    notifier.receive({"alerts": [alert()]})
    clock.now += 600
    notifier.escalate()
    notifier.deliver_due()
    notifier.receive({"alerts": [alert("resolved")]})
    notifier.receive({"alerts": [alert("resolved")]})
    notifier.deliver_due()
    resolved = [n for n in channels["sms"].sent if n.payload["status"] == "resolved"]
    assert len(resolved) == 1
    assert sorted(users(resolved[0])) == ["zhangwei", "zhaomin"]
    assert resolved[0].subject.startswith("[恢复 RESOLVED]")
    assert "已恢复正常" in resolved[0].text and "Back to normal" in resolved[0].text
    clock.now += 3600
    assert notifier.escalate() == 0


def test_warnings_outside_every_policy_are_not_sent(
    tmp_path: Path, clock: Clock, channels: dict[str, Recorder]
) -> None:
    notifier = make_notifier(tmp_path, clock, channels)
    notifier.receive({"alerts": [alert(severity="warning")]})
    assert notifier.deliver_due() == 0


def test_a_channel_that_is_down_is_retried_with_back_off_and_sends_once(
    tmp_path: Path, clock: Clock, channels: dict[str, Recorder]
) -> None:
    channels["sms"].down = True
    notifier = make_notifier(tmp_path, clock, channels)
    notifier.receive({"alerts": [alert()]})
    pauses = []
    for _ in range(5):
        notifier.deliver_due()
        [pending] = [d for d in notifier.store.deliveries() if d.channel == "sms"]
        pauses.append(pending.next_at - clock.now)
        clock.now = pending.next_at
    assert pauses == [2, 4, 8, 16, 32]
    assert pending.attempts == 5 and "sms is down" in (pending.last_error or "")
    channels["sms"].down = False
    notifier.deliver_due()
    notifier.deliver_due()
    assert len(channels["sms"].sent) == 1
    assert len(channels["robot"].sent) == 1


def test_a_resolved_notice_waits_for_its_firing_notice(
    tmp_path: Path, clock: Clock, channels: dict[str, Recorder]
) -> None:
    channels["sms"].down = True
    notifier = make_notifier(tmp_path, clock, channels)
    notifier.receive({"alerts": [alert()]})
    notifier.deliver_due()
    notifier.receive({"alerts": [alert("resolved")]})
    channels["sms"].down = False
    clock.now += 60
    notifier.deliver_due()
    notifier.deliver_due()
    assert [n.payload["status"] for n in channels["sms"].sent] == ["firing", "resolved"]


def test_pending_deliveries_survive_a_restart(
    tmp_path: Path, clock: Clock, channels: dict[str, Recorder]
) -> None:
    channels["robot"].down = True
    first = make_notifier(tmp_path, clock, channels)
    first.receive({"alerts": [alert()]})
    first.deliver_due()
    first.store.close()
    channels["robot"].down = False
    clock.now += 60
    second = make_notifier(tmp_path, clock, channels)
    second.deliver_due()
    assert len(channels["robot"].sent) == 1 and len(channels["sms"].sent) == 1


def test_the_message_is_chinese_first_with_room_device_value_threshold_and_runbook(
    tmp_path: Path, clock: Clock, channels: dict[str, Recorder]
) -> None:
    notifier = make_notifier(tmp_path, clock, channels)
    raw = alert()
    raw["annotations"]["threshold"] = "600"
    notifier.receive({"alerts": [raw]})
    notifier.deliver_due()
    [notice] = channels["robot"].sent
    assert notice.subject == "[告警 FIRING] 机房 r301 设备 ups-1 UpsOnBattery"
    chinese, english = notice.text.split("\n\n")
    assert chinese.startswith("【告警】机房 r301 设备 ups-1")
    assert "当前值：5；阈值：600" in chinese and "已转电池供电" in chinese
    assert "开始时间：2026-12-01 10:00:00 CST" in chinese
    assert "Value: 5; threshold: 600" in english and "is on battery" in english
    assert "runbooks/UpsOnBattery.md" in chinese and "runbooks/UpsOnBattery.md" in english
    assert notice.short.startswith("【告警】机房 r301 设备 ups-1 UpsOnBattery")
