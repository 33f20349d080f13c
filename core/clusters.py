"""Which clouds a site uses: `[clusters.kubernetes]` and `[clusters.openstack]`, else the labs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dcops.core.site import Site

LAB_FOLDER = "lab-k8s"


@dataclass(frozen=True)
class KubeTarget:
    """A kubeconfig file and the context in it (empty: its current one)."""

    kubeconfig: Path
    context: str
    lab: bool

    def describe(self) -> str:
        """The target as shown to people."""
        context = f", context {self.context}" if self.context else ""
        return f"{'lab cluster' if self.lab else 'cluster'} ({self.kubeconfig}{context})"


def lab_kubeconfig(site: Site, who: str = "ops") -> Path:
    """The lab cluster's kubeconfig of ops (cluster-admin) or of a department code."""
    return site.paths.state / LAB_FOLDER / "kubeconfig" / f"{who}.yaml"


def kubernetes_target(site: Site) -> KubeTarget:
    """The site's cluster from dcops.toml, else the lab cluster's ops kubeconfig."""
    entry = site.config.clusters.kubernetes
    if entry is None:
        return KubeTarget(lab_kubeconfig(site), "", lab=True)
    path = Path(entry.kubeconfig).expanduser()
    return KubeTarget(path if path.is_absolute() else site.paths.root / path, entry.context, False)


LAB_CLOUD_FOLDER = "lab-cloud"
LAB_CLOUD_ENTRY = "dcops-lab"
LAB_PLATFORM_PROJECTS = ("admin", "service")


@dataclass(frozen=True)
class OpenStackTarget:
    """A clouds.yaml file, the entry in it, and the cloud's own projects."""

    clouds_yaml: Path
    cloud: str
    platform_projects: tuple[str, ...]
    lab: bool
    department_roles: tuple[str, ...] = ("member",)
    """Keystone roles a department's group gets in each of its projects."""
    people_domain: str = "Default"
    """Keystone domain of the people's users and the departments' groups."""

    def describe(self) -> str:
        """The target as shown to people (never the credentials)."""
        return f"{'lab cloud' if self.lab else 'cloud'} ({self.clouds_yaml}, entry {self.cloud})"


def openstack_target(site: Site) -> OpenStackTarget:
    """The site's cloud from `[clusters.openstack]`, else the lab cloud's clouds.yaml."""
    entry = site.config.clusters.openstack
    if entry is None:
        path = site.paths.state / LAB_CLOUD_FOLDER / "clouds.yaml"
        return OpenStackTarget(path, LAB_CLOUD_ENTRY, LAB_PLATFORM_PROJECTS, lab=True)
    path = Path(entry.clouds_yaml).expanduser()
    return OpenStackTarget(
        path if path.is_absolute() else site.paths.root / path,
        entry.cloud,
        tuple(entry.platform_projects),
        lab=False,
        department_roles=tuple(entry.department_roles),
        people_domain=entry.people_domain,
    )
