"""The Pulumi programs: one tenancy stack and the platform stack, with explicit providers."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_openstack as openstack

from dcops.stacks.components import Component
from dcops.stacks.components.kubernetes_tenancy import KubernetesTenancy, KubernetesTenancyArgs
from dcops.stacks.components.openstack_tenancy import OpenStackTenancy, OpenStackTenancyArgs
from dcops.stacks.components.platform import Platform, PlatformArgs
from dcops.stacks.spec import TenancySpec

PROJECT = "dcops"
SECRET_NAMESPACE = "dcops"

SecretSource = Callable[[str], pulumi.Output[str]]


@dataclass(frozen=True)
class Clouds:
    """Where the providers point: a clouds.yaml entry and a kubeconfig context."""

    openstack_cloud: str = "gdc"
    kube_context: str = ""

    @classmethod
    def from_environment(cls) -> Clouds:
        """$OS_CLOUD (the clouds.yaml entry) and $DCOPS_KUBE_CONTEXT, else the defaults."""
        return cls(
            openstack_cloud=os.environ.get("OS_CLOUD") or cls.openstack_cloud,
            kube_context=os.environ.get("DCOPS_KUBE_CONTEXT", ""),
        )


class TenancyStack(Component):
    """The root of a tenancy stack; everything of the tenancy is parented here."""

    def __init__(self, spec: TenancySpec, clouds: Clouds, secret: SecretSource) -> None:
        super().__init__("dcops:stack:Tenancy", spec.name, None)
        admin = openstack.Provider(
            f"{spec.name}-openstack", cloud=clouds.openstack_cloud, opts=self.child_opts
        )
        external = openstack.networking.get_network_output(
            name=spec.external_network,
            external=True,
            opts=pulumi.InvokeOutputOptions(parent=self, provider=admin),
        )
        OpenStackTenancy(
            spec.name,
            OpenStackTenancyArgs(
                spec=spec,
                admin=admin,
                cloud=clouds.openstack_cloud,
                external_network_id=external.id,
                psks={vpn.name: secret(vpn.psk_secret) for vpn in spec.vpns},
            ),
            self.child_opts,
        )
        if spec.kubernetes is not None:
            cluster = k8s.Provider(
                f"{spec.name}-kubernetes",
                context=clouds.kube_context or None,
                opts=self.child_opts,
            )
            KubernetesTenancy(
                f"{spec.name}-k8s",
                KubernetesTenancyArgs(spec.kubernetes, spec.department, spec.name),
                pulumi.ResourceOptions(parent=self, providers={"kubernetes": cluster}),
            )
        self.register_outputs({})


def config_secret(key: str) -> pulumi.Output[str]:
    """A secret from the stack's config (written by dcops into a 0600 stack file)."""
    return pulumi.Config(SECRET_NAMESPACE).require_secret(key)


def tenancy_program(spec: TenancySpec, clouds: Clouds) -> Callable[[], None]:
    """The inline program of one tenancy's stack."""

    def program() -> None:
        TenancyStack(spec, clouds, config_secret)

    return program


def platform_program(args: PlatformArgs, clouds: Clouds) -> Callable[[], None]:
    """The inline program of the platform stack."""

    def program() -> None:
        admin = openstack.Provider("platform-openstack", cloud=clouds.openstack_cloud)
        platform = Platform("platform", args, pulumi.ResourceOptions(providers=[admin]))
        pulumi.export("external_network_id", platform.external_network_id)

    return program
