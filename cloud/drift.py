"""Drift: the approved request, the stack's applied state and the live cloud, compared.

Where a tenancy's stack has applied state, the request is compared with it (what is not
applied yet, or no longer asked for) and the state with the cloud, resource by resource ID
(what was deleted, added or changed out of band). Without state, the request is compared with
the cloud by the names the stack program gives. Compared: the project, servers (flavor),
security groups and their rules (ports, protocol, remote, description), the namespace and its
quota. A rule that Neutron cannot edit is replaced by hand: a rule gone from a group and one
added to it in the same direction are reported as one changed rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dcops.cloud.findings import Finding, ordered
from dcops.cloud.inventory import Inventory
from dcops.cloud.ownership import Tenancy
from dcops.cloud.records import Resource, Scope
from dcops.cloud.requested import prefix, requested
from dcops.core.errors import InputError

Applied = Callable[[str], "list[Resource] | None"]
"""The applied state of a tenancy's stack by name; None when it was never applied."""

KINDS = {
    "project": ("项目", "project"),
    "server": ("云主机", "server"),
    "security_group": ("安全组", "security group"),
    "security_group_rule": ("安全组规则", "security-group rule"),
    "namespace": ("命名空间", "namespace"),
    "resource_quota": ("配额", "quota"),
}
KUBERNETES = ("namespace", "resource_quota")
EXTRA_KINDS = ("server", "security_group_rule")
"""Kinds reported when the other side holds one more: a project always has Neutron's
`default` group, a namespace may hold other quotas; neither is drift."""


@dataclass(frozen=True)
class Side:
    """One of the three things compared, as people read it."""

    zh: str
    en: str


REQUEST = Side("申请", "approved request")
APPLIED = Side("已应用状态", "stack's applied state")
LIVE = Side("云上", "cloud")


def drift(inventory: Inventory, applied: Applied, name: str | None = None) -> list[Finding]:
    """Every difference between each (or one) tenancy's request, applied state and cloud."""
    tenancies = [t for t in inventory.tenancies if name is None or t.name == name]
    if name is not None and not tenancies:
        known = ", ".join(t.name for t in inventory.tenancies) or "none"
        raise InputError(
            f"no approved or live tenancy {name!r}; tenancies that own cloud resources: {known}"
        )
    found: list[Finding] = []
    for tenancy in tenancies:
        wanted = requested(tenancy)
        live = _live(inventory, tenancy)
        state = applied(tenancy.name)
        if state is None:
            found += _compare(tenancy, wanted, live, REQUEST, LIVE, by_id=False)
        else:
            found += _compare(tenancy, wanted, state, REQUEST, APPLIED, by_id=False)
            found += _compare(tenancy, state, live, APPLIED, LIVE, by_id=True)
    return ordered(found)


def _live(inventory: Inventory, tenancy: Tenancy) -> list[Resource]:
    """The tenancy's project and namespace as they are, with what drift compares in them."""
    found: list[Resource] = []
    for cloud, name in (("openstack", tenancy.name), ("kubernetes", tenancy.namespace)):
        scope = _scope(inventory, cloud, name) if name else None
        if scope is None:
            continue
        if cloud == "openstack":
            found.append(Resource("project", scope.id, scope.name, "", {}))
        found += [r for r in scope.resources if r.kind in KINDS]
    return found


def _scope(inventory: Inventory, cloud: str, name: str) -> Scope | None:
    return next((s for s in inventory.scopes if s.cloud == cloud and s.name == name), None)


def _resolved(resources: list[Resource]) -> list[Resource]:
    """Rules with the name of their remote group, where they name one by ID."""
    names = {r.id: r.name for r in resources if r.kind == "security_group"}
    return [
        Resource(
            r.kind,
            r.id,
            r.name,
            r.scope,
            {
                **r.details,
                "remote_group_name": names.get(
                    r.details["remote_group"], r.details["remote_group"]
                ),
            },
        )
        if r.kind == "security_group_rule" and r.details.get("remote_group")
        else r
        for r in resources
    ]


def _within(a: list[Resource], b: list[Resource]) -> tuple[list[Resource], list[Resource]]:
    """Only the project (namespace) itself where either side lacks it: the rest is moot."""
    for holder, children in (("project", None), ("namespace", ("resource_quota",))):
        if all(any(r.kind == holder for r in side) for side in (a, b)):
            continue

        def keep(r: Resource, holder: str = holder, children: Any = children) -> bool:
            inside = r.kind in children if children else r.kind not in KUBERNETES
            return r.kind == holder or not inside

        a, b = [r for r in a if keep(r)], [r for r in b if keep(r)]
    return a, b


def _compare(
    tenancy: Tenancy, a: list[Resource], b: list[Resource], sa: Side, sb: Side, by_id: bool
) -> list[Finding]:
    """Findings of b against a: missing from b, extra in b, changed in b."""
    a, b = _within(_resolved(a), _resolved(b))
    groups = {r.name for r in a if r.kind == "security_group"}
    key: Callable[[Resource], Any] = (lambda r: r.id) if by_id else _name_key
    waiting: dict[Any, list[Resource]] = {}
    for r in b:
        waiting.setdefault((r.kind, key(r)), []).append(r)
    missing, changed = [], []
    for want in a:
        have = waiting.get((want.kind, key(want))) or []
        if not have:
            missing.append(want)
            continue
        got = have.pop(0)
        diff = _diff(want, got, by_id)
        if diff:
            changed.append((want, got, diff))
    extra = [
        r
        for left in waiting.values()
        for r in left
        if r.kind in EXTRA_KINDS
        and (r.kind != "security_group_rule" or r.details.get("group") in groups)
    ]
    missing, extra, replaced = _pair_rules(missing, extra)
    changed += replaced
    found = [_finding("drift-missing", tenancy, r, _missing_text(r, sa, sb)) for r in missing]
    found += [_finding("drift-extra", tenancy, r, _extra_text(r, sa, sb)) for r in extra]
    found += [
        _finding("drift-changed", tenancy, got, _changed_text(want, got, diff, sa, sb))
        for want, got, diff in changed
    ]
    return found


def _name_key(r: Resource) -> Any:
    if r.kind == "security_group_rule":
        return tuple(sorted(_rule_fields(r).items()))
    if r.kind == "resource_quota":
        return r.scope
    return r.name


def _rule_fields(r: Resource) -> dict[str, str]:
    d = r.details
    low, high = d.get("port_min"), d.get("port_max")
    ports = "any" if low in (None, 0) else str(low) if high in (None, low) else f"{low}-{high}"
    remote = (
        prefix(str(d["remote_ip_prefix"]))
        if d.get("remote_ip_prefix")
        else f"group {d['remote_group_name']}"
        if d.get("remote_group_name")
        else "any"
    )
    return {
        "group": str(d.get("group") or ""),
        "direction": str(d.get("direction") or ""),
        "ethertype": str(d.get("ethertype") or ""),
        "protocol": str(d.get("protocol") or "any"),
        "ports": ports,
        "remote": remote,
    }


def _fields(r: Resource, by_id: bool) -> dict[str, str]:
    """The fields compared between two sides' records of one resource."""
    if r.kind == "security_group_rule":
        fields = _rule_fields(r)
        if by_id:
            fields["description"] = str(r.details.get("description") or "")
        return fields
    if r.kind == "resource_quota":
        hard = r.details.get("hard") or {}
        return {f"hard {k}": str(v) for k, v in sorted(hard.items())}
    fields = {"name": r.name} if by_id else {}
    if r.kind == "server":
        fields["flavor"] = str(r.details.get("flavor") or "")
    return fields


def _diff(want: Resource, got: Resource, by_id: bool) -> list[tuple[str, str, str]]:
    """(field, a's value, b's value) for each compared field of `want` that `got` differs in."""
    mine, theirs = _fields(want, by_id), _fields(got, by_id)
    return [(k, v, theirs.get(k, "")) for k, v in mine.items() if theirs.get(k, "") != v]


def _pair_rules(
    missing: list[Resource], extra: list[Resource]
) -> tuple[list[Resource], list[Resource], list[tuple[Resource, Resource, list[Any]]]]:
    """A rule gone from a group and one added to it, same direction: one rule replaced."""
    replaced = []
    left = list(extra)
    still_missing = []
    for gone in missing:
        if gone.kind != "security_group_rule":
            still_missing.append(gone)
            continue
        fields = _rule_fields(gone)
        candidates = [
            r
            for r in left
            if r.kind == "security_group_rule"
            and all(_rule_fields(r)[k] == fields[k] for k in ("group", "direction"))
        ]
        if not candidates:
            still_missing.append(gone)
            continue
        best = max(
            candidates, key=lambda r: sum(_rule_fields(r)[k] == v for k, v in fields.items())
        )
        left.remove(best)
        replaced.append((gone, best, _diff(gone, best, by_id=False)))
    return still_missing, left, replaced


def _label(r: Resource) -> str:
    if r.kind == "security_group_rule":
        f = _rule_fields(r)
        return f"{f['group']} {f['direction']} {f['protocol']} {f['ports']} from {f['remote']}"
    if r.kind == "resource_quota":
        return f"{r.scope}/{r.name}" if r.name else r.scope
    return r.name


def _when(r: Resource) -> tuple[str, str]:
    """When the cloud says the resource last changed (or was made), and which of the two."""
    if r.details.get("updated"):
        return "changed", str(r.details["updated"])
    return "created", str(r.details.get("created") or "")


def _finding(rule: str, tenancy: Tenancy, r: Resource, message: str) -> Finding:
    cloud = "kubernetes" if r.kind in KUBERNETES else "openstack"
    scope = tenancy.namespace if cloud == "kubernetes" else tenancy.name
    return Finding(rule, cloud, scope, tenancy.department, r.kind, r.id, _label(r), message)


def _missing_text(r: Resource, sa: Side, sb: Side) -> str:
    zh, en = KINDS[r.kind]
    label = _label(r)
    return (
        f"{zh} {label}：{sa.zh}有，{sb.zh}无 / {en} {label!r} is in the {sa.en}, not in the {sb.en}"
    )


def _extra_text(r: Resource, sa: Side, sb: Side) -> str:
    zh, en = KINDS[r.kind]
    label, (what, when) = _label(r), _when(r)
    note = f"（{when}）" if when else ""
    since = f" ({what} {when})" if when else ""
    return (
        f"{zh} {label}：{sb.zh}有，{sa.zh}无{note} / {en} {label!r} is in the {sb.en}, "
        f"not in the {sa.en}{since}"
    )


def _changed_text(
    want: Resource, got: Resource, diff: list[tuple[str, str, str]], sa: Side, sb: Side
) -> str:
    zh, en = KINDS[got.kind]
    label, (what, when) = _label(want), _when(got)
    text = ", ".join(f"{field} {old or '-'} → {new or '-'}" for field, old, new in diff)
    replaced = (
        f"; rule {want.id} replaced by {got.id}"
        if want.kind == "security_group_rule" and want.id and want.id != got.id
        else ""
    )
    since = f" ({what} {when})" if when else ""
    return (
        f"{zh} {label} 与{sa.zh}不符：{text} / {en} {label!r} in the {sb.en} differs from the "
        f"{sa.en}: {text}{replaced}{since}"
    )
