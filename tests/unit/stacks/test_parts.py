"""A tenancy stack with only its Kubernetes part, pointed at the site's cluster; never adopt a namespace."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.clusters import kubernetes_target
from dcops.core.errors import InputError
from dcops.core.loader import load_site
from dcops.stacks.evaluation import evaluate
from dcops.stacks.mocks import CloudMocks
from dcops.stacks.program import Clouds, TenancyStack
from dcops.stacks.spec import TenancySpec


def registered(spec: TenancySpec, clouds: Clouds) -> list[tuple[str, dict[str, object]]]:
    import pulumi

    def program() -> None:
        TenancyStack(spec, clouds, lambda key: pulumi.Output.secret("psk"))

    return [(r.type, r.inputs) for r in evaluate([program], CloudMocks()).resources]


def test_only_kubernetes_registers_no_openstack_resource(sample_spec: TenancySpec) -> None:
    clouds = Clouds(kubeconfig="/srv/kube/ops.yaml", kube_context="gdc", parts=("kubernetes",))
    resources = registered(sample_spec, clouds)
    types = sorted({t for t, _ in resources})
    assert not [t for t in types if "openstack" in t]
    assert "kubernetes:core/v1:ResourceQuota" in types
    assert "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding" in types
    provider = next(inputs for t, inputs in resources if t == "pulumi:providers:kubernetes")
    assert provider["kubeconfig"] == "/srv/kube/ops.yaml"
    assert provider["context"] == "gdc"


def test_both_parts_by_default(sample_spec: TenancySpec) -> None:
    types = {t for t, _ in registered(sample_spec, Clouds())}
    assert "pulumi:providers:openstack" in types and "pulumi:providers:kubernetes" in types


def test_the_cluster_is_the_lab_unless_the_site_names_one(site_dir: Path) -> None:
    lab = kubernetes_target(load_site(site_dir))
    assert lab.lab and lab.kubeconfig == site_dir / ".dcops" / "lab-k8s" / "kubeconfig" / "ops.yaml"
    toml = site_dir / "dcops.toml"
    toml.write_text(
        toml.read_text()
        + '\n[clusters.kubernetes]\nkubeconfig = "kube/gdc.yaml"\ncontext = "prod"\n'
    )
    real = kubernetes_target(load_site(site_dir))
    assert (real.kubeconfig, real.context, real.lab) == (
        site_dir / "kube" / "gdc.yaml",
        "prod",
        False,
    )
    assert Clouds.for_site(load_site(site_dir)).kubeconfig == str(site_dir / "kube" / "gdc.yaml")


def test_a_missing_kubeconfig_is_refused_before_any_call(site_dir: Path) -> None:
    from dcops.stacks.namespace_claims import check_namespace_claim

    with pytest.raises(InputError, match="dcops lab k8s up"):
        check_namespace_claim(kubernetes_target(load_site(site_dir)), "fgw-prod", "fgw-production")
