"""The department's request form: its fields, turning a posted form into a request document,
and each validation problem placed at the field it belongs to (中文 first, then English)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.datastructures import FormData

    from dcops.core.errors import Problem

COMPUTE_ROWS = 4
NETWORK_ROWS = 2
CONTACT_ROWS = 2
TOP = ("department.code", "purpose", "environment", "classification", "expires")
ROWS = {
    "contacts": (CONTACT_ROWS, ("name", "email", "phone")),
    "compute": (COMPUTE_ROWS, ("name", "flavor", "image", "count", "volume_gb")),
    "networks": (NETWORK_ROWS, ("name", "size")),
}
NUMBERS = {"count", "volume_gb", "size"}
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
}
_INDEX = re.compile(r"^(\w+)\[(\d+)\]\.(\w+)$")


def field_names() -> list[str]:
    """Every input name the form has, in the form's order."""
    names = list(TOP)
    for part, (rows, keys) in ROWS.items():
        names += [f"{part}[{i}].{key}" for i in range(rows) for key in keys]
    return names


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
    return doc


def _number(key: str, text: str) -> Any:
    """A number field as a number where it reads as one (the validators say what is wrong)."""
    if key in NUMBERS and text.isdigit() and len(text) < 10:
        return int(text)
    return text


def field_errors(problems: list[Problem]) -> tuple[dict[str, str], list[str]]:
    """Problems by the form field they belong to, and those that belong to no single field."""
    known = set(field_names())
    at: dict[str, str] = {}
    general = []
    for problem in problems:
        name = problem.field
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
