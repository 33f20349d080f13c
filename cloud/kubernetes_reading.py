"""Read a Kubernetes cluster as ops: one paginated list per kind across all namespaces."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from dcops.cloud import kubernetes_parsing as parse
from dcops.cloud.records import Reading, Resource, Scope, ServiceFailure
from dcops.core.clusters import KubeTarget
from dcops.core.errors import InputError, MissingDependency

PAGE = 500
"""Items asked for per list call; the API server hands a continue token for the rest."""
PARALLEL_READS = 4
TIMEOUT = (5.0, 30.0)
"""Connect and read timeouts of each call, so a dead API server fails fast."""
CLOUD = "kubernetes"
MAX_PAGES = 10_000
"""A bound on pages per list, so a server that keeps handing continue tokens cannot loop us."""


@dataclass(frozen=True)
class KubeListing:
    """One kind: its cluster-wide list path and how to parse an item."""

    kind: str
    path: str
    parse: Callable[[Mapping[str, Any]], Resource]


LISTINGS = (
    KubeListing("resource_quota", "/api/v1/resourcequotas", parse.resource_quota),
    KubeListing("limit_range", "/api/v1/limitranges", parse.limit_range),
    KubeListing(
        "network_policy", "/apis/networking.k8s.io/v1/networkpolicies", parse.network_policy
    ),
    KubeListing("Deployment", "/apis/apps/v1/deployments", parse.workload("Deployment")),
    KubeListing("StatefulSet", "/apis/apps/v1/statefulsets", parse.workload("StatefulSet")),
    KubeListing("DaemonSet", "/apis/apps/v1/daemonsets", parse.workload("DaemonSet")),
    KubeListing("Job", "/apis/batch/v1/jobs", parse.workload("Job")),
    KubeListing("CronJob", "/apis/batch/v1/cronjobs", parse.workload("CronJob")),
    KubeListing("pod", "/api/v1/pods", parse.pod),
)


class Cluster:
    """Raw GETs on one cluster through the kubernetes client, counting the calls."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.calls = 0

    def get(self, path: str, query: list[tuple[str, Any]]) -> dict[str, Any]:
        """One GET, its JSON body as a dict."""
        self.calls += 1
        method, url, headers, body, post = self.api.param_serialize(
            "GET",
            path,
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        response = self.api.call_api(method, url, headers, body, post, _request_timeout=TIMEOUT)
        response.read()
        if not 200 <= response.status < 300:
            raise ValueError(f"GET {path}: HTTP {response.status} {response.reason}")
        parsed = json.loads(response.data)
        if not isinstance(parsed, dict):
            raise ValueError(f"{path} answered {type(parsed).__name__}, not an object")
        return parsed

    def items(self, path: str) -> list[dict[str, Any]]:
        """Every item of a list, page by page."""
        found: list[dict[str, Any]] = []
        token = ""
        for _ in range(MAX_PAGES):
            query: list[tuple[str, Any]] = [("limit", PAGE)]
            if token:
                query.append(("continue", token))
            body = self.get(path, query)
            found.extend(i for i in body.get("items") or [] if isinstance(i, dict))
            token = str((body.get("metadata") or {}).get("continue") or "")
            if not token:
                return found
        raise ValueError(f"{path}: more than {MAX_PAGES} pages")


def connect(target: KubeTarget) -> Cluster:
    """A client for the target's kubeconfig and context."""
    if not target.kubeconfig.is_file():
        hint = "start the lab cluster (dcops lab k8s up)" if target.lab else "fix the path"
        raise InputError(
            f"no kubeconfig to read Kubernetes with; {hint}. Looked for {target.kubeconfig} "
            "([clusters.kubernetes] kubeconfig in dcops.toml, else the lab cluster's)"
        )
    try:
        from kubernetes import config
    except ImportError as missing:
        raise MissingDependency(
            f"reading Kubernetes needs the kubernetes client ({missing}); install dcops with "
            "the k8s extra"
        ) from None
    try:
        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(target.kubeconfig), context=target.context or None
        )
    except Exception as error:
        raise InputError(f"{target.kubeconfig}: cannot be used: {error}") from None
    api.configuration.retries = 0
    return Cluster(api)


def read(cluster: Cluster, listings: tuple[KubeListing, ...] = LISTINGS) -> Reading:
    """Every namespace and what it holds; a kind that cannot be listed is reported, not fatal."""
    reading = Reading(CLOUD)
    try:
        namespaces = [parse.namespace(i) for i in cluster.items("/api/v1/namespaces")]
    except Exception as error:
        reading.failures.append(ServiceFailure(CLOUD, "namespaces", _reason(error)))
        reading.calls = cluster.calls
        return reading
    scopes = {
        n.name: Scope(CLOUD, n.name, n.id, resources=[n], tags=_label_tags(n)) for n in namespaces
    }
    with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
        results = list(pool.map(lambda listing: _list(cluster, listing), listings))
    for resources, failure in results:
        if failure:
            reading.failures.append(failure)
        for resource in resources:
            scope = scopes.setdefault(resource.scope, Scope(CLOUD, resource.scope, ""))
            scope.resources.append(resource)
    reading.scopes = sorted(scopes.values(), key=lambda s: s.name)
    reading.calls = cluster.calls
    return reading


def _label_tags(namespace: Resource) -> tuple[str, ...]:
    labels = namespace.details.get("labels") or {}
    return tuple(f"{k}={v}" for k, v in sorted(labels.items()))


def _list(cluster: Cluster, listing: KubeListing) -> tuple[list[Resource], ServiceFailure | None]:
    try:
        return [listing.parse(item) for item in cluster.items(listing.path)], None
    except Exception as error:
        return [], ServiceFailure(CLOUD, listing.kind, _reason(error))


def _reason(error: Exception) -> str:
    status = getattr(error, "status", None)
    text = " ".join(str(getattr(error, "reason", None) or error).split())
    return f"{type(error).__name__}{f' {status}' if status else ''}: {text[:300]}"
