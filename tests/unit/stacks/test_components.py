"""The components under Pulumi's mocks: what a tenancy stack registers, and how it is wired."""

from __future__ import annotations

from dcops.stacks.evaluation import PlannedResource
from dcops.stacks.spec import TenancySpec
from tests.unit.stacks.conftest import of_type

SG = "openstack:networking/secGroup:SecGroup"
RULE = "openstack:networking/secGroupRule:SecGroupRule"
INSTANCE = "openstack:compute/instance:Instance"


def test_every_component_uses_the_dcops_type_tokens(
    sample_resources: list[PlannedResource],
) -> None:
    components = {r.type for r in sample_resources if not r.custom}
    assert components == {
        "dcops:stack:Tenancy",
        "dcops:openstack:Tenancy",
        "dcops:openstack:Quotas",
        "dcops:openstack:Network",
        "dcops:openstack:SecurityGroups",
        "dcops:openstack:Servers",
        "dcops:openstack:LoadBalancer",
        "dcops:openstack:Vpn",
        "dcops:kubernetes:Tenancy",
    }


def test_every_resource_is_parented_and_uses_an_explicit_provider(
    sample_resources: list[PlannedResource],
) -> None:
    urns = {r.urn for r in sample_resources}
    orphans = [
        r.name for r in sample_resources if r.type != "dcops:stack:Tenancy" and r.parent not in urns
    ]
    assert orphans == []
    custom = [
        r for r in sample_resources if r.custom and not r.type.startswith("pulumi:providers:")
    ]
    default = [
        r.name for r in custom if "pulumi:providers:" not in r.provider or "::default" in r.provider
    ]
    assert default == [], "resources on a default provider"
    scoped = {r.provider.split("::")[-2] for r in custom if r.type.startswith("openstack:vpnaas")}
    assert scoped == {"fgw-production-project"}, "tenant resources use the project-scoped provider"


def test_security_groups_drop_default_rules_and_allow_only_declared_ingress(
    sample_resources: list[PlannedResource],
) -> None:
    groups = of_type(sample_resources, SG)
    assert [g.inputs["name"] for g in groups] == ["fgw-production-sg-db", "fgw-production-sg-web"]
    assert all(g.inputs["deleteDefaultRules"] is True for g in groups)
    ingress = [
        r.inputs for r in of_type(sample_resources, RULE) if r.inputs["direction"] == "ingress"
    ]
    assert sorted((r["portRangeMin"], r.get("remoteIpPrefix", "group")) for r in ingress) == [
        (22, "10.10.0.0/16"),
        (443, "0.0.0.0/0"),
        (5432, "group"),
    ]
    assert all(r["description"] for r in ingress)
    web_group_id = next(g.id for g in groups if g.name.endswith("-web"))
    db_rule = next(r for r in ingress if r["portRangeMin"] == 5432)
    assert db_rule["remoteGroupId"] == web_group_id


def test_security_groups_and_rules_are_made_one_at_a_time(
    sample_resources: list[PlannedResource],
) -> None:
    # Neutron counts a group or rule just made twice while another create of its kind runs:
    # concurrent creates under the exact quota were refused with OverQuota (seen in CI).
    made = of_type(sample_resources, SG) + of_type(sample_resources, RULE)
    before = {r.name: {urn.rsplit("::", 1)[-1] for urn in r.dependencies} for r in made}

    def ancestors(name: str) -> set[str]:
        found: set[str] = set()
        todo = [name]
        while todo:
            for dep in before.get(todo.pop(), set()) - found:
                found.add(dep)
                todo.append(dep)
        return found

    side_by_side = [
        (a.name, b.name)
        for i, a in enumerate(made)
        for b in made[i + 1 :]
        if a.name not in ancestors(b.name) and b.name not in ancestors(a.name)
    ]
    assert side_by_side == []
    assert len(made) == 7


def test_servers_are_spread_with_volumes_and_user_data(
    sample_resources: list[PlannedResource], sample_spec: TenancySpec
) -> None:
    servers = of_type(sample_resources, INSTANCE)
    assert [s.name for s in servers] == [
        "fgw-production-vm-db-1",
        "fgw-production-vm-web-1",
        "fgw-production-vm-web-2",
    ]
    groups = {
        g.id: g for g in of_type(sample_resources, "openstack:compute/serverGroup:ServerGroup")
    }
    for server in servers:
        hint = server.inputs["schedulerHints"][0]["group"]
        assert groups[hint].inputs["policies"] == "anti-affinity"
        assert server.inputs["userData"].startswith("#cloud-config")
        assert server.inputs["keyPair"] == "fgw-production-vm-key"
        assert "department:fgw" in server.inputs["tags"]
    volumes = {
        v.name: v.inputs["size"]
        for v in of_type(sample_resources, "openstack:blockstorage/volume:Volume")
    }
    assert volumes == {
        "fgw-production-vm-db-1-data": 500,
        "fgw-production-vm-web-1-data": 100,
        "fgw-production-vm-web-2-data": 100,
    }
    subnet = sample_spec.networks[0].cidr
    import ipaddress

    assert all(
        ipaddress.ip_address(s.outputs["accessIpV4"]) in ipaddress.ip_network(subnet)
        for s in servers
    )


def test_members_of_an_anti_affinity_group_are_booted_one_after_another(
    sample_resources: list[PlannedResource],
) -> None:
    after = {
        s.name: {urn.rsplit("::", 1)[-1] for urn in s.dependencies}
        for s in of_type(sample_resources, INSTANCE)
    }
    assert "fgw-production-vm-web-1" in after["fgw-production-vm-web-2"], (
        "web-2 must wait for web-1 (Nova checks anti-affinity late)"
    )
    assert "fgw-production-vm-web-2" not in after["fgw-production-vm-web-1"]
    assert not after["fgw-production-vm-db-1"] & {
        "fgw-production-vm-web-1",
        "fgw-production-vm-web-2",
    }, "the services boot side by side"


def test_load_balancer_members_are_the_web_servers(sample_resources: list[PlannedResource]) -> None:
    web = {
        s.outputs["accessIpV4"] for s in of_type(sample_resources, INSTANCE) if "-web-" in s.name
    }
    members = of_type(sample_resources, "openstack:loadbalancer/member:Member")
    assert {m.inputs["address"] for m in members} == web
    assert all(m.inputs["protocolPort"] == 443 for m in members)
    (monitor,) = of_type(sample_resources, "openstack:loadbalancer/monitor:Monitor")
    assert (monitor.inputs["type"], monitor.inputs["delay"]) == ("TCP", 5)
    (lb,) = of_type(sample_resources, "openstack:loadbalancer/loadBalancer:LoadBalancer")
    assert lb.outputs["vipAddress"] not in web


def test_vpn_uses_strong_crypto_and_keeps_the_psk_secret(
    sample_resources: list[PlannedResource],
) -> None:
    for kind in (
        "openstack:vpnaas/ikePolicy:IkePolicy",
        "openstack:vpnaas/ipSecPolicy:IpSecPolicy",
    ):
        (policy,) = of_type(sample_resources, kind)
        assert (
            policy.inputs["encryptionAlgorithm"],
            policy.inputs["authAlgorithm"],
            policy.inputs["pfs"],
        ) == (
            "aes-256",
            "sha256",
            "group14",
        )
    (connection,) = of_type(sample_resources, "openstack:vpnaas/siteConnection:SiteConnection")
    assert connection.secrets == ["psk"]
    assert connection.inputs["psk"] == "[secret]"
    assert connection.inputs["peerAddress"] == "203.0.113.10"
    groups = {
        g.name: g.inputs
        for g in of_type(sample_resources, "openstack:vpnaas/endpointGroup:EndpointGroup")
    }
    assert groups["fgw-production-vpn-hq-peer"]["endpoints"] == ["192.168.10.0/24"]
    assert groups["fgw-production-vpn-hq-local"]["type"] == "subnet"


def test_project_quotas_follow_the_request(sample_resources: list[PlannedResource]) -> None:
    (compute,) = of_type(sample_resources, "openstack:compute/quotaSetV2:QuotaSetV2")
    assert (compute.inputs["instances"], compute.inputs["cores"], compute.inputs["ram"]) == (
        3,
        8,
        24 * 1024,
    )
    (lb,) = of_type(sample_resources, "openstack:loadbalancer/quota:Quota")
    assert (lb.inputs["loadbalancer"], lb.inputs["member"]) == (1, 2)
    # Key pairs are counted per user across projects: the provisioning account holds one per
    # tenancy, so a bound would refuse every tenancy past it.
    assert compute.inputs["keyPairs"] == -1


def test_namespace_is_fenced(sample_resources: list[PlannedResource]) -> None:
    (quota,) = of_type(sample_resources, "kubernetes:core/v1:ResourceQuota")
    assert quota.inputs["spec"]["hard"]["limits.cpu"] == "16"
    assert quota.inputs["metadata"]["namespace"] == "fgw"
    policies = {
        p.inputs["metadata"]["name"]: p.inputs["spec"]
        for p in of_type(sample_resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }
    assert policies["default-deny"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in policies["default-deny"]
    # Its own pods: a pod selector alone (a namespace selector would need the namespace's name).
    assert policies["allow-same-namespace"]["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert policies["allow-dns"]["egress"][0]["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
    ]
    kinds = ("Namespace", "ResourceQuota", "LimitRange")
    for kind in kinds:
        (made,) = of_type(sample_resources, f"kubernetes:core/v1:{kind}")
        assert made.inputs["metadata"]["annotations"] == {"pulumi.com/patchForce": "true"}
    (binding,) = of_type(sample_resources, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    assert binding.inputs["subjects"][0]["name"] == "dept-fgw"


def test_the_provisioning_user_gets_the_admin_role_in_the_new_project(
    sample_resources: list[PlannedResource],
) -> None:
    """A provider scoped to the new project authenticates only once its user has a role there."""
    from dcops.stacks.mocks import stable_id

    [access] = of_type(sample_resources, "openstack:identity/roleAssignment:RoleAssignment")
    [project] = of_type(sample_resources, "openstack:identity/project:Project")
    assert access.inputs["projectId"] == project.id
    assert access.inputs["roleId"] == stable_id("role", "admin")
    assert access.inputs["userId"] == stable_id("user", "provisioner")
    assert access.provider.split("::")[-2] == "fgw-production-openstack", "on the admin provider"
