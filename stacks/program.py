"""The Pulumi programs: one tenancy stack and the platform stack, with explicit providers."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import pulumi
import pulumi_kubernetes as k8s
import pulumi_openstack as openstack

from dcops.core.clusters import kubernetes_target
from dcops.core.site import Site
from dcops.stacks.components import Component
from dcops.stacks.components.kubernetes_tenancy import KubernetesTenancy, KubernetesTenancyArgs
from dcops.stacks.components.openstack_tenancy import OpenStackTenancy, OpenStackTenancyArgs
from dcops.stacks.components.platform import Platform, PlatformArgs
from dcops.stacks.spec import TenancySpec

SECRET_NAMESPACE = "dcops"
PARTS = ("openstack", "kubernetes")

SecretSource = Callable[[str], pulumi.Output[str]]


@dataclass(frozen=True)
class Clouds:
    """Where the providers point (a clouds.yaml entry, a kubeconfig and context) and which parts
    of a tenancy its stack holds (both by default; `provision --only kubernetes` for one).

    `login` is the clouds.yaml entry's user as provider arguments (stacks/cloud_login.py), for
    the provider scoped to a tenancy's new project; empty in offline plans, which then give
    that provider the entry's name (mocks never log in)."""

    openstack_cloud: str = "gdc"
    kube_context: str = ""
    kubeconfig: str = ""
    parts: tuple[str, ...] = PARTS
    login: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_environment(cls) -> Clouds:
        """$OS_CLOUD (the clouds.yaml entry) and $DCOPS_KUBE_CONTEXT, else the defaults."""
        return cls(
            openstack_cloud=os.environ.get("OS_CLOUD") or cls.openstack_cloud,
            kube_context=os.environ.get("DCOPS_KUBE_CONTEXT", ""),
        )

    @classmethod
    def for_site(cls, site: Site, parts: tuple[str, ...] = PARTS) -> Clouds:
        """The environment's clouds with the site's Kubernetes cluster (dcops.toml, else the lab's)."""
        base = cls.from_environment()
        target = kubernetes_target(site)
        context = target.context or base.kube_context
        return replace(base, kubeconfig=str(target.kubeconfig), kube_context=context, parts=parts)


class TenancyStack(Component):
    """The root of a tenancy stack; everything of the tenancy is parented here."""

    def __init__(self, spec: TenancySpec, clouds: Clouds, secret: SecretSource) -> None:
        super().__init__("dcops:stack:Tenancy", spec.name, None)
        outputs: dict[str, object] = {}
        if "openstack" in clouds.parts:
            outputs |= self._openstack(spec, clouds, secret).outputs
        if spec.kubernetes is not None and "kubernetes" in clouds.parts:
            cluster = k8s.Provider(
                f"{spec.name}-kubernetes",
                kubeconfig=clouds.kubeconfig or None,
                context=clouds.kube_context or None,
                opts=self.child_opts,
            )
            KubernetesTenancy(
                f"{spec.name}-k8s",
                KubernetesTenancyArgs(spec.kubernetes, spec.department, spec.name),
                pulumi.ResourceOptions(parent=self, providers={"kubernetes": cluster}),
            )
            outputs["kubernetes"] = {"namespace": spec.kubernetes.namespace}
        self.register_outputs({})
        for key, value in outputs.items():
            pulumi.export(key, value)

    def _openstack(
        self, spec: TenancySpec, clouds: Clouds, secret: SecretSource
    ) -> OpenStackTenancy:
        admin = openstack.Provider(
            f"{spec.name}-openstack", cloud=clouds.openstack_cloud, opts=self.child_opts
        )
        external = openstack.networking.get_network_output(
            name=spec.external_network,
            external=True,
            opts=pulumi.InvokeOutputOptions(parent=self, provider=admin),
        )
        return OpenStackTenancy(
            spec.name,
            OpenStackTenancyArgs(
                spec=spec,
                admin=admin,
                cloud=clouds.openstack_cloud,
                login=clouds.login,
                external_network_id=external.id,
                psks={vpn.name: secret(vpn.psk_secret) for vpn in spec.vpns},
            ),
            self.child_opts,
        )


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
