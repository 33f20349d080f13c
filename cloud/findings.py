"""Compliance findings on the live clouds: the rules, their severities and how to fix each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class Rule:
    """A scan rule: its code, severity, and the fix people are told (中文 first, then English)."""

    code: str
    severity: str
    title: str
    fix: str


RULES = {
    rule.code: rule
    for rule in (
        Rule(
            "no-admin-port-to-world",
            "critical",
            "管理端口向全网开放 / administrative port open to the world",
            "删除该规则，仅允许堡垒机或运维网段 / delete the rule; allow the bastion or ops CIDR only",
        ),
        Rule(
            "scope-without-tenancy",
            "high",
            "项目或命名空间不属于任何租户 / project or namespace that no tenancy owns",
            "登记为租户申请或删除 / file a tenancy request for it, or remove it",
        ),
        Rule(
            "namespace-fenced",
            "high",
            "命名空间缺少配额、限制范围或默认拒绝策略 / namespace without quota, limit range or "
            "default deny",
            "由 dcops provision 补齐 / let dcops provision add the missing objects",
        ),
        Rule(
            "vpn-crypto-minimum",
            "high",
            "VPN 加密强度低于站点要求 / VPN crypto below the site's minimum",
            "改用 AES-256、SHA-256 及以上、DH 14 组及以上 / use AES-256, SHA-256+ and PFS group 14+",
        ),
        Rule(
            "tenancy-expired",
            "high",
            "租户已过期仍占用资源 / tenancy past its expiry still holding resources",
            "续期或执行下线 / renew the request, or run dcops tenancy offboard and dcops destroy",
        ),
        Rule(
            "access-undeclared",
            "high",
            "项目中有 dcops.toml 未声明的角色授权 / role assignment on a project outside the "
            "people dcops.toml declares",
            "收回该授权；部门人员的权限由 dcops access sync 按 dcops.toml 授予 / revoke it; a "
            "department's people get their access from dcops.toml through dcops access sync",
        ),
        Rule(
            "department-tag",
            "medium",
            "云主机或云硬盘缺少部门标签 / server or volume without the department tag",
            "补上标签 department:<code>（云硬盘为元数据 department=<code>） / add tag "
            "department:<code> (volumes: metadata department=<code>)",
        ),
        Rule(
            "floating-ip-unattached",
            "medium",
            "浮动 IP 未绑定任何端口 / floating IP attached to nothing",
            "绑定或释放 / attach it to a port, or release it",
        ),
        Rule(
            "drift-missing",
            "high",
            "申请中有而云上没有 / in the approved request, missing from the cloud",
            "运行 dcops provision 补齐，或查明删除者 / run dcops provision, or find who removed it",
        ),
        Rule(
            "drift-extra",
            "high",
            "云上有而申请中没有 / in the cloud, not in the approved request",
            "提交变更申请，或删除 / file a change request for it, or remove it",
        ),
        Rule(
            "drift-changed",
            "medium",
            "与申请不一致 / differs from the approved request",
            "运行 dcops provision 恢复，或提交变更申请 / run dcops provision to put it back, or "
            "file a change request",
        ),
        Rule(
            "sg-rule-description",
            "low",
            "安全组规则缺少说明 / security-group rule without a description",
            "为规则写明用途 / describe why the rule exists",
        ),
    )
}


@dataclass(frozen=True)
class Finding:
    """One breach of a rule by one resource."""

    rule: str
    cloud: str
    scope: str
    department: str
    kind: str
    resource_id: str
    resource_name: str
    message: str

    @property
    def severity(self) -> str:
        """The rule's severity."""
        return RULES[self.rule].severity

    @property
    def fix(self) -> str:
        """How to fix it, 中文 then English."""
        return RULES[self.rule].fix

    @property
    def target(self) -> str:
        """The resource as the audit journal names objects: `<kind>/<id>`."""
        return f"{self.kind}/{self.resource_id or self.resource_name}"

    def as_dict(self) -> dict[str, Any]:
        """The finding as plain data."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "cloud": self.cloud,
            "scope": self.scope,
            "department": self.department,
            "kind": self.kind,
            "id": self.resource_id,
            "name": self.resource_name,
            "message": self.message,
            "fix": self.fix,
        }


def ordered(findings: list[Finding]) -> list[Finding]:
    """Findings by severity (critical first), then department, scope and rule."""
    return sorted(
        findings,
        key=lambda f: (SEVERITIES.index(f.severity), f.department, f.scope, f.rule, f.resource_id),
    )
