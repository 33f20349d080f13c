"""`dcops lab k8s`: a real etcd, kube-apiserver and controller manager on loopback.

Needs kube-apiserver and kube-controller-manager (scripts/install-k8s.sh) and etcd (etcd-server);
skips, saying which is missing, on a machine without them."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunDcops

pytestmark = [pytest.mark.integration, pytest.mark.live, pytest.mark.k8s]


def missing_programs() -> list[str]:
    """The control-plane programs this machine lacks."""
    from dcops.core.errors import MissingDependency
    from dcops.lab import k8s_processes

    missing = []
    for name in ("etcd", "kube-apiserver", "kube-controller-manager"):
        try:
            k8s_processes.binary(name)
        except MissingDependency:
            missing.append(name)
    return missing


def free_base_port() -> int:
    """A port P such that P, P+10000 and P+10001 are free on 127.0.0.1."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if not 20000 <= port <= 45000:
            continue
        try:
            for p in (port, port + 10000, port + 10001):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port
    raise AssertionError("no free port triple on 127.0.0.1")


@pytest.fixture(scope="module")
def lab_port() -> int:
    missing = missing_programs()
    if missing:
        pytest.skip(
            f"LIVE TEST SKIPPED: the lab cluster needs {', '.join(missing)} "
            "(scripts/install-k8s.sh builds kube-*, apt-get install etcd-server gives etcd)"
        )
    return free_base_port()


@pytest.fixture
def cluster(
    dcops: RunDcops, site_dir: Path, lab_port: int
) -> Iterator[tuple[RunDcops, dict[str, str]]]:
    env = {"DCOPS_LAB_K8S_PORT": str(lab_port)}
    done = dcops("lab", "k8s", "up", env=env, timeout=300)
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        yield dcops, env
    finally:
        down = dcops("lab", "k8s", "down", "--yes", env=env, timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr


def client(kubeconfig: Path):  # type: ignore[no-untyped-def]
    from kubernetes import client as k8s
    from kubernetes import config

    return k8s.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))


def test_up_status_access_and_down(
    cluster: tuple[RunDcops, dict[str, str]], site_dir: Path
) -> None:
    from kubernetes.client.exceptions import ApiException

    dcops, env = cluster
    folder = site_dir / ".dcops" / "lab-k8s"
    status = dcops("lab", "k8s", "status", env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "ready: ok" in status.stdout
    for program in ("etcd", "kube-apiserver", "kube-controller-manager"):
        assert program in status.stdout
    report = json.loads(dcops("-o", "json", "lab", "k8s", "status", env=env).stdout)
    assert report["ready"] and len(report["processes"]) == 3
    assert all(p["rss_bytes"] > 0 for p in report["processes"])

    private = [
        folder / "tokens.csv",
        *(folder / "pki").glob("*"),
        *(folder / "kubeconfig").glob("*"),
    ]
    assert {p.name for p in (folder / "kubeconfig").glob("*")} >= {
        "ops.yaml",
        "fgw.yaml",
        "wjw.yaml",
    }
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in private), private

    ops = client(folder / "kubeconfig" / "ops.yaml")
    names = {ns.metadata.name for ns in ops.list_namespace().items}
    assert {"default", "kube-system"} <= names
    fgw = client(folder / "kubeconfig" / "fgw.yaml")
    with pytest.raises(ApiException) as refused:
        fgw.list_namespace()
    assert refused.value.status == 403
    with pytest.raises(ApiException) as refused:
        fgw.list_namespaced_pod("default")
    assert refused.value.status == 403

    again = dcops("lab", "k8s", "up", env=env, timeout=300)
    assert again.returncode == 0 and "already up" in again.stdout, again.stdout + again.stderr


def test_up_after_a_crash_restarts_and_down_leaves_nothing(
    cluster: tuple[RunDcops, dict[str, str]], site_dir: Path
) -> None:
    from dcops.lab import k8s_processes

    dcops, env = cluster
    folder = site_dir / ".dcops" / "lab-k8s"
    processes = k8s_processes.running(folder)
    apiserver = next(pid for pid, name in processes.items() if name == "kube-apiserver")
    os.kill(apiserver, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while k8s_processes.alive(apiserver) and time.monotonic() < deadline:
        time.sleep(0.1)
    down = dcops("lab", "k8s", "status", env=env)
    assert down.returncode == 1 and "NOT ready" in down.stdout, down.stdout
    up = dcops("lab", "k8s", "up", env=env, timeout=300)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "cleared leftovers" in up.stdout and "up at" in up.stdout
    assert dcops("lab", "k8s", "status", env=env).returncode == 0

    gone = dcops("lab", "k8s", "down", "--yes", env=env, timeout=120)
    assert gone.returncode == 0 and "removed" in gone.stdout
    assert k8s_processes.running(folder) == {}
    assert not folder.exists()
    after = dcops("lab", "k8s", "status", env=env)
    assert after.returncode == 1 and "NOT ready" in after.stdout
