"""The Kubernetes part of a tenancy, provisioned for real into the lab cluster and checked there.

`dcops provision NAME --only kubernetes` runs the Pulumi engine with the Kubernetes plugin
against `dcops lab k8s`; what it made is read back with the kubernetes client (never from
Pulumi's state), and what a department may do is tried with that department's own kubeconfig,
so the API server itself enforces it. Needs the engine (scripts/install-engine.sh), the control
plane (scripts/install-k8s.sh) and etcd (etcd-server); skips LOUDLY without them.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DCOPS, copy_site, dcops_env
from tests.integration.live_provision import planned_and_created
from tests.integration.test_lab_k8s import free_base_port, missing_programs

pytestmark = [pytest.mark.integration, pytest.mark.live, pytest.mark.engine, pytest.mark.k8s]

FGW, WJW = "fgw-production", "wjw-staging"  # the example site's tenancies with a namespace
NAMESPACES = {FGW: "fgw", WJW: "wjw-staging"}
QUOTA = {  # inventory/requests/fgw-production.yml asks for cpu 16, memory 64Gi, pods 100
    "requests.cpu": "16",
    "limits.cpu": "16",
    "requests.memory": "64Gi",
    "limits.memory": "64Gi",
    "pods": "100",
}


def missing_engine() -> list[str]:
    """The engine programs dcops would not find here."""
    from dcops.core import engine

    wanted = (engine.CLI, engine.plugin_program("kubernetes"))
    return [program for program in wanted if engine.find(program) is None]


@dataclass
class Lab:
    """A site copy with its lab cluster up, and a way to run dcops there."""

    site: Path
    env: dict[str, str]

    def dcops(
        self, *args: str, timeout: float = 600, user: str = "zhangwei"
    ) -> subprocess.CompletedProcess[str]:
        """Run dcops in the site copy (as ops, unless another user is named)."""
        return subprocess.run(
            [str(DCOPS), *args],
            cwd=self.site,
            env={**self.env, "DCOPS_USER": user},
            text=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )

    def ok(self, *args: str, timeout: float = 600, user: str = "zhangwei") -> str:
        """Run dcops and require exit 0; its stdout."""
        done = self.dcops(*args, timeout=timeout, user=user)
        assert done.returncode == 0, f"dcops {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def api(self, who: str = "ops") -> Any:
        """An ApiClient with the kubeconfig of ops or of a department code."""
        from kubernetes import config

        kubeconfig = self.site / ".dcops" / "lab-k8s" / "kubeconfig" / f"{who}.yaml"
        return config.new_client_from_config(config_file=str(kubeconfig))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    missing = missing_programs() + missing_engine()
    if missing:
        pytest.skip(
            f"LIVE TEST SKIPPED — not a pass: {', '.join(missing)} missing "
            "(scripts/install-k8s.sh builds kube-*, scripts/install-engine.sh the engine, "
            "apt-get install etcd-server gives etcd)"
        )
    site = copy_site(tmp_path_factory.mktemp("k8s-tenancy") / "site")
    lab = Lab(site, dcops_env("zhangwei", {"DCOPS_LAB_K8S_PORT": str(free_base_port())}))
    try:
        lab.ok("lab", "k8s", "up", timeout=300)
        yield lab
    finally:
        down = lab.dcops("lab", "k8s", "down", "--yes", timeout=180)
        assert down.returncode == 0, down.stdout + down.stderr


@pytest.fixture(scope="module")
def provisioned(lab: Lab) -> dict[str, str]:
    """Both tenancies' Kubernetes parts applied (fgw's request approved in the tenancy store,
    wjw's from its request file); what each first provision printed."""
    lab.ok("tenancy", "request", "inventory/requests/fgw-production.yml", user="wanglei")
    lab.ok("tenancy", "approve", FGW, user="chenjing")
    return {name: lab.ok("provision", name, "--only", "kubernetes", "--yes") for name in (FGW, WJW)}


def test_provision_makes_the_objects_the_request_asks_for(
    lab: Lab, provisioned: dict[str, str]
) -> None:
    from kubernetes import client

    from dcops.stacks.config import ALLOWS

    assert "provision: fgw-production updated — create 12" in provisioned[FGW]
    assert "tenancy request #1 is now provisioned" in provisioned[FGW]
    core = client.CoreV1Api(lab.api())
    namespace = core.read_namespace("fgw")
    assert namespace.metadata.labels["dcops.gov.cn/department"] == "fgw"
    assert namespace.metadata.labels["dcops.gov.cn/tenancy"] == FGW
    assert namespace.status.phase == "Active"

    quota = core.read_namespaced_resource_quota("tenancy-quota", "fgw")
    assert quota.spec.hard == QUOTA
    assert quota.status.hard == QUOTA  # the quota controller took it up: it is enforced
    (limits,) = core.read_namespaced_limit_range("tenancy-limits", "fgw").spec.limits
    assert (limits.type, limits.default, limits.default_request) == (
        "Container",
        {"cpu": "500m", "memory": "512Mi"},
        {"cpu": "100m", "memory": "128Mi"},
    )

    policies = {
        p.metadata.name: p.spec
        for p in client.NetworkingV1Api(lab.api()).list_namespaced_network_policy("fgw").items
    }
    assert set(policies) == {"default-deny"} | {f"allow-{a.name}" for a in ALLOWS}
    deny = policies["default-deny"]
    assert deny.pod_selector.match_labels is None and deny.pod_selector.match_expressions is None
    assert sorted(deny.policy_types) == ["Egress", "Ingress"]
    assert not deny.ingress and not deny.egress
    own = policies["allow-same-namespace"]
    assert own.policy_types == ["Ingress"] and len(own.ingress) == 1
    (peer,) = own.ingress[0]._from
    assert peer.namespace_selector is None and peer.ip_block is None
    assert peer.pod_selector.match_labels is None  # every pod of this namespace, no other
    dns = policies["allow-dns"]
    assert dns.policy_types == ["Egress"]
    (rule,) = dns.egress
    assert rule.to[0].namespace_selector.match_labels == {
        "kubernetes.io/metadata.name": "kube-system"
    }
    assert [(p.port, p.protocol) for p in rule.ports] == [(53, "UDP")]

    rbac = client.RbacAuthorizationV1Api(lab.api())
    binding = rbac.read_namespaced_role_binding("tenancy-edit", "fgw")
    assert (binding.role_ref.kind, binding.role_ref.name) == ("Role", "tenancy-edit")
    assert [(s.kind, s.name) for s in binding.subjects] == [("Group", "dept-fgw")]
    (rule,) = rbac.read_namespaced_role("tenancy-edit", "fgw").rules
    assert {"pods", "deployments"} <= set(rule.resources)
    assert not {"resourcequotas", "limitranges", "networkpolicies", "roles"} & set(rule.resources)


def test_a_second_provision_changes_nothing(lab: Lab, provisioned: dict[str, str]) -> None:
    again = lab.ok("provision", FGW, "--only", "kubernetes", "--yes")
    assert "preview of fgw-production: same 12" in again
    assert "updated" not in again  # nothing to apply, so nothing was asked or applied


def test_the_offline_plan_lists_what_the_engine_created(
    lab: Lab, provisioned: dict[str, str]
) -> None:
    for name in (FGW, WJW):
        plan = lab.ok("plan", f"inventory/requests/{name}.yml", "-o", "json")
        planned, created = planned_and_created(lab.site, plan, name, ("kubernetes",))
        assert len(created) >= 10, name
        assert planned == created, name
        assert f"kubernetes.namespace  {NAMESPACES[name]}" in provisioned[name]


def forbidden(call: Any, *args: Any, **kwargs: Any) -> str:
    """The API server's refusal of a call, which must be 403; its message."""
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as refused:
        call(*args, **kwargs)
    assert refused.value.status == 403, refused.value.body
    return str(refused.value.body)


def pod(name: str, cpu: str) -> dict[str, Any]:
    """A pod asking for cpu (requests = limits); no node runs it, admission is what counts."""
    resources = {"cpu": cpu, "memory": "64Mi"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "registry.invalid/app:1",
                    "resources": {"requests": resources, "limits": resources},
                }
            ]
        },
    }


def deployment(name: str) -> dict[str, Any]:
    """A one-replica deployment whose pods fit the quota."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": pod(name, "100m")["spec"],
            },
        },
    }


def test_kubernetes_enforces_what_a_department_may_do(
    lab: Lab, provisioned: dict[str, str]
) -> None:
    from kubernetes import client

    fgw_api = lab.api("fgw")
    core, apps = client.CoreV1Api(fgw_api), client.AppsV1Api(fgw_api)
    made = core.create_namespaced_pod("fgw", pod("web-0", "500m"))
    assert made.spec.containers[0].resources.requests["cpu"] == "500m"
    assert apps.create_namespaced_deployment("fgw", deployment("web")).metadata.name == "web"
    assert "web-0" in {p.metadata.name for p in core.list_namespaced_pod("fgw").items}

    over = forbidden(core.create_namespaced_pod, "fgw", pod("too-big", "17"))
    assert "exceeded quota" in over and "tenancy-quota" in over

    # Another department's namespace, the cluster, and the tenancy's own fences are refused.
    forbidden(core.list_namespaced_pod, "wjw-staging")
    forbidden(core.create_namespaced_pod, "wjw-staging", pod("intruder", "100m"))
    forbidden(client.CoreV1Api(lab.api("wjw")).list_namespaced_pod, "fgw")
    forbidden(core.list_namespace)
    forbidden(core.create_namespace, {"metadata": {"name": "fgw-extra"}})
    forbidden(client.RbacAuthorizationV1Api(fgw_api).list_cluster_role_binding)
    forbidden(core.patch_namespaced_resource_quota, "tenancy-quota", "fgw", {"spec": {}})
    networking = client.NetworkingV1Api(fgw_api)
    forbidden(networking.delete_namespaced_network_policy, "default-deny", "fgw")

    # The quota counts what the department made; ops sees every namespace.
    used = client.CoreV1Api(lab.api()).read_namespaced_resource_quota("tenancy-quota", "fgw")
    assert used.status.used["pods"] == "1"
    assert used.status.used["requests.cpu"] == "500m"
    names = {n.metadata.name for n in client.CoreV1Api(lab.api()).list_namespace().items}
    assert {"fgw", "wjw-staging"} <= names
    core.delete_namespaced_pod("web-0", "fgw")
    apps.delete_namespaced_deployment("web", "fgw")


def test_drift_shows_in_refresh_and_preview_and_provision_restores(
    lab: Lab, provisioned: dict[str, str]
) -> None:
    from kubernetes import client

    core = client.CoreV1Api(lab.api())
    core.patch_namespaced_resource_quota(
        "tenancy-quota", "fgw", {"spec": {"hard": {"pods": "500"}}}
    )
    preview = lab.ok("provision", FGW, "--only", "kubernetes", "--preview-only")
    assert "preview of fgw-production: same 11, update 1" in preview
    assert "update kubernetes:core/v1:ResourceQuota fgw-production-k8s-quota (spec.hard.pods)" in (
        preview
    )
    assert core.read_namespaced_resource_quota("tenancy-quota", "fgw").spec.hard["pods"] == "500"

    refreshed = lab.ok("refresh", FGW)
    assert "refresh: fgw-production — same 11, update 1" in refreshed
    assert "ResourceQuota fgw-production-k8s-quota (spec.hard.pods)" in refreshed

    restored = lab.ok("provision", FGW, "--only", "kubernetes", "--yes")
    assert "provision: fgw-production updated — same 11, update 1" in restored
    assert core.read_namespaced_resource_quota("tenancy-quota", "fgw").spec.hard == QUOTA
    assert "same 12" in lab.ok("provision", FGW, "--only", "kubernetes", "--preview-only")


def test_skip_preview_restores_drift_in_one_engine_run(
    lab: Lab, provisioned: dict[str, str]
) -> None:
    from kubernetes import client

    core = client.CoreV1Api(lab.api())
    core.patch_namespaced_resource_quota("tenancy-quota", "fgw", {"spec": {"hard": {"pods": "7"}}})
    restored = lab.ok("provision", FGW, "--only", "kubernetes", "--yes", "--skip-preview")
    assert "preview of" not in restored
    assert "provision: fgw-production updated — same 11, update 1" in restored
    assert core.read_namespaced_resource_quota("tenancy-quota", "fgw").spec.hard == QUOTA


def test_a_namespace_of_no_tenancy_is_never_adopted(lab: Lab) -> None:
    from kubernetes import client

    core = client.CoreV1Api(lab.api())
    core.create_namespace({"metadata": {"name": "foreign", "labels": {"team": "other"}}})
    request = request_file(lab, "fgw-foreign", "foreign")
    refused = lab.dcops("provision", str(request), "--only", "kubernetes", "--yes")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "namespace foreign already exists" in refused.stderr
    assert "belongs to no tenancy" in refused.stderr and "never adopts it" in refused.stderr
    assert core.read_namespace("foreign").metadata.labels == {
        "team": "other",
        "kubernetes.io/metadata.name": "foreign",
    }


def request_file(lab: Lab, name: str, namespace: str) -> Path:
    """A copy of fgw's request file as another tenancy with its own namespace."""
    path = lab.site / f"{name}.yml"
    text = (lab.site / "inventory" / "requests" / "fgw-production.yml").read_text("utf-8")
    path.write_text(
        f"name: {name}\n" + text.replace("namespace: fgw", f"namespace: {namespace}"), "utf-8"
    )
    return path


def kill_apiserver_once(lab: Lab, namespace: str) -> None:
    """SIGKILL the lab's API server as soon as namespace exists (the update is then mid-way)."""
    import os
    import signal

    from kubernetes import client

    from dcops.lab import k8s_processes

    core = client.CoreV1Api(lab.api())
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if namespace in {n.metadata.name for n in core.list_namespace().items}:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"namespace {namespace} never appeared")
    running = k8s_processes.running(lab.site / ".dcops" / "lab-k8s")
    os.kill(next(pid for pid, name in running.items() if name == "kube-apiserver"), signal.SIGKILL)


def test_api_server_down_mid_update_then_the_next_provision_completes(lab: Lab) -> None:
    from kubernetes import client

    request = str(request_file(lab, "fgw-fault", "fault"))
    run = subprocess.Popen(
        [str(DCOPS), "provision", request, "--only", "kubernetes", "--yes"],
        cwd=lab.site,
        env=lab.env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        kill_apiserver_once(lab, "fault")
        stdout, stderr = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 1, stdout + stderr
    assert "a cloud API stopped answering during the run on stack fgw-fault" in stderr
    assert "run the same command again to finish" in stderr

    assert "cleared leftovers" in lab.ok("lab", "k8s", "up", timeout=300)
    finished = lab.ok("provision", request, "--only", "kubernetes", "--yes")
    assert "provision: fgw-fault updated" in finished
    core = client.CoreV1Api(lab.api())
    assert core.read_namespaced_resource_quota("tenancy-quota", "fault").status.hard == QUOTA
    policies = client.NetworkingV1Api(lab.api()).list_namespaced_network_policy("fault").items
    assert len(policies) == 3
    binding = client.RbacAuthorizationV1Api(lab.api()).read_namespaced_role_binding(
        "tenancy-edit", "fault"
    )
    assert binding.subjects[0].name == "dept-fgw"
    again = lab.ok("provision", request, "--only", "kubernetes", "--preview-only")
    assert "preview of fgw-fault: same 12" in again  # the stack and the cluster agree


def test_offboarding_and_destroy_remove_the_namespaces_and_everything_in_them(
    lab: Lab, provisioned: dict[str, str]
) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core = client.CoreV1Api(lab.api())
    core.create_namespaced_config_map("wjw-staging", {"metadata": {"name": "settings"}})
    assert "provisioned → offboarding" in lab.ok("tenancy", "offboard", FGW, "--yes")
    offboarded = lab.ok("destroy", FGW, "--yes")
    assert "destroy: fgw-production — delete 12" in offboarded
    assert "tenancy fgw-production is offboarded" in offboarded
    assert "destroy: wjw-staging — delete 12" in lab.ok("destroy", WJW, "--yes")
    for namespace in ("fgw", "wjw-staging"):
        with pytest.raises(ApiException) as absent:
            core.read_namespace(namespace)  # destroy waited until the namespace was gone
        assert absent.value.status == 404
    assert not core.list_namespaced_config_map("wjw-staging").items
    assert not core.list_namespaced_resource_quota("fgw").items
