"""The lab cluster's three processes: etcd, kube-apiserver, kube-controller-manager on 127.0.0.1.

Each is started detached in its own session with its log in the cluster folder; every command
line names that folder, so the processes of a cluster are found (and stopped) by scanning /proc,
also after a crash that lost the pid files."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dcops.core.errors import MissingDependency
from dcops.core.requirements import find_program

CONTROLLERS = (
    "namespace",
    "resourcequota",
    "garbagecollector",
    "serviceaccount",
    "serviceaccount-token",
    "clusterrole-aggregation",
)
SERVICE_RANGE = "10.96.0.0/16"
PACKAGES = {
    "etcd": "apt-get install -y etcd-server",
    "kube-apiserver": "scripts/install-k8s.sh (builds it from the Go module proxy)",
    "kube-controller-manager": "scripts/install-k8s.sh (builds it from the Go module proxy)",
}


@dataclass(frozen=True)
class Ports:
    """The cluster's TCP ports on 127.0.0.1."""

    apiserver: int
    etcd_client: int
    etcd_peer: int

    @classmethod
    def from_apiserver(cls, port: int) -> Ports:
        """etcd's ports follow the API server's: +10000 for clients, +10001 for peers."""
        return cls(port, port + 10000, port + 10001)


def binary(name: str) -> str:
    """A control-plane program: the venv's bin folder first, then PATH; else how to get it."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = find_program(name)
    if found is None:
        raise MissingDependency(
            f"实验集群缺少程序 {name} / the lab cluster needs {name!r}; install it with: "
            f"{PACKAGES[name]}"
        )
    return found


def etcd_command(folder: Path, ports: Ports) -> list[str]:
    """etcd with its data in the cluster folder, clients and peers on loopback only."""
    client = f"http://127.0.0.1:{ports.etcd_client}"
    peer = f"http://127.0.0.1:{ports.etcd_peer}"
    return [
        binary("etcd"),
        "--name=dcops-lab",
        f"--data-dir={folder / 'etcd'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=dcops-lab={peer}",
        "--initial-cluster-state=new",
        "--log-level=warn",
    ]


def apiserver_command(folder: Path, ports: Ports) -> list[str]:
    """kube-apiserver: TLS with the lab CA, static tokens, RBAC only, no anonymous access."""
    pki = folder / "pki"
    return [
        binary("kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={ports.apiserver}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--token-auth-file={folder / 'tokens.csv'}",
        "--authorization-mode=RBAC",
        "--anonymous-auth=false",
        f"--service-cluster-ip-range={SERVICE_RANGE}",
        "--endpoint-reconciler-type=none",
        "--service-account-issuer=https://kubernetes.default.svc",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        "--api-audiences=https://kubernetes.default.svc",
        "--profiling=false",
    ]


def controller_manager_command(folder: Path) -> list[str]:
    """kube-controller-manager with the controllers that make tenancies real (quota, namespaces)."""
    pki = folder / "pki"
    return [
        binary("kube-controller-manager"),
        f"--kubeconfig={folder / 'controller-manager.kubeconfig'}",
        f"--service-account-private-key-file={pki / 'sa.key'}",
        f"--root-ca-file={pki / 'ca.crt'}",
        "--use-service-account-credentials=true",
        "--secure-port=0",
        "--leader-elect=false",
        f"--controllers={','.join(CONTROLLERS)}",
    ]


def start(folder: Path, name: str, command: list[str]) -> int:
    """Start a process detached (own session), its output in logs/<name>.log; its pid."""
    logs = folder / "logs"
    logs.mkdir(mode=0o700, exist_ok=True)
    with open(logs / f"{name}.log", "ab") as log:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=folder,
        )
    return child.pid


def running(folder: Path) -> dict[int, str]:
    """The processes (pid → program name) whose command line names this cluster's folder."""
    marker = f"{folder}/".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(marker in arg for arg in argv[1:]):
            found[int(entry.name)] = Path(argv[0].decode(errors="replace")).name
    found.pop(os.getpid(), None)
    return found


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def stop(pids: list[int], grace: float = 10.0) -> None:
    """TERM each process, wait up to grace seconds, then KILL what is left."""
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        _reap(pids)
        time.sleep(0.1)
    for pid in pids:
        if alive(pid):
            _signal(pid, signal.SIGKILL)
    _reap(pids)


def resident_bytes(pid: int) -> int:
    """A process's resident memory (VmRSS) in bytes, 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _reap(pids: list[int]) -> None:
    """Collect children of this process that have exited (no-op for others)."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
