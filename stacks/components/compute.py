"""Servers: a keypair, and per service an anti-affinity server group, instances and volumes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from dcops.stacks.components import Component
from dcops.stacks.spec import ServerSpec

CLOUD_CONFIG = """#cloud-config
timezone: Asia/Shanghai
ntp:
  servers: [10.10.0.123]
write_files:
  - path: /etc/dcops-tenancy
    content: "{tenancy} {service}\\n"
"""


@dataclass(frozen=True)
class ComputeArgs:
    """Inputs of Servers."""

    tenancy: str
    department: str
    servers: tuple[ServerSpec, ...]
    network_ids: dict[str, pulumi.Input[str]]
    security_groups: dict[str, pulumi.Input[str]]
    public_key: str
    tags: list[str]
    depends_on: list[pulumi.Resource]


class Servers(Component):
    """Instances spread by anti-affinity, each with its data volume attached."""

    instances: dict[str, list[openstack.compute.Instance]]
    named: dict[str, openstack.compute.Instance]
    """Every server by its name in the cloud."""
    volumes: dict[str, openstack.blockstorage.Volume]
    """The data volume of each server that has one, by the server's name."""

    def __init__(
        self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dcops:openstack:Servers", name, opts)
        keypair = (
            openstack.compute.Keypair(
                f"{name}-key", name=f"{name}-key", public_key=args.public_key, opts=self.child_opts
            ).name
            if args.public_key
            else None
        )
        self.named, self.volumes = {}, {}
        self.instances = {
            spec.name: self._service(name, spec, args, keypair) for spec in args.servers
        }
        self.register_outputs({})

    def _service(
        self,
        name: str,
        spec: ServerSpec,
        args: ComputeArgs,
        keypair: pulumi.Output[str] | None,
    ) -> list[openstack.compute.Instance]:
        base = f"{name}-{spec.name}"
        group = openstack.compute.ServerGroup(
            f"{base}-group", name=f"{base}-group", policies="anti-affinity", opts=self.child_opts
        )
        user_data = spec.user_data or CLOUD_CONFIG.format(tenancy=args.tenancy, service=spec.name)
        instances: list[openstack.compute.Instance] = []
        for index in range(1, spec.count + 1):
            # One member at a time: Nova checks anti-affinity late, on the compute host, so
            # members booted together can land on one host, be rescheduled in step and run
            # out of attempts (ERROR); seen in the lab, where the hosts weigh the same.
            after = pulumi.ResourceOptions(
                parent=self, depends_on=[*args.depends_on, *instances[-1:]]
            )
            server = openstack.compute.Instance(
                f"{base}-{index}",
                name=f"{base}-{index}",
                flavor_name=spec.flavor,
                image_name=spec.image,
                key_pair=spec.keypair or keypair,
                security_groups=[args.security_groups[spec.name]],
                networks=[
                    openstack.compute.InstanceNetworkArgs(uuid=args.network_ids[spec.network])
                ],
                scheduler_hints=[openstack.compute.InstanceSchedulerHintArgs(group=group.id)],
                user_data=user_data,
                metadata={"department": args.department, "tenancy": args.tenancy},
                tags=args.tags,
                opts=after,
            )
            if spec.volume_gb:
                self.volumes[f"{base}-{index}"] = self._volume(
                    f"{base}-{index}", spec.volume_gb, server, args
                )
            instances.append(server)
            self.named[f"{base}-{index}"] = server
        return instances

    def _volume(
        self,
        base: str,
        size: int,
        server: openstack.compute.Instance,
        args: ComputeArgs,
    ) -> openstack.blockstorage.Volume:
        volume = openstack.blockstorage.Volume(
            f"{base}-data",
            name=f"{base}-data",
            size=size,
            metadata={"department": args.department, "tenancy": args.tenancy},
            opts=self.child_opts,
        )
        openstack.compute.VolumeAttach(
            f"{base}-data-attach", instance_id=server.id, volume_id=volume.id, opts=self.child_opts
        )
        return volume
