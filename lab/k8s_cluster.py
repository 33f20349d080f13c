"""`lab k8s up|down|status`: a real Kubernetes control plane on 127.0.0.1 for tenancy work.

etcd, kube-apiserver and kube-controller-manager run detached with everything they need in
`<state>/lab-k8s/` (keys and kubeconfigs 0600). Up is idempotent, down removes processes and
files (also after a crash), status asks the API server's `/readyz`."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dcops.core.clusters import LAB_FOLDER, lab_kubeconfig
from dcops.core.errors import InputError, OperationFailed
from dcops.core.site import Site
from dcops.lab import k8s_access, k8s_pki, k8s_processes
from dcops.lab.k8s_access import Identity
from dcops.lab.k8s_processes import Ports

DEFAULT_PORT = 6443
PORT_VARIABLE = "DCOPS_LAB_K8S_PORT"
READY_TIMEOUT = 120.0
PROGRAMS = ("etcd", "kube-apiserver", "kube-controller-manager")


@dataclass
class UpReport:
    """What `lab k8s up` did, with how long each part took to become ready."""

    server: str
    already_up: bool = False
    cleaned: list[str] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    kubeconfigs: dict[str, str] = field(default_factory=dict)


@dataclass
class ProcessStatus:
    """One control-plane process as it is now."""

    name: str
    pid: int
    rss_bytes: int


@dataclass
class ClusterStatus:
    """The lab cluster as it is now: its processes and the API server's readiness."""

    server: str
    ready: bool
    readyz: str
    processes: list[ProcessStatus]
    kubeconfigs: dict[str, str]


def cluster_dir(site: Site) -> Path:
    """The lab cluster's folder in the state dir."""
    return site.paths.state / LAB_FOLDER


def ports_of(site: Site) -> Ports:
    """The ports in use or to use: $DCOPS_LAB_K8S_PORT, else those of the running cluster, else 6443."""
    wanted = os.environ.get(PORT_VARIABLE, "")
    if wanted:
        if not wanted.isdigit() or not 1024 <= int(wanted) <= 55000:
            raise InputError(
                f"环境变量 {PORT_VARIABLE}={wanted!r} 无效 / {PORT_VARIABLE}={wanted!r} is not "
                "a port; allowed: 1024-55000 (etcd takes that port +10000 and +10001)"
            )
        return Ports.from_apiserver(int(wanted))
    recorded = _read_state(cluster_dir(site)).get("apiserver_port")
    return Ports.from_apiserver(recorded if isinstance(recorded, int) else DEFAULT_PORT)


def up(site: Site) -> UpReport:
    """Start the cluster, or leave an intact one as it is (refreshing department kubeconfigs)."""
    folder = cluster_dir(site)
    ports = ports_of(site)
    for name in PROGRAMS:
        k8s_processes.binary(name)  # refuse before anything is written
    server = f"https://127.0.0.1:{ports.apiserver}"
    report = UpReport(server)
    started = time.monotonic()
    departments = [d.code for d in site.config.departments]
    token_file = folder / "tokens.csv"
    before = token_file.read_bytes() if token_file.exists() else b""
    if _intact(folder, ports) and _identities_cover(token_file, departments):
        report.already_up = True
        identities = k8s_access.read_identities(token_file)
        report.kubeconfigs = _write_kubeconfigs(site, server, identities, departments)
        return report
    leftovers = k8s_processes.running(folder)
    if leftovers:
        k8s_processes.stop(list(leftovers))
        report.cleaned = [f"process {pid} ({name})" for pid, name in sorted(leftovers.items())]
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _refuse_taken_ports(ports)
    k8s_pki.ensure_pki(folder / "pki")
    identities = k8s_access.ensure_identities(token_file, departments)
    if before and before != token_file.read_bytes():
        report.cleaned.append("tokens renewed for new departments")
    ca = (folder / "pki" / "ca.crt").read_bytes()
    manager = identities[k8s_access.CONTROLLER_MANAGER_USER]
    k8s_access.write_kubeconfig(
        folder / "controller-manager.kubeconfig", k8s_access.kubeconfig(server, ca, manager)
    )
    ops = identities[k8s_access.OPS_USER]
    pids: dict[str, int] = {}
    try:
        pids["etcd"] = k8s_processes.start(
            folder, "etcd", k8s_processes.etcd_command(folder, ports)
        )
        _wait(
            lambda: _etcd_healthy(ports), folder, "etcd", pids["etcd"], f"etcd :{ports.etcd_client}"
        )
        report.phases["etcd"] = time.monotonic() - started
        pids["kube-apiserver"] = k8s_processes.start(
            folder, "kube-apiserver", k8s_processes.apiserver_command(folder, ports)
        )
        _wait(
            lambda: readyz(server, ca, ops.token)[0],
            folder,
            "kube-apiserver",
            pids["kube-apiserver"],
            f"{server}/readyz",
        )
        report.phases["kube-apiserver"] = time.monotonic() - started
        pids["kube-controller-manager"] = k8s_processes.start(
            folder, "kube-controller-manager", k8s_processes.controller_manager_command(folder)
        )
        _wait(
            lambda: _default_service_account(server, ca, ops.token),
            folder,
            "kube-controller-manager",
            pids["kube-controller-manager"],
            "the default ServiceAccount (made by the controller manager)",
        )
        report.phases["kube-controller-manager"] = time.monotonic() - started
    except BaseException:
        k8s_processes.stop(list(k8s_processes.running(folder)))
        raise
    _write_state(folder, {"apiserver_port": ports.apiserver, "pids": pids})
    report.kubeconfigs = _write_kubeconfigs(site, server, identities, departments)
    report.seconds = time.monotonic() - started
    return report


def down(site: Site) -> list[str]:
    """Stop the cluster's processes (found by their command lines) and remove its folder."""
    folder = cluster_dir(site)
    found = k8s_processes.running(folder)
    k8s_processes.stop(list(found))
    removed = [f"process {pid} ({name})" for pid, name in sorted(found.items())]
    if folder.exists():
        shutil.rmtree(folder)
        removed.append(f"folder {site.paths.relative(folder)}")
    return removed


def status(site: Site) -> ClusterStatus:
    """The cluster's processes with their memory, and what `/readyz` answers."""
    folder = cluster_dir(site)
    ports = ports_of(site)
    server = f"https://127.0.0.1:{ports.apiserver}"
    processes = [
        ProcessStatus(name, pid, k8s_processes.resident_bytes(pid))
        for pid, name in sorted(k8s_processes.running(folder).items())
    ]
    ops = k8s_access.read_identities(folder / "tokens.csv").get(k8s_access.OPS_USER)
    ca_file = folder / "pki" / "ca.crt"
    if ops is None or not ca_file.exists():
        ready, text = False, "not set up (run dcops lab k8s up)"
    else:
        ready, text = readyz(server, ca_file.read_bytes(), ops.token)
    kubeconfigs = {
        p.stem: site.paths.relative(p) for p in sorted((folder / "kubeconfig").glob("*.yaml"))
    }
    return ClusterStatus(server, ready, text, processes, kubeconfigs)


def readyz(server: str, ca_pem: bytes, token: str) -> tuple[bool, str]:
    """Ask the API server's /readyz: (ready, its answer or why there was none)."""
    code, body = _get(server, "/readyz", ca_pem, token)
    return code == 200, body.strip() if code else body


def status_dict(report: ClusterStatus | UpReport) -> dict[str, object]:
    """A report as plain data for `--output json`."""
    return asdict(report)


def _get(server: str, path: str, ca_pem: bytes, token: str) -> tuple[int, str]:
    context = ssl.create_default_context(cadata=ca_pem.decode())
    request = urllib.request.Request(server + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as answer:
            return answer.status, answer.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "reason", error)
        return 0, f"no answer from {server}: {reason}"


def _default_service_account(server: str, ca_pem: bytes, token: str) -> bool:
    code, _ = _get(server, "/api/v1/namespaces/default/serviceaccounts/default", ca_pem, token)
    return code == 200


def _etcd_healthy(ports: Ports) -> bool:
    try:
        url = f"http://127.0.0.1:{ports.etcd_client}/health"
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(json.loads(answer.read()).get("health") == "true")
    except (OSError, ValueError):
        return False


def _wait(check: Callable[[], bool], folder: Path, name: str, pid: int, what: str) -> None:
    """Wait until check() is true; fail naming the log when the process dies or time runs out."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if check():
            return
        if not k8s_processes.alive(pid):
            raise OperationFailed(
                f"实验集群 {name} 启动失败 / {name} exited while starting: "
                f"{_log_tail(folder, name)}"
            )
        time.sleep(0.2)
    raise OperationFailed(
        f"实验集群 {name} 未就绪 / {name} not ready within {READY_TIMEOUT:.0f} s "
        f"(waited for {what}): {_log_tail(folder, name)}"
    )


def _log_tail(folder: Path, name: str) -> str:
    log = folder / "logs" / f"{name}.log"
    lines = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
    return " / ".join(lines) or f"no output (log {log})"


def _refuse_taken_ports(ports: Ports) -> None:
    for port in (ports.apiserver, ports.etcd_client, ports.etcd_peer):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise OperationFailed(
                    f"端口 127.0.0.1:{port} 已被占用 / port {port} on 127.0.0.1 is taken by "
                    f"another program; choose another API server port with {PORT_VARIABLE} "
                    "(etcd takes it +10000 and +10001)"
                ) from None


def _intact(folder: Path, ports: Ports) -> bool:
    """All three programs running from this folder, on these ports, and /readyz ok."""
    names = set(k8s_processes.running(folder).values())
    if names != set(PROGRAMS):
        return False
    if _read_state(folder).get("apiserver_port") != ports.apiserver:
        return False
    ops = k8s_access.read_identities(folder / "tokens.csv").get(k8s_access.OPS_USER)
    ca = folder / "pki" / "ca.crt"
    server = f"https://127.0.0.1:{ports.apiserver}"
    return ops is not None and ca.exists() and readyz(server, ca.read_bytes(), ops.token)[0]


def _identities_cover(token_file: Path, departments: list[str]) -> bool:
    known = k8s_access.read_identities(token_file)
    users = [k8s_access.department_user(c) for c in departments]
    return all(u in known for u in users) and k8s_access.OPS_USER in known


def _write_kubeconfigs(
    site: Site, server: str, identities: dict[str, Identity], departments: list[str]
) -> dict[str, str]:
    ca = (cluster_dir(site) / "pki" / "ca.crt").read_bytes()
    written: dict[str, str] = {}
    wanted = {"ops", *departments}
    for stale in lab_kubeconfig(site).parent.glob("*.yaml"):
        if stale.stem not in wanted:
            stale.unlink()
    for who, user in [
        ("ops", k8s_access.OPS_USER),
        *[(c, k8s_access.department_user(c)) for c in departments],
    ]:
        path = lab_kubeconfig(site, who)
        k8s_access.write_kubeconfig(path, k8s_access.kubeconfig(server, ca, identities[user]))
        written[who] = site.paths.relative(path)
    return written


def _read_state(folder: Path) -> dict[str, object]:
    try:
        data = json.loads((folder / "cluster.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_state(folder: Path, data: dict[str, object]) -> None:
    k8s_pki.write_private(folder / "cluster.json", json.dumps(data, indent=2).encode())
