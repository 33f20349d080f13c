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
QUOTA_KIND = "kubernetes:core/v1:ResourceQuota"
NAMESPACE_KIND = "kubernetes:core/v1:Namespace"


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
        "namespace-one-tenancy",
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


def _sg_rule(**props: Any) -> PlannedResource:
    base = {"direction": "ingress", "protocol": "tcp", "description": "x"}
    return _resource(SG_RULE, "fgw-production-sg-web-in", {**base, **props})


def _admin_verdict(site: Site, **props: Any) -> Verdict:
    return _verdicts(site, [_sg_rule(**props)])["no-admin-port-to-world"]


@pytest.mark.parametrize(
    ("props", "exposed"),
    [
        ({"portRangeMin": 22}, "[22]"),  # a lower bound alone is that one port
        ({"portRangeMax": 22}, "[22]"),  # and so is an upper bound alone
        ({"portRangeMin": 20, "portRangeMax": 23}, "[22]"),
        ({"portRangeMin": 3306, "portRangeMax": 3389}, "[3389, 3306]"),
        ({"portRangeMin": 10250, "portRangeMax": 10250}, "[10250]"),
        ({}, "[22, 3389, 3306, 5432, 6379, 9200, 27017, 2379, 6443, 10250]"),
    ],
)
def test_port_ranges_that_reach_an_admin_port_are_refused(
    repo_site: Site, props: dict[str, Any], exposed: str
) -> None:
    (violation,) = _admin_verdict(repo_site, remoteIpPrefix="0.0.0.0/0", **props).violations
    assert f"administrative port(s) {exposed} open to the world (0.0.0.0/0)" in violation.message


@pytest.mark.parametrize(
    "props",
    [
        {"portRangeMin": 23, "portRangeMax": 2378},
        {"portRangeMin": 21, "portRangeMax": 21},
        {"portRangeMin": 23},
        {"portRangeMax": 10249, "portRangeMin": 10000},
    ],
)
def test_port_ranges_that_miss_every_admin_port_pass(
    repo_site: Site, props: dict[str, Any]
) -> None:
    assert _admin_verdict(repo_site, remoteIpPrefix="0.0.0.0/0", **props).passed


@pytest.mark.parametrize(
    ("props", "shown"),
    [
        ({"remoteIpPrefix": "::/0"}, "::/0"),
        ({"remoteIpPrefix": "0.0.0.0/0", "protocol": "udp"}, "0.0.0.0/0"),
        ({"remoteIpPrefix": "0.0.0.0/0", "protocol": None}, "0.0.0.0/0"),  # any protocol
        ({"remoteIpPrefix": "0.0.0.0/0", "protocol": ""}, "0.0.0.0/0"),
        ({"remoteIpPrefix": "0::0/0"}, "0::0/0"),  # the world, written another way
        ({"remoteIpPrefix": ""}, "any address"),
        ({"remoteIpPrefix": None}, "any address"),
    ],
)
def test_ssh_from_the_world_is_refused_however_it_is_written(
    repo_site: Site, props: dict[str, Any], shown: str
) -> None:
    (violation,) = _admin_verdict(repo_site, portRangeMin=22, portRangeMax=22, **props).violations
    assert f"open to the world ({shown})" in violation.message


@pytest.mark.parametrize(
    "props",
    [
        {"remoteIpPrefix": "10.10.0.0/16"},
        {"remoteAddressGroupId": "ops-bastions"},
        {"remoteGroupId": "sg-web", "remoteIpPrefix": "0.0.0.0/0"},
        {"remoteIpPrefix": "0.0.0.0/0", "protocol": "icmp"},
        {"remoteIpPrefix": "0.0.0.0/0", "direction": "egress"},
    ],
)
def test_rules_not_open_to_the_world_or_not_for_tcp_udp_pass(
    repo_site: Site, props: dict[str, Any]
) -> None:
    assert _admin_verdict(repo_site, portRangeMin=22, portRangeMax=22, **props).passed


def test_only_security_group_rules_are_judged_for_ports_and_descriptions(repo_site: Site) -> None:
    other = _resource(
        "openstack:networking/secGroup:SecGroup",
        "fgw-production-sg-web",
        {"direction": "ingress", "remoteIpPrefix": "0.0.0.0/0", "description": ""},
    )
    verdicts = _verdicts(repo_site, [other])
    assert verdicts["no-admin-port-to-world"].passed
    assert verdicts["sg-rule-description"].passed
    described = _verdicts(repo_site, [_sg_rule(remoteIpPrefix="10.0.0.0/8")])
    assert described["sg-rule-description"].passed


def test_strong_vpn_crypto_passes_and_each_weak_part_is_named(repo_site: Site) -> None:
    strong = {"encryptionAlgorithm": "aes-256", "authAlgorithm": "sha256", "pfs": "group14"}
    ipsec = "openstack:vpnaas/ipSecPolicy:IpSecPolicy"
    good = _resource(ipsec, "fgw-production-vpn-hq-ipsec", strong)
    assert _verdicts(repo_site, [good])["vpn-crypto-minimum"].passed
    weak = {"encryptionAlgorithm": "3des", "authAlgorithm": "md5", "pfs": "group2"}
    bad = _resource(ipsec, "fgw-production-vpn-hq-ipsec", weak)
    (violation,) = _verdicts(repo_site, [bad])["vpn-crypto-minimum"].violations
    assert "encryption 3des, auth md5, pfs group2; allowed: AES-256" in violation.message


def test_the_department_is_the_longest_code_that_starts_the_stack() -> None:
    from dcops.stacks.policies import Caps, PolicyContext

    caps = Caps(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
    context = PolicyContext({"ga": caps, "gaj": caps})
    assert context.department_of("urn:pulumi:gaj-production::dcops::x") == "gaj"
    assert context.department_of("urn:pulumi:ga-production::dcops::x") == "ga"
    assert context.department_of("urn:pulumi:ga::dcops::x") == "ga"
    assert context.department_of("urn:pulumi:gax-production::dcops::x") is None


def test_names_tags_metadata_and_labels_carry_the_department(repo_site: Site) -> None:
    ok = [
        _resource(
            "openstack:networking/network:Network",
            "fgw-production-net-app",
            {"name": "fgw-production-net-app", "tags": ["department:fgw"]},
        ),
        _resource(
            "openstack:blockstorage/volume:Volume",
            "fgw",
            {"name": "fgw-vol", "metadata": {"department": "fgw"}},
        ),
        _resource(
            "kubernetes:core/v1:ConfigMap",
            "fgw-production-cm",
            {"metadata": {"labels": {"dcops.gov.cn/department": "fgw"}}},
        ),
        _resource("pulumi:providers:openstack", "admin", {}),
    ]
    assert _verdicts(repo_site, ok)["named-and-tagged"].passed
    bad = [
        _resource(
            "openstack:networking/network:Network",
            "fgw-production-net-app",
            {"name": "app", "tags": ["department:fgw"]},
        ),
        _resource(
            "openstack:blockstorage/volume:Volume",
            "fgw-production-vol",
            {"name": "fgw-vol", "metadata": {"department": "ga"}},
        ),
        _resource(
            "kubernetes:core/v1:ConfigMap",
            "fgw-production-cm",
            {"metadata": {"labels": {"dcops.gov.cn/department": "ga"}}},
        ),
    ]
    messages = [v.message for v in _verdicts(repo_site, bad)["named-and-tagged"].violations]
    assert messages == [
        "OpenStack name 'app' does not start with 'fgw'",
        "missing metadata department=fgw",
        "missing label dcops.gov.cn/department=fgw",
    ]


def test_a_stack_of_an_unknown_department_is_refused(repo_site: Site) -> None:
    stray = PlannedResource(
        "urn:pulumi:xyz-production::dcops::kubernetes:core/v1:Namespace::xyz",
        "kubernetes:core/v1:Namespace",
        "xyz",
        "",
        True,
        "",
        {},
        {},
    )
    verdicts = _verdicts(repo_site, [stray])
    (named,) = verdicts["named-and-tagged"].violations
    assert "does not start with a known department code" in named.message
    (quota,) = verdicts["quotas-within-tier"].violations
    assert quota.message.startswith("no tier caps for the department of urn:pulumi:xyz-production")


def test_volume_vpn_network_and_balancer_quotas_are_capped(repo_site: Site) -> None:
    volume = "openstack:blockstorage/volume:Volume"
    peer = "openstack:vpnaas/siteConnection:SiteConnection"
    resources = [
        _resource(volume, "fgw-production-vol-a", {"size": 3000}),
        _resource(volume, "fgw-production-vol-b", {"size": 2001}),
        *[_resource(peer, f"fgw-production-vpn-{n}", {}) for n in range(9)],
        _resource("openstack:networking/quotaV2:QuotaV2", "fgw-production-nq", {"network": 99}),
        _resource("openstack:loadbalancer/quota:Quota", "fgw-production-lbq", {"loadbalancer": 99}),
        _resource(
            "openstack:compute/quotaSetV2:QuotaSetV2", "fgw-production-q", {"ram": 256 * 1024 + 1}
        ),
    ]
    messages = [v.message for v in _verdicts(repo_site, resources)["quotas-within-tier"].violations]
    tier = repo_site.tier_of("fgw")
    assert tier is not None
    assert any(f"volumes total 5001 GB > {tier.volume_gb} GB" in m for m in messages)
    assert any(f"9 VPN peers > {tier.vpn_peers}" in m for m in messages)
    assert any(f"network=99 > {tier.networks}" in m for m in messages)
    assert any(f"loadbalancer=99 > {tier.load_balancers}" in m for m in messages)
    assert any(f"ram={256 * 1024 + 1} > {tier.ram_gb * 1024}" in m for m in messages)


def test_quotas_exactly_at_the_caps_pass(repo_site: Site) -> None:
    tier = repo_site.tier_of("fgw")
    assert tier is not None
    resources = [
        _resource(
            "openstack:blockstorage/volume:Volume", "fgw-production-vol", {"size": tier.volume_gb}
        ),
        _resource(
            "openstack:compute/quotaSetV2:QuotaSetV2",
            "fgw-production-q",
            {"cores": tier.vcpus, "ram": tier.ram_gb * 1024, "instances": tier.instances},
        ),
        _resource(
            QUOTA_KIND,
            "fgw-production-k8s-quota",
            {
                "spec": {
                    "hard": {
                        "requests.cpu": f"{tier.k8s_cpu * 1000}m",
                        "requests.memory": f"{tier.k8s_memory_gb}Gi",
                        "pods": str(tier.k8s_pods),
                    }
                }
            },
        ),
    ]
    assert _verdicts(repo_site, resources)["quotas-within-tier"].passed
    over = [
        _resource(
            QUOTA_KIND,
            "fgw-production-k8s-quota",
            {"spec": {"hard": {"requests.cpu": "33", "requests.memory": "129Gi"}}},
        )
    ]
    messages = [v.message for v in _verdicts(repo_site, over)["quotas-within-tier"].violations]
    assert any("cpu=33 > 32" in m for m in messages)
    assert any("memory=129Gi > 128Gi" in m for m in messages)


def test_more_kubernetes_quantities() -> None:
    assert parse_memory_gib("1Ti") == 1024 and parse_memory_gib("1048576Ki") == 1
    assert parse_memory_gib("2G") == pytest.approx(2e9 / 2**30)
    assert parse_memory_gib("3M") == pytest.approx(3e6 / 2**30)
    assert parse_memory_gib("4K") == pytest.approx(4e3 / 2**30)
    assert parse_memory_gib(str(2**30)) == 1
    assert parse_cpu("1500m") == 1.5


def _fenced_namespace(policy_spec: dict[str, Any]) -> list[PlannedResource]:
    labels = {"dcops.gov.cn/department": "fgw"}
    return [
        _resource(NAMESPACE_KIND, "fgw-ns", {"metadata": {"name": "fgw", "labels": labels}}),
        _resource(QUOTA_KIND, "fgw-q", {"metadata": {"namespace": "fgw"}}),
        _resource("kubernetes:core/v1:LimitRange", "fgw-l", {"metadata": {"namespace": "fgw"}}),
        _resource(
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "fgw-deny",
            {"metadata": {"namespace": "fgw"}, "spec": policy_spec},
        ),
    ]


def test_a_default_deny_selects_every_pod_and_denies_ingress(repo_site: Site) -> None:
    deny = {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert _verdicts(repo_site, _fenced_namespace(deny))["namespace-fenced"].passed
    assert _verdicts(repo_site, _fenced_namespace({"policyTypes": ["Ingress"]}))[
        "namespace-fenced"
    ].passed


@pytest.mark.parametrize(
    "spec",
    [
        {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]},
        {
            "podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
            "policyTypes": ["Ingress"],
        },
        {"podSelector": {}, "policyTypes": ["Egress"]},
    ],
)
def test_a_policy_for_some_pods_or_only_egress_is_no_default_deny(
    repo_site: Site, spec: dict[str, Any]
) -> None:
    (violation,) = _verdicts(repo_site, _fenced_namespace(spec))["namespace-fenced"].violations
    assert violation.message.endswith("lacks default-deny NetworkPolicy")


def test_kubernetes_limits_are_capped_like_requests(repo_site: Site) -> None:
    quota = _resource(
        QUOTA_KIND,
        "fgw-production-k8s-quota",
        {"spec": {"hard": {"limits.cpu": "33", "limits.memory": "129Gi", "requests.cpu": "1"}}},
    )
    messages = [v.message for v in _verdicts(repo_site, [quota])["quotas-within-tier"].violations]
    assert any("cpu=33 > 32" in m for m in messages)
    assert any("memory=129Gi > 128Gi" in m for m in messages)
