"""A Kubernetes tenancy: namespace, quota, default limits, default deny, allows and access."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from dcops.stacks.components import Component
from dcops.stacks.namespace_claims import tenancy_labels
from dcops.stacks.spec import KubernetesSpec, NetworkAllowSpec

# dcops owns every field it declares: an out-of-band edit is overwritten by the next provision
# instead of stopping it with a server-side apply conflict.
OWNED = {"pulumi.com/patchForce": "true"}
EDIT_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
EDIT_RESOURCES = [
    "pods",
    "pods/log",
    "services",
    "configmaps",
    "secrets",
    "persistentvolumeclaims",
    "deployments",
    "statefulsets",
    "jobs",
    "cronjobs",
    "ingresses",
]


@dataclass(frozen=True)
class KubernetesTenancyArgs:
    """Inputs of KubernetesTenancy."""

    spec: KubernetesSpec
    department: str
    tenancy: str


class KubernetesTenancy(Component):
    """Everything a department gets in the shared cluster, fenced by quota and policy."""

    def __init__(
        self, name: str, args: KubernetesTenancyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dcops:kubernetes:Tenancy", name, opts)
        spec = args.spec
        labels = tenancy_labels(args.department, args.tenancy)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=spec.namespace, labels=labels, annotations=OWNED
            ),
            opts=self.child_opts,
        )
        ns = namespace.metadata.name
        self._namespace, self._labels = ns, labels
        after = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=self._meta("tenancy-quota"),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(
                hard={
                    "requests.cpu": spec.cpu,
                    "limits.cpu": spec.cpu,
                    "requests.memory": spec.memory,
                    "limits.memory": spec.memory,
                    "pods": str(spec.pods),
                }
            ),
            opts=after,
        )
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=self._meta("tenancy-limits"),
            spec=k8s.core.v1.LimitRangeSpecArgs(
                limits=[
                    k8s.core.v1.LimitRangeItemArgs(
                        type="Container",
                        default={"cpu": spec.default_cpu, "memory": spec.default_memory},
                        default_request={"cpu": "100m", "memory": "128Mi"},
                    )
                ]
            ),
            opts=after,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=self._meta("default-deny"),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Ingress", "Egress"],
            ),
            opts=after,
        )
        for allow in spec.allows:
            self._allow(name, allow, after)
        self._access(name, spec, after)
        self.register_outputs({"namespace": ns})

    def _meta(self, name: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            name=name, namespace=self._namespace, labels=self._labels, annotations=OWNED
        )

    def _allow(self, name: str, allow: NetworkAllowSpec, opts: pulumi.ResourceOptions) -> None:
        peer = _peer(allow)
        ports = (
            [k8s.networking.v1.NetworkPolicyPortArgs(port=allow.port, protocol=allow.protocol)]
            if allow.port
            else None
        )
        rule_from = [k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[peer], ports=ports)]
        rule_to = [k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[peer], ports=ports)]
        egress = allow.direction == "Egress"
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-{allow.name}",
            metadata=self._meta(f"allow-{allow.name}"),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=[allow.direction],
                egress=rule_to if egress else None,
                ingress=None if egress else rule_from,
            ),
            opts=opts,
        )

    def _access(self, name: str, spec: KubernetesSpec, opts: pulumi.ResourceOptions) -> None:
        role = k8s.rbac.v1.Role(
            f"{name}-role",
            metadata=self._meta("tenancy-edit"),
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=["", "apps", "batch", "networking.k8s.io"],
                    resources=EDIT_RESOURCES,
                    verbs=EDIT_VERBS,
                )
            ],
            opts=opts,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-binding",
            metadata=self._meta("tenancy-edit"),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="Role", name=role.metadata.name
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(
                    kind="Group", name=spec.group, api_group="rbac.authorization.k8s.io"
                )
            ],
            opts=opts,
        )


def _peer(allow: NetworkAllowSpec) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    """Who an allow lets through: a CIDR, another namespace, else the tenancy's own pods."""
    if allow.cidr:
        return k8s.networking.v1.NetworkPolicyPeerArgs(
            ip_block=k8s.networking.v1.IPBlockArgs(cidr=allow.cidr)
        )
    if allow.namespace:
        return k8s.networking.v1.NetworkPolicyPeerArgs(
            namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                match_labels={"kubernetes.io/metadata.name": allow.namespace}
            )
        )
    # A pod selector alone selects pods of the policy's own namespace.
    return k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs())
