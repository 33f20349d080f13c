"""Kubernetes API objects (raw JSON) → dcops' Resource records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dcops.cloud.records import Resource

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def _metadata(item: Mapping[str, Any]) -> Mapping[str, Any]:
    return item.get("metadata") or {}


def _labels(item: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (_metadata(item).get("labels") or {}).items()}


def _base(kind: str, item: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = _metadata(item)
    return (
        kind,
        str(meta.get("uid") or ""),
        str(meta.get("name") or ""),
        str(meta.get("namespace") or meta.get("name") or ""),
    )


def namespace(item: Mapping[str, Any]) -> Resource:
    """A namespace with its labels."""
    meta = _metadata(item)
    return Resource(
        "namespace",
        str(meta.get("uid") or ""),
        str(meta.get("name") or ""),
        str(meta.get("name") or ""),
        {
            "labels": _labels(item),
            "phase": str((item.get("status") or {}).get("phase") or ""),
            "created": str(meta.get("creationTimestamp") or ""),
        },
    )


def resource_quota(item: Mapping[str, Any]) -> Resource:
    """A ResourceQuota: what it grants (hard) and what is used, as the API reports them."""
    status = item.get("status") or {}
    hard = (item.get("spec") or {}).get("hard") or {}
    return Resource(
        *_base("resource_quota", item),
        {
            "hard": {str(k): str(v) for k, v in hard.items()},
            "used": {str(k): str(v) for k, v in (status.get("used") or {}).items()},
            "labels": _labels(item),
        },
    )


def limit_range(item: Mapping[str, Any]) -> Resource:
    """A LimitRange (its presence is what the scan needs)."""
    limits = (item.get("spec") or {}).get("limits") or []
    return Resource(*_base("limit_range", item), {"limits": len(limits)})


def network_policy(item: Mapping[str, Any]) -> Resource:
    """A NetworkPolicy, keeping the spec the default-deny check reads."""
    spec = item.get("spec") or {}
    return Resource(
        *_base("network_policy", item),
        {
            "pod_selector": spec.get("podSelector") or {},
            "policy_types": list(spec.get("policyTypes") or []),
            "ingress_rules": len(spec.get("ingress") or []),
            "egress_rules": len(spec.get("egress") or []),
        },
    )


def workload(kind: str) -> Any:
    """A Deployment, StatefulSet, DaemonSet, Job or CronJob with its replica counts."""

    def parse(item: Mapping[str, Any]) -> Resource:
        spec = item.get("spec") or {}
        status = item.get("status") or {}
        return Resource(
            *_base("workload", item),
            {
                "workload": kind,
                "replicas": int(spec.get("replicas") or 0),
                "ready": int(status.get("readyReplicas") or 0),
                "labels": _labels(item),
            },
        )

    return parse


def pod(item: Mapping[str, Any]) -> Resource:
    """A pod with its phase."""
    return Resource(
        *_base("pod", item),
        {"phase": str((item.get("status") or {}).get("phase") or "")},
    )
