"""Each policy passes the sample and catches its violating fixture."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from dcops.core.site import Site
from dcops.stacks.evaluation import PlannedResource
from dcops.stacks.policies import (
    IKE,
    SG_RULE,
    build_policies,
    context_from_site,
    parse_cpu,
    parse_memory_gib,
)
from dcops.stacks.spec import CryptoSpec, IngressSpec, TenancySpec
from dcops.stacks.verdicts import Verdict, judge
from tests.unit.stacks.conftest import replace

URN = "urn:pulumi:fgw-production::dcops::dcops:stack:Tenancy$"


def _resource(kind: str, name: str, props: Mapping[str, Any]) -> PlannedResource:
    urn = f"{URN}{kind}::{name}"
    return PlannedResource(urn, kind, name, "", True, "", dict(props), dict(props))


def _verdicts(site: Site, resources: list[PlannedResource]) -> dict[str, Verdict]:
    return {v.policy: v for v in judge(build_policies(context_from_site(site)), resources)}


def _plan(site: Site, spec: TenancySpec) -> dict[str, Verdict]:
    from dcops.stacks.plan import _evaluate_chunk

    (plan,) = _evaluate_chunk(context_from_site(site), "198.51.100.0/24", [(spec, "fixture")])
    return {v.policy: v for v in plan.verdicts}


def test_the_sample_passes_every_policy(
    repo_site: Site, sample_resources: list[PlannedResource]
) -> None:
    verdicts = _verdicts(repo_site, sample_resources)
    assert set(verdicts) == {
        "no-admin-port-to-world",
        "sg-rule-description",
        "vpn-crypto-minimum",
        "named-and-tagged",
        "quotas-within-tier",
        "namespace-fenced",
    }
    assert {
        name: [v.message for v in verdict.violations]
        for name, verdict in verdicts.items()
        if not verdict.passed
    } == {}


@pytest.mark.parametrize(
    ("props", "violates"),
    [
        ({"remoteIpPrefix": "0.0.0.0/0", "portRangeMin": 22, "portRangeMax": 22}, True),
        (
            {
                "remoteIpPrefix": "::/0",
                "portRangeMin": 6443,
                "portRangeMax": 6443,
                "ethertype": "IPv6",
            },
            True,
        ),
        ({"remoteIpPrefix": "0.0.0.0/0", "portRangeMin": 3000, "portRangeMax": 3400}, True),
        ({}, True),  # no prefix and no ports: every port from everywhere
        ({"remoteIpPrefix": "0.0.0.0/0", "portRangeMin": 443, "portRangeMax": 443}, False),
        ({"remoteIpPrefix": "10.10.0.0/16", "portRangeMin": 22, "portRangeMax": 22}, False),
        ({"remoteGroupId": "abc", "portRangeMin": 5432, "portRangeMax": 5432}, False),
    ],
)
def test_admin_ports_are_never_open_to_the_world(
    repo_site: Site, props: dict[str, Any], violates: bool
) -> None:
    rule = _resource(
        SG_RULE,
        "fgw-production-sg-web-in",
        {"direction": "ingress", "protocol": "tcp", "description": "x", **props},
    )
    verdict = _verdicts(repo_site, [rule])["no-admin-port-to-world"]
    assert verdict.passed is not violates
    if violates:
        assert "open to the world" in verdict.violations[0].message
        assert verdict.violations[0].urn == rule.urn


def test_a_plan_with_ssh_from_anywhere_fails(repo_site: Site, sample_spec: TenancySpec) -> None:
    ssh = IngressSpec("web", 22, "ssh for everyone", cidr="0.0.0.0/0")
    verdicts = _plan(repo_site, replace(sample_spec, ingress=(*sample_spec.ingress, ssh)))
    (violation,) = verdicts["no-admin-port-to-world"].violations
    assert violation.urn.endswith("::fgw-production-sg-web-in-tcp22-from-0.0.0.0-0")
    assert "[22]" in violation.message


def test_rules_without_description_fail(repo_site: Site, sample_spec: TenancySpec) -> None:
    silent = IngressSpec("web", 8080, "  ", cidr="10.10.0.0/16")
    verdicts = _plan(repo_site, replace(sample_spec, ingress=(*sample_spec.ingress, silent)))
    (violation,) = verdicts["sg-rule-description"].violations
    assert "without a description" in violation.message
    assert violation.urn.endswith("tcp8080-from-10.10.0.0-16")


@pytest.mark.parametrize(
    ("crypto", "weak"),
    [
        (CryptoSpec(encryption="aes-128"), "encryption aes-128"),
        (CryptoSpec(auth="sha1"), "auth sha1"),
        (CryptoSpec(pfs="group5"), "pfs group5"),
    ],
)
def test_weak_vpn_crypto_fails(
    repo_site: Site, sample_spec: TenancySpec, crypto: CryptoSpec, weak: str
) -> None:
    vpn = replace(sample_spec.vpns[0], crypto=crypto)  # type: ignore[arg-type]
    verdicts = _plan(repo_site, replace(sample_spec, vpns=(vpn,)))
    messages = [v.message for v in verdicts["vpn-crypto-minimum"].violations]
    assert len(messages) == 2  # the IKE and the IPsec policy
    assert all(weak in m for m in messages)


def test_vpn_crypto_defaults_of_openstack_are_too_weak(repo_site: Site) -> None:
    bare = _resource(IKE, "fgw-production-vpn-hq-ike", {"name": "fgw-production-vpn-hq-ike"})
    (violation,) = _verdicts(repo_site, [bare])["vpn-crypto-minimum"].violations
    assert "aes-128 (default)" in violation.message and "group5 (default)" in violation.message


def test_quotas_over_the_tier_caps_fail(repo_site: Site, sample_spec: TenancySpec) -> None:
    quota = replace(sample_spec.quota, cores=65, instances=21)  # type: ignore[arg-type]
    k8s = replace(sample_spec.kubernetes, cpu="40", memory="200Gi", pods=300)  # type: ignore[arg-type]
    verdicts = _plan(repo_site, replace(sample_spec, quota=quota, kubernetes=k8s))
    messages = sorted(v.message for v in verdicts["quotas-within-tier"].violations)
    assert any("cores=65 > 64" in m for m in messages)
    assert any("instances=21 > 20" in m for m in messages)
    assert any("cpu=40 > 32" in m for m in messages)
    assert any("memory=200Gi > 128Gi" in m for m in messages)
    assert any("pods=300 > 200" in m for m in messages)


def test_resources_without_department_name_or_tag_fail(repo_site: Site) -> None:
    untagged = _resource(
        "openstack:networking/network:Network",
        "fgw-production-net-app",
        {"name": "fgw-production-net-app", "tags": []},
    )
    misnamed = _resource("openstack:compute/keypair:Keypair", "ops-key", {"name": "ops-key"})
    unlabelled = _resource(
        "kubernetes:core/v1:Namespace",
        "fgw-production-k8s-namespace",
        {"metadata": {"name": "fgw", "labels": {}}},
    )
    messages = [
        v.message
        for v in _verdicts(repo_site, [untagged, misnamed, unlabelled])[
            "named-and-tagged"
        ].violations
    ]
    assert any("missing tag 'department:fgw'" in m for m in messages)
    assert any("'ops-key' does not start with the department code 'fgw'" in m for m in messages)
    assert any("missing label dcops.gov.cn/department=fgw" in m for m in messages)


def test_namespace_without_fences_fails(repo_site: Site, sample_spec: TenancySpec) -> None:
    namespace = _resource(
        "kubernetes:core/v1:Namespace",
        "fgw-production-k8s-namespace",
        {"metadata": {"name": "fgw", "labels": {"dcops.gov.cn/department": "fgw"}}},
    )
    (violation,) = _verdicts(repo_site, [namespace])["namespace-fenced"].violations
    assert "lacks ResourceQuota, LimitRange, default-deny NetworkPolicy" in violation.message


def test_an_allow_is_not_a_default_deny(repo_site: Site) -> None:
    labels = {"dcops.gov.cn/department": "fgw"}
    resources = [
        _resource(
            "kubernetes:core/v1:Namespace",
            "fgw-ns",
            {"metadata": {"name": "fgw", "labels": labels}},
        ),
        _resource("kubernetes:core/v1:ResourceQuota", "fgw-q", {"metadata": {"namespace": "fgw"}}),
        _resource("kubernetes:core/v1:LimitRange", "fgw-l", {"metadata": {"namespace": "fgw"}}),
        _resource(
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "fgw-allow",
            {
                "metadata": {"namespace": "fgw"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]},
            },
        ),
    ]
    (violation,) = _verdicts(repo_site, resources)["namespace-fenced"].violations
    assert violation.message.endswith("lacks default-deny NetworkPolicy")


def test_kubernetes_quantities() -> None:
    assert parse_cpu("500m") == 0.5 and parse_cpu("16") == 16
    assert parse_memory_gib("64Gi") == 64 and parse_memory_gib("512Mi") == 0.5


def test_policies_import_without_starting_a_pack() -> None:
    import dcops.stacks.policy_pack as pack

    assert pack.__doc__ and "policy-pack" in pack.__doc__
    from importlib.resources import files

    manifest = files("dcops.stacks.policy_pack").joinpath("PulumiPolicy.yaml").read_text()
    assert "runtime: python" in manifest
