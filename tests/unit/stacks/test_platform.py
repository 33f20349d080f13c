"""The platform stack: the flavor catalogue of dcops.toml and the external network lookup."""

from __future__ import annotations

from dcops.core.site import Site
from dcops.stacks.components.platform import FlavorSpec, PlatformArgs
from dcops.stacks.evaluation import evaluate
from dcops.stacks.mocks import CloudMocks
from dcops.stacks.program import Clouds, platform_program


def test_platform_keeps_the_catalogue_flavors_and_finds_the_external_network(
    repo_site: Site,
) -> None:
    catalogue = repo_site.config.catalogue
    args = PlatformArgs(
        external_network=catalogue.external_network,
        flavors=tuple(FlavorSpec(f.name, f.vcpus, f.ram_gb, f.disk_gb) for f in catalogue.flavors),
        images=tuple(i.name for i in catalogue.images),
    )
    evaluation = evaluate([platform_program(args, Clouds())], CloudMocks())
    flavors = {
        r.inputs["name"]: (r.inputs["vcpus"], r.inputs["ram"], r.inputs["disk"])
        for r in evaluation.resources
        if r.type == "openstack:compute/flavor:Flavor"
    }
    assert flavors["c2.m4"] == (2, 4096, 40)
    assert flavors["c4.m16"] == (4, 16384, 80)
    assert len(flavors) == len(catalogue.flavors)
    (component,) = [r for r in evaluation.resources if r.type == "dcops:platform:Platform"]
    assert all(
        r.parent == component.urn for r in evaluation.resources if r.type.endswith(":Flavor")
    )
    providers = {
        r.provider.split("::")[-2] for r in evaluation.resources if r.custom and r.provider
    }
    assert providers == {"platform-openstack"}
