"""Whose a namespace is: a tenancy's namespace carries its labels; any other is never adopted.

Checked with the Kubernetes client before the engine runs, so that `provision` refuses a
namespace that already exists but belongs to no tenancy (or to another one) instead of taking
it over, and says plainly when the cluster cannot be reached."""

from __future__ import annotations

from typing import Any

from dcops.core.clusters import KubeTarget
from dcops.core.errors import InputError, OperationFailed

DEPARTMENT_LABEL = "dcops.gov.cn/department"
TENANCY_LABEL = "dcops.gov.cn/tenancy"


def tenancy_labels(department: str, tenancy: str) -> dict[str, str]:
    """The labels every object of a tenancy carries."""
    return {DEPARTMENT_LABEL: department, TENANCY_LABEL: tenancy}


def core_api(target: KubeTarget) -> Any:
    """A CoreV1Api for the target cluster (refused clearly when its kubeconfig is missing)."""
    if not target.kubeconfig.is_file():
        hint = "start it with: dcops lab k8s up" if target.lab else "see [clusters.kubernetes]"
        raise InputError(
            f"找不到 kubeconfig / no kubeconfig at {target.kubeconfig} for the {target.describe()}; "
            f"{hint}"
        )
    from kubernetes import client, config

    api = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(target.kubeconfig), context=target.context or None
    )
    api.configuration.retries = 1
    return client.CoreV1Api(api)


def check_namespace_claim(target: KubeTarget, namespace: str, tenancy: str) -> bool:
    """True if the namespace is this tenancy's, False if absent; refused if anyone else's."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = core_api(target)
    try:
        found = api.read_namespace(namespace, _request_timeout=10)
    except ApiException as error:
        if error.status == 404:
            return False
        raise OperationFailed(
            f"集群拒绝读取命名空间 / the {target.describe()} refused to read namespace "
            f"{namespace}: {error.status} {error.reason}"
        ) from None
    except HTTPError as error:
        raise OperationFailed(
            f"无法连接集群 / cannot reach the {target.describe()}: {error}; "
            + (
                "is it up? (dcops lab k8s status)"
                if target.lab
                else "check the cluster and kubeconfig"
            )
        ) from None
    labels = found.metadata.labels or {}
    owner = labels.get(TENANCY_LABEL)
    if owner == tenancy:
        return True
    whose = f"tenancy {owner}" if owner else "no tenancy"
    raise InputError(
        f"命名空间 {namespace} 已存在，属于 {whose}，不会被接管 / namespace {namespace} already "
        f"exists in the {target.describe()} and belongs to {whose} (label {TENANCY_LABEL}); dcops "
        f"never adopts it: remove it, or name another namespace in the request of {tenancy}"
    )
