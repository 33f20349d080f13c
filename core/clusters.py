"""Which Kubernetes cluster a site provisions into: its `[clusters.kubernetes]`, else the lab's."""

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
