"""How dcops meets the security-audit requirements of 等保2.0 level 3 (GB/T 22239-2019 8.1.4.3)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Requirement:
    """One audit requirement, and how dcops meets it."""

    clause: str
    requirement: str
    how: str


MLPS_LEVEL3_AUDIT: tuple[Requirement, ...] = (
    Requirement(
        "8.1.4.3 a)",
        "启用安全审计功能，审计覆盖到每个用户，对重要的用户行为和重要安全事件进行审计 — "
        "audit enabled, covering every user, important user actions and security events",
        "Every mutating dcops command records an intent before it acts and a result after it, "
        "for every user, through one shared recorder; tampering, prunes and repairs of the "
        "journal are events too.",
    ),
    Requirement(
        "8.1.4.3 b)",
        "审计记录应包括事件的日期和时间、用户、事件类型、事件是否成功及其他与审计相关的信息 — "
        "each record holds date and time, user, event type, success or failure and other "
        "relevant information",
        "Each event holds the time in UTC and in the site's time zone, the user with name, host "
        "and roles, the action, the object (type and id), the result (success, failure with "
        "the error, or incomplete), redacted parameters, the diff and links to plans.",
    ),
    Requirement(
        "8.1.4.3 c)",
        "对审计记录进行保护，定期备份，避免受到未预期的删除、修改或覆盖等 — records protected "
        "and backed up against unexpected deletion, modification or overwriting",
        "Events are leaves of an RFC 6962 Merkle tree; Ed25519-signed, chained checkpoints are "
        "written after every change; `dcops audit verify` names the first altered, deleted, "
        "inserted or reordered event. Auditors keep checkpoints elsewhere; events younger than "
        "the retention period (at least 180 days) cannot be pruned, and pruned events are "
        "archived with their own checkpoint.",
    ),
    Requirement(
        "8.1.4.3 d)",
        "对审计进程进行保护，防止未经授权的中断 — the audit process protected from "
        "unauthorised interruption",
        "Recording is part of each command, not a separate daemon: a change cannot run without "
        "its intent being written first (durably, with fsync); an interrupted command leaves "
        "an intent without a result, which reports list as incomplete. Only the auditor role "
        "may prune.",
    ),
    Requirement(
        "网络安全法 第二十一条 (Cybersecurity Law art. 21)",
        "网络日志留存不少于六个月 — network logs kept at least six months",
        "The retention period is set in dcops.toml ([audit] retention_days) and cannot be set "
        "below 180 days.",
    ),
)
