"""What people read about an alert: 中文 first, then English, with room, device, value, threshold and runbook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dcops.monitors.channel import Notice, Recipient

SEVERITY_ZH = {"critical": "严重", "warning": "警告"}


@dataclass(frozen=True)
class AlertFacts:
    """The parts of an Alertmanager alert a message needs."""

    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str

    @classmethod
    def from_webhook(cls, raw: dict[str, Any]) -> AlertFacts:
        """One alert of an Alertmanager webhook notification."""
        return cls(
            fingerprint=str(raw.get("fingerprint", "")),
            labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
            annotations={str(k): str(v) for k, v in (raw.get("annotations") or {}).items()},
            starts_at=str(raw.get("startsAt", "")),
        )


def _split_summary(summary: str) -> tuple[str, str]:
    chinese, sep, english = summary.rpartition(" / ")
    return (chinese, english) if sep else (summary, summary)


def _local(stamp: str, zone: ZoneInfo) -> str:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def alert_notice(
    facts: AlertFacts,
    *,
    resolved: bool,
    key: str,
    recipients: tuple[Recipient, ...],
    timezone: str,
    step: int | None = None,
    site_title: str = "",
) -> Notice:
    """A firing or resolved notice for one alert, bilingual, with a short form for SMS."""
    labels, notes = facts.labels, facts.annotations
    name = labels.get("alertname", "?")
    severity = labels.get("severity", "")
    room, rack, device = labels.get("room", "-"), labels.get("rack", ""), labels.get("device", "-")
    value, threshold = notes.get("value", ""), notes.get("threshold", "")
    runbook = notes.get("runbook_url", "")
    zh_summary, en_summary = _split_summary(notes.get("summary", name))
    since = _local(facts.starts_at, ZoneInfo(timezone))
    state_zh, state_en = ("恢复", "RESOLVED") if resolved else ("告警", "FIRING")
    where_zh = f"机房 {room}" + (f" 机柜 {rack}" if rack else "") + f" 设备 {device}"
    where_en = f"room {room}" + (f", rack {rack}" if rack else "") + f", device {device}"
    subject = f"[{state_zh} {state_en}] {where_zh} {name}"
    zh = [
        f"【{state_zh}】{where_zh}",
        f"告警：{name}（{SEVERITY_ZH.get(severity, severity)} {severity}）",
        f"当前值：{value or '-'}；阈值：{threshold or '-'}",
        f"说明：{zh_summary}",
        f"开始时间：{since}",
        f"处置手册：{runbook or '-'}",
    ]
    en = [
        f"[{state_en}] {where_en}",
        f"Alert: {name} ({severity})",
        f"Value: {value or '-'}; threshold: {threshold or '-'}",
        f"Summary: {en_summary}",
        f"Since: {since}",
        f"Runbook: {runbook or '-'}",
    ]
    if resolved:
        zh.insert(1, "已恢复正常。")
        en.insert(1, "Back to normal.")
    elif step:
        zh.insert(1, f"第 {step + 1} 级升级：前一级未确认。")
        en.insert(1, f"Escalation step {step + 1}: the previous step was not acknowledged.")
    if site_title:
        zh.append(f"站点：{site_title}")
    text = "\n".join(zh) + "\n\n" + "\n".join(en) + "\n"
    short = (
        f"【{state_zh}】{where_zh} {name} 值{value or '-'} 阈值{threshold or '-'} {runbook}".strip()
    )
    payload = {
        "status": "resolved" if resolved else "firing",
        "fingerprint": facts.fingerprint,
        "labels": labels,
        "annotations": notes,
        "starts_at": facts.starts_at,
        "step": step,
    }
    return Notice(key, subject, text, recipients, payload, short)
