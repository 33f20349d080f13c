"""The platform stack: what every tenancy shares — the external network and the flavor catalogue."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from dcops.stacks.components import Component


@dataclass(frozen=True)
class FlavorSpec:
    """A flavor of the site's catalogue."""

    name: str
    vcpus: int
    ram_gb: int
    disk_gb: int


@dataclass(frozen=True)
class PlatformArgs:
    """Inputs of Platform: the external network's name and the flavor catalogue."""

    external_network: str
    flavors: tuple[FlavorSpec, ...]
    images: tuple[str, ...]


class Platform(Component):
    """Looks up the external network and keeps the public flavors in line with the site."""

    external_network_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dcops:platform:Platform", name, opts)
        network = openstack.networking.get_network_output(
            name=args.external_network, external=True, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.external_network_id = network.id
        for flavor in args.flavors:
            openstack.compute.Flavor(
                f"{name}-flavor-{flavor.name}",
                name=flavor.name,
                vcpus=flavor.vcpus,
                ram=flavor.ram_gb * 1024,
                disk=flavor.disk_gb,
                is_public=True,
                opts=self.child_opts,
            )
        self.register_outputs(
            {"external_network_id": self.external_network_id, "images": list(args.images)}
        )
