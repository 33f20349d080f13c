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


def cluster_client(target: KubeTarget) -> Any:
    """An ApiClient for the target cluster (refused clearly when its kubeconfig is missing)."""
    if not target.kubeconfig.is_file():
        hint = "start it with: dcops lab k8s up" if target.lab else "see [clusters.kubernetes]"
        raise InputError(
            f"找不到 kubeconfig / no kubeconfig at {target.kubeconfig} for the {target.describe()}; "
            f"{hint}"
        )
    from kubernetes import config

    api = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(target.kubeconfig), context=target.context or None
    )
    api.configuration.retries = 1
    return api


def read_namespace(api: Any, namespace: str) -> dict[str, Any]:
    """GET one namespace as plain JSON; ApiException on any answer but 200.

    Not through CoreV1Api: importing it loads hundreds of generated models (1–3 s of a
    provision on a loaded machine) for one small read."""
    method, url, headers, _, _ = api.param_serialize(
        method="GET",
        resource_path="/api/v1/namespaces/{name}",
        path_params={"name": namespace},
        header_params={"Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    answer = api.call_api(method, url, header_params=headers, _request_timeout=10)
    answer.read()
    found: dict[str, Any] = api.response_deserialize(answer, {"200": "object"}).data
    return found


def check_namespace_claim(target: KubeTarget, namespace: str, tenancy: str) -> bool:
    """True if the namespace is this tenancy's, False if absent; refused if anyone else's."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = cluster_client(target)
    try:
        found = read_namespace(api, namespace)
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
    labels = (found.get("metadata") or {}).get("labels") or {}
    owner = labels.get(TENANCY_LABEL)
    if owner == tenancy:
        return True
    whose = f"tenancy {owner}" if owner else "no tenancy"
    raise InputError(
        f"命名空间 {namespace} 已存在，属于 {whose}，不会被接管 / namespace {namespace} already "
        f"exists in the {target.describe()} and belongs to {whose} (label {TENANCY_LABEL}); dcops "
        f"never adopts it: remove it, or name another namespace in the request of {tenancy}"
    )
