"""The department's request form: its fields, turning a posted form into a request document,
and each validation problem placed at the field it belongs to (中文 first, then English)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.datastructures import FormData

    from dcops.core.errors import Problem
    from dcops.core.site import Site

COMPUTE_ROWS = 4
NETWORK_ROWS = 2
CONTACT_ROWS = 2
TOP = ("department.code", "purpose", "environment", "classification", "expires")
ROWS = {
    "contacts": (CONTACT_ROWS, ("name", "email", "phone")),
    "compute": (COMPUTE_ROWS, ("name", "flavor", "image", "count", "volume_gb")),
    "networks": (NETWORK_ROWS, ("name", "size")),
    "ingress": (4, ("to", "port", "protocol", "from", "description")),
    "load_balancers": (2, ("name", "port", "protocol", "members")),
    "vpn": (2, ("name", "peer_address", "peer_cidrs", "psk_secret")),
}
KUBERNETES = ("kubernetes.namespace", "kubernetes.quota.cpu", "kubernetes.quota.memory",
              "kubernetes.quota.pods")  # fmt: skip
NUMBERS = {"count", "volume_gb", "size", "port", "pods"}
LISTS = {"peer_cidrs"}  # written in one field, separated by commas or spaces
LABELS = {
    "department": "委办局",
    "code": "委办局",
    "name": "名称",
    "email": "电子邮箱",
    "phone": "电话",
    "purpose": "用途",
    "environment": "环境",
    "classification": "等保级别",
    "expires": "到期日",
    "flavor": "规格",
    "image": "镜像",
    "count": "数量",
    "volume_gb": "云盘容量",
    "size": "网段大小",
    "contacts": "联系人",
    "compute": "云主机",
    "networks": "网络",
    "to": "目标服务",
    "port": "端口",
    "protocol": "协议",
    "from": "来源",
    "description": "说明",
    "members": "成员服务",
    "peer_address": "对端地址",
    "peer_cidrs": "对端网段",
    "psk_secret": "预共享密钥名",
    "namespace": "命名空间",
    "cpu": "CPU 配额",
    "memory": "内存配额",
    "pods": "Pod 数配额",
    "ingress": "入站规则",
    "load_balancers": "负载均衡",
    "vpn": "VPN",
}
_INDEX = re.compile(r"^(\w+)\[(\d+)\]\.(\w+)$")
_TRAILING_INDEX = re.compile(r"\[\d+\]$")


def field_names() -> list[str]:
    """Every input name the form has, in the form's order."""
    names = list(TOP)
    for part, (rows, keys) in ROWS.items():
        names += [f"{part}[{i}].{key}" for i in range(rows) for key in keys]
    return names + list(KUBERNETES)


def values_of(form: FormData) -> dict[str, str]:
    """The form's known fields as text (anything else posted is ignored)."""
    found = {}
    for name in field_names():
        value = form.get(name, "")
        found[name] = value[:2000].strip() if isinstance(value, str) else ""
    return found


def document(values: dict[str, str], department_name: str) -> dict[str, Any]:
    """The request document the form describes; rows left empty are left out."""
    doc: dict[str, Any] = {
        "department": {"code": values["department.code"], "name": department_name},
        **{key: values[key] for key in TOP[1:] if values[key]},
    }
    for part, (rows, keys) in ROWS.items():
        items = []
        for i in range(rows):
            row = {k: values[f"{part}[{i}].{k}"] for k in keys if values[f"{part}[{i}].{k}"]}
            if row:
                items.append({k: _number(k, v) for k, v in row.items()})
        if items:
            doc[part] = items
    kubernetes = _kubernetes(values)
    if kubernetes:
        doc["kubernetes"] = kubernetes
    return doc


def network_sizes(site: Site) -> list[tuple[str, str]]:
    """The prefix lengths a network may ask for: the request model's range, narrowed to what
    fits in the site's widest tenant pool, each with how many addresses it holds."""
    from dcops.tenancy.model import NetworkRequest

    size = NetworkRequest.model_json_schema()["properties"]["size"]
    low, high = int(size["minimum"]), int(size["maximum"])
    pools = [p.network for p in site.config.pools if p.use == "tenant"]
    widest = min(pools, key=lambda n: n.prefixlen, default=None)
    if widest is not None:
        low = max(low, widest.prefixlen)
    bits = widest.max_prefixlen if widest is not None else 32
    return [(str(n), f"/{n} ({2 ** (bits - n)} 个地址 addresses)") for n in range(low, high + 1)]


def tiers_of(site: Site, codes: list[str]) -> list[dict[str, Any]]:
    """Each offered department's tier: its caps and when a request needs two approvers."""
    found = []
    for department in site.config.departments:
        tier = site.tier_of(department.code)
        if department.code in codes and tier is not None:
            found.append({"code": department.code, "department": department.name,
                          "key": department.tier, **tier.model_dump()})  # fmt: skip
    return found


def _kubernetes(values: dict[str, str]) -> dict[str, Any]:
    """The Kubernetes part, when any of its fields is filled in."""
    if not any(values[name] for name in KUBERNETES):
        return {}
    quota = {
        key: _number(key, values[f"kubernetes.quota.{key}"]) for key in ("cpu", "memory", "pods")
    }
    part: dict[str, Any] = {"quota": {k: v for k, v in quota.items() if v != ""}}
    if values["kubernetes.namespace"]:
        part["namespace"] = values["kubernetes.namespace"]
    return part


def _number(key: str, text: str) -> Any:
    """A number field as a number where it reads as one (the validators say what is wrong)."""
    if key in NUMBERS and text.isdigit() and len(text) < 10:
        return int(text)
    if key in LISTS:
        return [item for item in re.split(r"[,\s]+", text) if item][:64]
    return text


def field_errors(problems: list[Problem]) -> tuple[dict[str, str], list[str]]:
    """Problems by the form field they belong to, and those that belong to no single field."""
    known = set(field_names())
    at: dict[str, str] = {}
    general = []
    for problem in problems:
        name = problem.field
        if name not in known and _TRAILING_INDEX.search(name):
            name = _TRAILING_INDEX.sub("", name)  # one item of a list field: vpn[0].peer_cidrs[1]
        shown = f"{_label(name)}有误 / {problem.message}"
        if name in known and name not in at:
            at[name] = shown
        else:
            general.append(f"{_label(name)}有误 / {name}: {problem.message}" if name else shown)
    return at, general


def _label(name: str) -> str:
    match = _INDEX.match(name)
    last = match.group(3) if match else name.rsplit(".", 1)[-1]
    part = LABELS.get(match.group(1), "") if match else ""
    return (part + LABELS.get(last, "")) or "内容"
