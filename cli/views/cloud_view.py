"""What `dcops cloud` shows: inventory tables and CSV, usage, scan findings."""

from __future__ import annotations

import csv
import sys
from collections.abc import Mapping
from typing import Any

from dcops.cli.views import output
from dcops.cloud.findings import SEVERITIES, Finding
from dcops.cloud.inventory import COUNTED, Inventory
from dcops.cloud.records import ServiceFailure
from dcops.cloud.usage import Usage

SHORT = {
    "server": "servers",
    "volume": "volumes",
    "network": "networks",
    "router": "routers",
    "floating_ip": "floating IPs",
    "security_group": "SGs",
    "security_group_rule": "rules",
    "load_balancer": "LBs",
    "vpn_connection": "VPNs",
    "resource_quota": "quotas",
    "workload": "workloads",
    "pod": "pods",
}
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def holds(counts: Mapping[str, int]) -> str:
    """Counts as `2 servers, 1 networks`, in the inventory's order, zeros left out."""
    parts = [f"{counts[k]} {SHORT[k]}" for k in COUNTED if counts.get(k)]
    return ", ".join(parts) or "nothing"


def show_inventory(found: Inventory) -> None:
    """The scopes, then the totals per department, then what could not be read."""
    rows = [
        (s.cloud, s.name, s.tenancy, s.department, holds(s.counts()))
        for s in sorted(found.scopes, key=lambda s: (s.department, s.cloud, s.name))
    ]
    output.show(
        output.table(
            "云资源清单 cloud inventory", ["cloud", "scope", "tenancy", "dept", "summary"], rows
        )
    )
    totals = [
        (
            t.department,
            t.projects,
            t.namespaces,
            t.vcpus,
            f"{t.ram_mb / 1024:g}",
            t.volume_gb,
            holds(t.counts),
        )
        for t in found.totals()
    ]
    output.show(
        output.table(
            "按部门合计 totals per department",
            ["dept", "proj", "ns", "vCPU", "RAM GiB", "vol GB", "summary"],
            totals,
        )
    )
    show_failures(found.failures)
    calls = ", ".join(f"{cloud} {n}" for cloud, n in found.calls.items())
    output.show(f"{len(found.scopes)} scopes read in {found.seconds:.1f} s ({calls} API calls)")


def show_failures(failures: list[ServiceFailure]) -> None:
    """Services that could not be read: the rest of the report stands without them."""
    if failures:
        rows = [(f.cloud, f.service, f.reason) for f in failures]
        output.show(
            output.table(
                "未能读取 not read (the rest is shown)", ["cloud", "service", "reason"], rows
            )
        )


def _safe(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    text = output.inline(value)
    return f"'{text}" if text.startswith(_FORMULA) else text


def inventory_csv(found: Inventory) -> None:
    """One CSV row per scope: owner and a count per kind."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["cloud", "scope", "id", "tenancy", "department", *COUNTED])
    for s in found.scopes:
        counts = s.counts()
        writer.writerow(
            [_safe(v) for v in (s.cloud, s.name, s.id, s.tenancy, s.department)]
            + [counts.get(k, 0) for k in COUNTED]
        )


def _counts(findings: list[Finding]) -> dict[str, int]:
    return {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}


def scan_dict(findings: list[Finding], found: Inventory) -> dict[str, Any]:
    """The scan as plain data: findings, counts by severity, services not read."""
    return {
        "findings": [f.as_dict() for f in findings],
        "counts": _counts(findings),
        "scopes": len(found.scopes),
        "unreachable": [f.as_dict() for f in found.failures],
    }


def _verdict(findings: list[Finding], found: Inventory, noun: str = "不合规") -> str:
    counts = ", ".join(f"{n} {s}" for s, n in _counts(findings).items() if n)
    unread = [f.service for f in found.failures if not f.absent]
    head = (
        f"{len(findings)} 项{noun} / {len(findings)} findings ({counts})"
        if findings
        else f"未发现{noun} / no findings"
    )
    tail = f"; 未能读取 not read: {', '.join(unread)} (scan incomplete)" if unread else ""
    return f"{head} in {len(found.scopes)} scopes{tail}"


def show_scan(findings: list[Finding], found: Inventory, noun: str = "不合规") -> None:
    """Findings most severe first, each with where it is, what is wrong and how to fix it."""
    for f in findings:
        where = f"{f.cloud} {f.scope}: {f.kind} {f.resource_name or f.resource_id}"
        output.show(f"[{f.severity}] {f.rule} — {output.inline(where)}")
        output.show(f"  {output.inline(f.message)}")
        output.show(f"  修复 fix: {f.fix}")
    show_failures(found.failures)
    output.show(_verdict(findings, found, noun))


def _cell(value: object) -> str:
    return output.inline(value).replace("|", "\\|")


def scan_markdown(findings: list[Finding], found: Inventory) -> str:
    """The scan as a Markdown report for a ticket or an auditor."""
    lines = [
        "# 云上合规检查 cloud compliance scan",
        "",
        _verdict(findings, found),
        "",
        "| severity | rule | scope | resource | finding | fix |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {f.severity} | {f.rule} | {_cell(f.scope)} | {_cell(f.kind)} {_cell(f.resource_name or f.resource_id)} "
        f"| {_cell(f.message)} | {_cell(f.fix)} |"
        for f in findings
    ]
    return "\n".join(lines)


def _number(value: float | None) -> str:
    if value is None:
        return "∞"
    return f"{value:.1f}".removesuffix(".0")


def usage_dict(measured: Usage, threshold: float) -> dict[str, Any]:
    """Usage as plain data: a line per department and metric, the reads that failed."""
    return {
        "threshold": threshold,
        "lines": [line.as_dict(threshold) for line in measured.lines],
        "unreachable": [f.as_dict() for f in measured.failures],
    }


def show_usage(measured: Usage, threshold: float) -> None:
    """A line per department and metric; use at or over the threshold, or over the tier, flagged."""
    rows = []
    for line in measured.lines:
        percent = line.percent
        rows.append(
            (
                line.department,
                f"{line.metric} ({line.unit})",
                _number(line.used),
                _number(line.quota),
                _number(line.granted),
                _number(line.tier),
                "-" if percent is None else f"{percent:.0f}%",
                "超限 OVER" if line.over(threshold) else "",
            )
        )
    output.show(
        output.table(
            "配额使用 usage against quotas",
            ["dept", "metric", "used", "quota", "granted", "tier", "use", "flag"],
            rows,
        )
    )
    show_failures(measured.failures)
    flagged = sum(1 for line in measured.lines if line.over(threshold))
    output.show(
        f"{flagged} 项达到 {threshold:g}% 或超出等级 / {flagged} at or over {threshold:g}% of the "
        "grant or beyond the tier"
    )
