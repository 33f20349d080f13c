"""A tenancy plan drawn for people: the resource tree, the policy verdicts and the diff."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from dcops.stacks.markdown import ALLOCATION_NOTE
from dcops.stacks.plan import PlanReport, TenancyPlan, important


def plan_view(plan: TenancyPlan, tree: bool = False) -> Group:
    """One tenancy: header, what it builds (a count by type, or the whole tree), verdicts, changes."""
    summary = plan.summary()
    total = summary["resources"] + summary["components"]
    header = Text(
        f"Plan {plan.tenancy} — {plan.source}\n{total} resources: {summary['resources']} cloud "
        f"resources in {summary['components']} components\n"
        f"{ALLOCATION_NOTE.get(plan.allocation, plan.allocation)}"
    )
    parts: list[RenderableType] = [header, _tree(plan) if tree else Text(_kinds(plan))]
    if tree or plan.violations:
        if plan.verdicts or plan.duplicates:
            parts.append(_verdicts(plan))
    elif plan.verdicts:
        parts.append(Text(f"policies: {len(plan.verdicts)} of {len(plan.verdicts)} pass"))
    return Group(*parts, Text(_changes(plan)))


# What people count in a plan; everything else is a supporting resource (listed by --tree).
_COUNTED = (
    ("Instance", "server"),
    ("Volume", "volume"),
    ("Network", "network"),
    ("SecGroupRule", "firewall rule"),
    ("LoadBalancer", "load balancer"),
    ("FloatingIp", "floating IP"),
    ("SiteConnection", "VPN connection"),
    ("Namespace", "namespace"),
    ("Flavor", "flavor"),
)


def _kinds(plan: TenancyPlan) -> str:
    """What the stack builds, counted in the nouns people use; the tree is behind --tree."""
    counts = Counter(r.type.rsplit(":", 1)[-1] for r in plan.resources if r.custom)
    parts = []
    for kind, noun in _COUNTED:
        n = counts.pop(kind, 0)
        if n:
            parts.append(f"{n} {noun}{'s' if n > 1 else ''}")
    rest = sum(counts.values())
    if rest:
        parts.append(f"{rest} supporting resources")
    return f"builds: {', '.join(parts) or 'nothing'} (--tree lists each one)"


def _tree(plan: TenancyPlan) -> Tree:
    nodes: dict[str, Tree] = {}
    root = Tree(Text(f"stack {plan.tenancy}"))
    for r in sorted(plan.resources, key=lambda r: r.urn.count("$")):
        kind = r.type.rsplit(":", 1)[-1] if r.custom else r.type
        label = Text(f"{r.name} [{kind}]{_inputs(important(r))}")
        parent = nodes.get(r.parent, root)
        nodes[r.urn] = parent.add(label)
    return root


def _inputs(values: dict[str, Any]) -> str:
    if not values:
        return ""
    shown = " ".join(
        f"{k}={json.dumps(v, ensure_ascii=False, sort_keys=True)}" for k, v in values.items()
    )
    return f"  {shown}"


def _verdicts(plan: TenancyPlan) -> Table:
    table = Table(title=None, show_lines=False)
    for column in ("policy", "verdict", "details"):
        table.add_column(column)
    for v in plan.verdicts:
        details = "\n".join(
            f"{x.urn.rsplit('::', 1)[-1] or 'stack'}: {x.message}" for x in v.violations
        )
        table.add_row(v.policy, "pass" if v.passed else "FAIL", Text(details))
    if plan.duplicates:
        table.add_row("unique-urns", "FAIL", Text("\n".join(plan.duplicates)))
    return table


def _changes(plan: TenancyPlan) -> str:
    d = plan.diff
    if d.against == "none":
        return f"changes: first plan of {plan.tenancy}; {len(d.added)} to add"
    head = f"changes against the last {d.against} snapshot: "
    if d.empty:
        return head + "none"
    lines = [
        head + f"{len(d.added)} to add, {len(d.changed)} to change, {len(d.removed)} to remove"
    ]
    lines += [f"  + {u.rsplit('::', 1)[-1]}" for u in d.added]
    lines += [f"  ~ {c.urn.rsplit('::', 1)[-1]}: {', '.join(c.fields)}" for c in d.changed]
    lines += [f"  - {u.rsplit('::', 1)[-1]}" for u in d.removed]
    return "\n".join(lines)


def report_json(report: PlanReport) -> dict[str, Any]:
    """The whole report as data for --output json."""
    return {"ok": report.ok, "tenancies": [t.as_dict() for t in report.tenancies]}


def diff_text(report: PlanReport) -> str:
    """The changes of every tenancy as plain text, for the audit journal."""
    return "\n".join(f"[{t.tenancy}] {_changes(t)}" for t in report.tenancies)
