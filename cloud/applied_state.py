"""What a tenancy's stack last applied, from Pulumi's checkpoint, as dcops' Resource records.

A file backend (the default) is read straight from its checkpoint file, without the engine;
any other backend is exported through the Automation API. Only the kinds that drift compares
are kept: the project, servers, security groups and their rules, the namespace and its quota.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dcops.cloud.records import Resource
from dcops.core.errors import InputError
from dcops.core.site import Site

MAX_CHECKPOINT_BYTES = 256 * 1024 * 1024
"""A checkpoint larger than this is refused rather than read into memory."""
PROJECT = "openstack:identity/project:Project"
INSTANCE = "openstack:compute/instance:Instance"
SECURITY_GROUP = "openstack:networking/secGroup:SecGroup"
RULE = "openstack:networking/secGroupRule:SecGroupRule"
NAMESPACE = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"


def read_applied(site: Site, stack: str) -> list[Resource] | None:
    """The resources the stack's last applied state holds; None when it was never applied."""
    from dcops.stacks.backend import backend_url

    url = backend_url(site)
    if url.startswith("file://"):
        deployment = _file_deployment(Path(url.removeprefix("file://")), stack)
    else:
        deployment = _exported_deployment(site, stack)
    if deployment is None:
        return None
    return parse_deployment(deployment)


def checkpoint_path(root: Path, stack: str) -> Path | None:
    """The stack's checkpoint in a file backend (plain or gzipped), if there is one."""
    from dcops.stacks.backend import PROJECT as STACK_PROJECT

    folder = root / ".pulumi" / "stacks" / STACK_PROJECT
    for name in (f"{stack}.json", f"{stack}.json.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _file_deployment(root: Path, stack: str) -> Mapping[str, Any] | None:
    path = checkpoint_path(root, stack)
    if path is None:
        return None
    if path.stat().st_size > MAX_CHECKPOINT_BYTES:
        raise InputError(
            f"{path}: checkpoint larger than {MAX_CHECKPOINT_BYTES // 2**20} MiB; not read"
        )
    raw = path.read_bytes()
    try:
        text = gzip.decompress(raw) if path.suffix == ".gz" else raw
        data = json.loads(text)
        latest = data["checkpoint"].get("latest")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise InputError(f"{path}: not a Pulumi checkpoint ({error})") from None
    return latest if isinstance(latest, Mapping) else None


def _exported_deployment(site: Site, stack: str) -> Mapping[str, Any] | None:
    """The stack's deployment from a non-file backend, through the engine."""
    from pulumi import automation as auto

    from dcops.stacks.automation import workspace_options
    from dcops.stacks.backend import PROJECT as STACK_PROJECT
    from dcops.stacks.backend import backend_of, require_cli

    options = workspace_options(site, stack, backend_of(site), require_cli())
    try:
        selected = auto.select_stack(
            stack_name=stack, project_name=STACK_PROJECT, program=lambda: None, opts=options
        )
    except auto.StackNotFoundError:
        return None
    deployment = selected.export_stack().deployment
    return deployment if isinstance(deployment, Mapping) else None


def parse_deployment(deployment: Mapping[str, Any]) -> list[Resource]:
    """The compared resources of a deployment (a checkpoint's `latest`)."""
    records = [r for r in deployment.get("resources") or [] if isinstance(r, Mapping)]
    groups = {
        str(r.get("id")): _text((r.get("outputs") or {}).get("name"))
        for r in records
        if r.get("type") == SECURITY_GROUP
    }
    found = []
    for record in records:
        parse = PARSERS.get(str(record.get("type")))
        if parse is not None and record.get("id"):
            found.append(parse(record, groups))
    return found


def _text(value: Any) -> str:
    """A state value as text; secrets (encrypted objects) and nulls as empty."""
    return value if isinstance(value, str) else "" if value is None else str(value)


def _outputs(record: Mapping[str, Any]) -> Mapping[str, Any]:
    outputs = record.get("outputs")
    return outputs if isinstance(outputs, Mapping) else {}


def _port(value: Any) -> int | None:
    """A rule's port as Neutron gives it: the provider stores 0 for 'any'."""
    return int(value) if isinstance(value, int) and value > 0 else None


def _project(record: Mapping[str, Any], groups: Mapping[str, str]) -> Resource:
    out = _outputs(record)
    return Resource("project", str(record["id"]), _text(out.get("name")), "", {})


def _server(record: Mapping[str, Any], groups: Mapping[str, str]) -> Resource:
    out = _outputs(record)
    return Resource(
        "server",
        str(record["id"]),
        _text(out.get("name")),
        "",
        {"flavor": _text(out.get("flavorName"))},
    )


def _group(record: Mapping[str, Any], groups: Mapping[str, str]) -> Resource:
    out = _outputs(record)
    return Resource("security_group", str(record["id"]), _text(out.get("name")), "", {})


def _rule(record: Mapping[str, Any], groups: Mapping[str, str]) -> Resource:
    out = _outputs(record)
    group_id = _text(out.get("securityGroupId"))
    return Resource(
        "security_group_rule",
        str(record["id"]),
        _text(out.get("description")),
        "",
        {
            "group": groups.get(group_id, group_id),
            "direction": _text(out.get("direction")),
            "ethertype": _text(out.get("ethertype")),
            "protocol": _text(out.get("protocol")),
            "port_min": _port(out.get("portRangeMin")),
            "port_max": _port(out.get("portRangeMax")),
            "remote_ip_prefix": _text(out.get("remoteIpPrefix")),
            "remote_group": _text(out.get("remoteGroupId")),
            "description": _text(out.get("description")),
        },
    )


def _metadata(record: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = _outputs(record).get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _namespace(record: Mapping[str, Any], groups: Mapping[str, str]) -> Resource:
    meta = _metadata(record)
    return Resource("namespace", _text(meta.get("uid")), _text(meta.get("name")), "", {})


def _quota(record: Mapping[str, Any], groups: Mapping[str, str]) -> Resource:
    meta = _metadata(record)
    spec = _outputs(record).get("spec")
    hard = spec.get("hard") if isinstance(spec, Mapping) else None
    return Resource(
        "resource_quota",
        _text(meta.get("uid")),
        _text(meta.get("name")),
        _text(meta.get("namespace")),
        {"hard": {str(k): _text(v) for k, v in (hard or {}).items()}},
    )


PARSERS = {
    PROJECT: _project,
    INSTANCE: _server,
    SECURITY_GROUP: _group,
    RULE: _rule,
    NAMESPACE: _namespace,
    QUOTA: _quota,
}
