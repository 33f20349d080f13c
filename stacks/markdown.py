"""The plan as Markdown, for pasting into a change ticket."""

from __future__ import annotations

import json
from typing import Any

from dcops.stacks.plan import PlanReport, TenancyPlan, important

ALLOCATION_NOTE = {
    "offline": "addresses: offline allocation, for planning only (离线规划); IPAM allocates on approval",
    "store": "addresses: allocated by the tenancy store's IPAM on approval",
    "none": "shared by every tenancy; no addresses of its own",
}


def render(report: PlanReport) -> str:
    """Every tenancy's plan: verdicts, changes and resources, as Markdown."""
    parts = [_tenancy(t) for t in report.tenancies]
    verdict = "PASS" if report.ok else "FAIL"
    parts.append(f"**Overall: {verdict}** — {len(report.tenancies)} tenancy plan(s)")
    return "\n\n".join(parts) + "\n"


def _tenancy(plan: TenancyPlan) -> str:
    lines = [
        f"## Plan `{plan.tenancy}` ({plan.department})",
        "",
        f"- request: `{plan.source}`",
        f"- {ALLOCATION_NOTE.get(plan.allocation, plan.allocation)}",
        f"- resources: {plan.summary()['resources']} (+{plan.summary()['components']} components)",
        "",
        "### Policies",
        "",
        "| policy | verdict | details |",
        "|---|---|---|",
    ]
    for v in plan.verdicts:
        details = "; ".join(
            _cell(f"{x.urn.rsplit('::', 1)[-1] or 'stack'}: {x.message}") for x in v.violations
        )
        lines.append(f"| {v.policy} | {'pass' if v.passed else 'FAIL'} | {details} |")
    if plan.duplicates:
        lines.append(f"| unique-urns | FAIL | {'; '.join(plan.duplicates)} |")
    d = plan.diff
    lines += ["", "### Changes", ""]
    if d.against == "none":
        lines.append(f"First plan of this tenancy: all {len(d.added)} resources are new.")
    elif d.empty:
        lines.append(f"No changes against the last {d.against} snapshot.")
    else:
        lines.append(f"Against the last {d.against} snapshot:")
        lines += [f"- add `{u}`" for u in d.added]
        lines += [f"- change `{c.urn}`: {', '.join(c.fields)}" for c in d.changed]
        lines += [f"- remove `{u}`" for u in d.removed]
    lines += ["", "### Resources", "", "| type | name | inputs |", "|---|---|---|"]
    for r in plan.resources:
        if r.custom:
            lines.append(f"| `{r.type}` | {r.name} | {_cell(_inputs(important(r)))} |")
    return "\n".join(lines)


def _inputs(values: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={json.dumps(v, ensure_ascii=False, sort_keys=True)}" for k, v in values.items()
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
