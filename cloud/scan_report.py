"""The scan as the auditors' HTML report, in the audit report's style; everything from the cloud escaped."""

from __future__ import annotations

import html
from dataclasses import dataclass

from dcops.audit.report import PAGE_STYLE, html_table
from dcops.cloud.findings import RULES, SEVERITIES, Finding
from dcops.cloud.inventory import Inventory


@dataclass(frozen=True)
class ScanReport:
    """One scan's findings, what was read, and who asked for the report when."""

    site: str
    title: str
    generated: str
    auditor: str
    findings: list[Finding]
    inventory: Inventory

    def unread(self) -> list[str]:
        """The services that could not be read (the scan is incomplete without them)."""
        return [f"{f.cloud} {f.service}" for f in self.inventory.failures if not f.absent]

    def verdict(self) -> tuple[str, str]:
        """The report's one-line conclusion and its class (ok or bad)."""
        scopes = len(self.inventory.scopes)
        if self.findings:
            counts = ", ".join(f"{n} {s}" for s, n in self.by_severity() if n)
            text = f"{len(self.findings)} 项不合规 / {len(self.findings)} findings ({counts})"
        else:
            text = "未发现不合规 / no findings"
        text += f" in {scopes} scopes"
        if self.unread():
            text += f"; 未能读取 not read: {', '.join(self.unread())} (scan incomplete)"
        return text, "bad" if self.findings or self.unread() else "ok"

    def by_severity(self) -> list[tuple[str, int]]:
        """How many findings of each severity, most severe first."""
        return [(s, sum(1 for f in self.findings if f.severity == s)) for s in SEVERITIES]

    def by_department(self) -> list[list[object]]:
        """Per department: findings of each severity and in all."""
        rows: list[list[object]] = []
        for department in sorted({f.department for f in self.findings}):
            mine = [f for f in self.findings if f.department == department]
            counts = [sum(1 for f in mine if f.severity == s) for s in SEVERITIES]
            rows.append([department, *counts, len(mine)])
        return rows


FINDING_HEAD = [
    "severity 级别",
    "rule 规则",
    "cloud 云",
    "scope 项目/命名空间",
    "department 部门",
    "resource 资源",
    "finding 问题",
    "fix 修复",
]


def html_page(report: ScanReport) -> str:
    """The report as one self-contained HTML page."""
    esc = html.escape
    verdict, state = report.verdict()
    rows: list[list[object]] = [
        [
            f.severity,
            f.rule,
            f.cloud,
            f.scope,
            f.department,
            f"{f.kind} {f.resource_name or f.resource_id}",
            f.message,
            f.fix,
        ]
        for f in report.findings
    ]
    failures = [[f.cloud, f.service, f.reason] for f in report.inventory.failures if not f.absent]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>云上合规检查 Cloud compliance scan — {esc(report.site)}</title>",
        PAGE_STYLE,
        "</head><body>",
        f"<h1>云上合规检查 Cloud compliance scan — {esc(report.title)}</h1>",
        f"<p>site {esc(report.site)} · generated 生成 {esc(report.generated)} by "
        f"{esc(report.auditor)} · {len(report.inventory.scopes)} scopes 项目与命名空间</p>",
        "<h2>结论 Verdict</h2>",
        f'<p class="{state}">{esc(verdict)}</p>',
        "<h2>统计 Counts</h2>",
        html_table(["severity 级别", "findings 项"], [[s, n] for s, n in report.by_severity()]),
        html_table(["department 部门", *SEVERITIES, "all 合计"], report.by_department())
        if report.findings
        else "",
        "<h2>未能读取 Services not read</h2>",
        html_table(["cloud 云", "service 服务", "reason 原因"], failures)
        if failures
        else "<p>None. 无。</p>",
        "<h2>全部发现 Every finding</h2>",
        html_table(FINDING_HEAD, rows) if rows else "<p>None. 无。</p>",
        "<h2>检查规则 Rules checked</h2>",
        html_table(
            ["rule 规则", "severity 级别", "what it finds 检查内容", "fix 修复"],
            [[r.code, r.severity, r.title, r.fix] for r in RULES.values()],
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
