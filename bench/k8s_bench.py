"""The lab Kubernetes cluster: start time and memory, one tenancy's Kubernetes part, and 50 at once.

Peers in the same run: the three control-plane processes started directly with the same command
lines (the floor of `dcops lab k8s up`), and each tenancy's objects (namespace, quota, limits,
network policies, role, binding) created directly with the kubernetes client, waiting as the
engine does for the quota to be enforced (the floor of `dcops provision --only kubernetes`).
The dcops side of provisioning needs the Pulumi engine and the Kubernetes plugin; without them
the table says so instead of a number. dcops provisions 50 tenancies WAVE at a time (each run is
dcops, the pulumi CLI and the plugin; the bench reports one run's peak memory). Run as
`.venv/bin/python bench/k8s_bench.py` (`--one` leaves out dcops' 50 tenancies, ~20 min).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.record import record
from tests.conftest import DCOPS, REPO, copy_site, dcops_env

RUNS = 3
TENANCIES = 50
# dcops provisions in flight at once: each is dcops' Python, the pulumi CLI and the Kubernetes
# plugin (the bench measures their peak); 50 at once would not fit a shared 24 GiB machine.
WAVE = 5
REQUEST = REPO / "inventory" / "requests" / "fgw-production.yml"
# How provisioning runs unattended: one engine run (an update), no preview before it.
ONE_UPDATE = ("--only", "kubernetes", "--yes", "--skip-preview")


def free_port() -> int:
    """An API server port whose etcd ports (+10000, +10001) are free too."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port > 45000:
            continue
        try:
            for p in (port, port + 10000, port + 10001):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port
    raise SystemExit("no free ports on 127.0.0.1")


def dcops(site: Path, env: dict[str, str], *args: str) -> tuple[float, str]:
    """Run dcops, fail loudly, return (wall seconds, stdout)."""
    started = time.monotonic()
    done = subprocess.run(
        [str(DCOPS), *args], cwd=site, env=env, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise SystemExit(f"dcops {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return time.monotonic() - started, done.stdout


def memory(site: Path, env: dict[str, str]) -> dict[str, float]:
    """MiB resident per control-plane process, from `dcops lab k8s status`."""
    _, out = dcops(site, env, "-o", "json", "lab", "k8s", "status")
    return {p["name"]: p["rss_bytes"] / 2**20 for p in json.loads(out)["processes"]}


def raw_start(site: Path) -> float:
    """Start the three processes directly (keys and tokens already made), until ready."""
    from dcops.core.loader import load_site
    from dcops.lab import k8s_access, k8s_cluster, k8s_processes

    loaded = load_site(site)
    folder = k8s_cluster.cluster_dir(loaded)
    ports = k8s_cluster.ports_of(loaded)
    ca = (folder / "pki" / "ca.crt").read_bytes()
    token = k8s_access.read_identities(folder / "tokens.csv")[k8s_access.OPS_USER].token
    server = f"https://127.0.0.1:{ports.apiserver}"
    started = time.monotonic()
    k8s_processes.start(folder, "etcd", k8s_processes.etcd_command(folder, ports))
    while not k8s_cluster._etcd_healthy(ports):
        time.sleep(0.05)
    k8s_processes.start(folder, "kube-apiserver", k8s_processes.apiserver_command(folder, ports))
    while not k8s_cluster.readyz(server, ca, token)[0]:
        time.sleep(0.05)
    k8s_processes.start(
        folder, "kube-controller-manager", k8s_processes.controller_manager_command(folder)
    )
    while not k8s_cluster._default_service_account(server, ca, token):
        time.sleep(0.05)
    return time.monotonic() - started


def tenancy_objects(spec: Any) -> list[tuple[str, dict[str, Any]]]:
    """The objects of one tenancy's Kubernetes part, as the component declares them."""
    from dcops.stacks.components.kubernetes_tenancy import EDIT_RESOURCES, EDIT_VERBS
    from dcops.stacks.namespace_claims import tenancy_labels

    k = spec.kubernetes
    labels = tenancy_labels(spec.department, spec.name)

    def meta(name: str) -> dict[str, Any]:
        return {"name": name, "namespace": k.namespace, "labels": labels}

    hard = {
        "requests.cpu": k.cpu,
        "limits.cpu": k.cpu,
        "requests.memory": k.memory,
        "limits.memory": k.memory,
        "pods": str(k.pods),
    }
    objects: list[tuple[str, dict[str, Any]]] = [
        ("namespace", {"metadata": {"name": k.namespace, "labels": labels}}),
        ("quota", {"metadata": meta("tenancy-quota"), "spec": {"hard": hard}}),
        (
            "limits",
            {
                "metadata": meta("tenancy-limits"),
                "spec": {
                    "limits": [
                        {
                            "type": "Container",
                            "default": {"cpu": k.default_cpu, "memory": k.default_memory},
                            "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                        }
                    ]
                },
            },
        ),
        (
            "policy",
            {
                "metadata": meta("default-deny"),
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            },
        ),
    ]
    for allow in k.allows:
        peer = (
            {"ipBlock": {"cidr": allow.cidr}}
            if allow.cidr
            else {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": allow.namespace or ""}
                }
            }
        )
        ports = [{"port": allow.port, "protocol": allow.protocol}] if allow.port else None
        rule: dict[str, Any] = {"ports": ports} if ports else {}
        spec_body: dict[str, Any] = {"podSelector": {}, "policyTypes": [allow.direction]}
        if allow.direction == "Egress":
            spec_body["egress"] = [{**rule, "to": [peer]}]
        else:
            spec_body["ingress"] = [{**rule, "from": [peer]}]
        objects.append(("policy", {"metadata": meta(f"allow-{allow.name}"), "spec": spec_body}))
    objects.append(
        (
            "role",
            {
                "metadata": meta("tenancy-edit"),
                "rules": [
                    {
                        "apiGroups": ["", "apps", "batch", "networking.k8s.io"],
                        "resources": EDIT_RESOURCES,
                        "verbs": EDIT_VERBS,
                    }
                ],
            },
        )
    )
    objects.append(
        (
            "binding",
            {
                "metadata": meta("tenancy-edit"),
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "tenancy-edit",
                },
                "subjects": [
                    {"kind": "Group", "name": k.group, "apiGroup": "rbac.authorization.k8s.io"}
                ],
            },
        )
    )
    return objects


def create_with_client(api_client: Any, spec: Any) -> None:
    """Create a tenancy's objects with the kubernetes client and wait for its quota to be enforced."""
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    net = client.NetworkingV1Api(api_client)
    rbac = client.RbacAuthorizationV1Api(api_client)
    ns = spec.kubernetes.namespace
    for kind, body in tenancy_objects(spec):
        if kind == "namespace":
            core.create_namespace(body)
        elif kind == "quota":
            core.create_namespaced_resource_quota(ns, body)
        elif kind == "limits":
            core.create_namespaced_limit_range(ns, body)
        elif kind == "policy":
            net.create_namespaced_network_policy(ns, body)
        elif kind == "role":
            rbac.create_namespaced_role(ns, body)
        else:
            rbac.create_namespaced_role_binding(ns, body)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        quota = core.read_namespaced_resource_quota("tenancy-quota", ns)
        if quota.status and quota.status.hard:
            return
        time.sleep(0.1)
    raise SystemExit(f"quota of {ns} not enforced within 120 s")


def delete_with_client(api_client: Any, namespace: str) -> None:
    """Delete a namespace and wait until the namespace controller has removed it."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core = client.CoreV1Api(api_client)
    core.delete_namespace(namespace)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            core.read_namespace(namespace)
        except ApiException as error:
            if error.status == 404:
                return
            raise
        time.sleep(0.2)
    raise SystemExit(f"namespace {namespace} still there after 180 s")


def specs(count: int) -> list[Any]:
    """count tenancies like the sample request, each with its own namespace."""
    from dcops.core.loader import load_site
    from dcops.stacks.allocation import OfflineAllocation
    from dcops.stacks.config import tenancy_spec
    from dcops.tenancy.request import load_request

    site = load_site(REPO)
    base = tenancy_spec(load_request(REQUEST, site), site, OfflineAllocation(site))
    return [
        dataclasses.replace(
            base,
            name=f"bench-{i:02d}",
            kubernetes=dataclasses.replace(base.kubernetes, namespace=f"bench-{i:02d}"),
        )
        for i in range(count)
    ]


def bench_request(site: Path, name: str) -> Path:
    """A request file like the sample's, as tenancy `name` with a namespace of the same name."""
    text = REQUEST.read_text(encoding="utf-8").replace("namespace: fgw", f"namespace: {name}")
    path = site / "bench-requests" / f"{name}.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"name: {name}\n{text}", encoding="utf-8")
    return path


def provision_measured(
    site: Path, env: dict[str, str], request: Path, *flags: str
) -> tuple[float, float]:
    """`dcops provision --only kubernetes --yes`: (wall seconds, peak MiB of dcops + engine)."""
    import psutil

    args = [str(DCOPS), "provision", str(request), "--only", "kubernetes", "--yes", *flags]
    started = time.monotonic()
    run = subprocess.Popen(
        args, cwd=site, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    root, peak = psutil.Process(run.pid), 0
    while run.poll() is None:
        tree = [root, *root.children(recursive=True)]
        total = 0
        for process in tree:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        peak = max(peak, total)
        time.sleep(0.2)
    seconds = time.monotonic() - started
    out = run.stdout.read().decode() if run.stdout else ""
    if run.returncode != 0:
        raise SystemExit(f"dcops provision {request.name} failed:\n{out}")
    return seconds, peak / 2**20


def provision_many(site: Path, env: dict[str, str], requests: list[Path]) -> float:
    """Provision every request, WAVE at a time; wall seconds for all of them."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=WAVE) as pool:
        for _ in pool.map(
            lambda r: dcops(site, env, "provision", str(r), *ONE_UPDATE),
            requests,
        ):
            pass
    return time.monotonic() - started


def engine_missing() -> str:
    """Why dcops cannot provision here, or empty when it can."""
    from dcops.core import engine

    wanted = (engine.CLI, engine.plugin_program("kubernetes"))
    missing = [p for p in wanted if engine.find(p) is None]
    return f"not measured: {', '.join(missing)} not installed" if missing else ""


# A pulumi CLI that notes when each run starts and ends (the plugins beside it, linked), so that
# one provision can be split into dcops' own work and the engine's runs.
TIMED_CLI = """#!/bin/sh
echo "start $(date +%s.%N) $*" >> "$DCOPS_BENCH_CLI_LOG"
"$DCOPS_BENCH_REAL_CLI" "$@"
status=$?
echo "end $(date +%s.%N) $1 $2 $3" >> "$DCOPS_BENCH_CLI_LOG"
exit $status
"""
CLI_STEPS = ("version", "stack export", "stack init", "up")


def timed_engine(work: Path) -> dict[str, str]:
    """An engine folder whose pulumi notes its runs; the environment that makes dcops use it."""
    from dcops.core import engine

    folder = work / "timed-engine" / "bin"  # a bin folder: the Automation API runs ROOT/bin/pulumi
    folder.mkdir(parents=True, exist_ok=True)
    for package in engine.PLUGINS:
        plugin = engine.find(engine.plugin_program(package))
        if plugin is not None:
            (folder / plugin.name).symlink_to(plugin)
    cli = folder / engine.CLI
    cli.write_text(TIMED_CLI)
    cli.chmod(0o755)
    return {
        "DCOPS_ENGINE_DIR": str(folder),
        "DCOPS_BENCH_REAL_CLI": str(engine.find(engine.CLI)),
        "DCOPS_BENCH_CLI_LOG": str(work / "cli-runs.log"),
    }


def breakdown(site: Path, env: dict[str, str], work: Path, name: str) -> list[tuple[str, str]]:
    """One `provision --yes --skip-preview` of a new tenancy, split into its parts."""
    timed = {**env, **timed_engine(work)}
    log = Path(timed["DCOPS_BENCH_CLI_LOG"])
    log.unlink(missing_ok=True)
    request = bench_request(site, name)
    started = time.time()
    total, _ = dcops(site, timed, "provision", str(request), *ONE_UPDATE)
    runs: dict[str, list[float]] = {}
    order: list[str] = []
    for line in log.read_text().splitlines():
        mark, at, *args = line.split()
        words = " ".join(a for a in args if not a.startswith("-"))
        step = next((s for s in CLI_STEPS if words.startswith(s)), words.split(" ")[0])
        runs.setdefault(step, []).append(float(at) - started)
        if mark == "start":
            order.append(step)
    up_start, up_end = runs["up"]
    before = [f"{s} {runs[s][1] - runs[s][0]:.2f} s" for s in order if s != "up"]
    return [
        (
            f"breakdown of one `provision {' '.join(ONE_UPDATE)}` (a new tenancy), in all",
            f"{total:.1f} s",
        ),
        (
            "· dcops until the engine's update starts: Python start, imports, namespace claim, "
            "offline policy check, audit intent (the state read runs beside them)",
            f"{up_start:.1f} s",
        ),
        ("· · of which pulumi CLI runs before the update", "; ".join(before)),
        (
            "· `pulumi up --refresh`: CLI and plugin start, refresh, 12 creates, checkpoints",
            f"{up_end - up_start:.1f} s",
        ),
        (
            "· after the engine: audit result and signed checkpoint, snapshot, exit",
            f"{total - up_end:.1f} s",
        ),
    ]


def dcops_one(
    site: Path, env: dict[str, str], peer_create: float, peer_delete: float
) -> list[tuple[str, str]]:
    """One tenancy's Kubernetes part by dcops (preview, update), another with one update only,
    then both destroyed by dcops."""
    request = bench_request(site, "fgw-bench-one")
    seconds, peak = provision_measured(site, env, request)
    again, _ = dcops(site, env, "provision", str(request), "--only", "kubernetes", "--yes")
    gone, _ = dcops(site, env, "destroy", str(request), "--yes")
    direct = bench_request(site, "fgw-bench-direct")
    single, _ = provision_measured(site, env, direct, "--skip-preview")
    single_again, _ = dcops(site, env, "provision", str(direct), *ONE_UPDATE)
    dcops(site, env, "destroy", str(direct), "--yes")
    return [
        (
            "`dcops provision --only kubernetes` of the same tenancy (preview, then update)",
            f"{seconds:.1f} s ({seconds / peer_create:.1f}× the client)",
        ),
        (
            "the same with `--yes --skip-preview` (one update), another tenancy",
            f"{single:.1f} s ({single / peer_create:.1f}× the client)",
        ),
        ("peak memory of the first run: dcops, the pulumi CLI and the plugin", f"{peak:.0f} MiB"),
        ("the same `dcops provision` again (preview: no changes)", f"{again:.1f} s"),
        ("again with `--skip-preview` (update: no changes)", f"{single_again:.1f} s"),
        (
            "`dcops destroy` of it, until the namespace is gone",
            f"{gone:.1f} s ({gone / peer_delete:.1f}× the client)",
        ),
    ]


def main() -> None:
    """Measure and write the `k8s` section of docs/performance.md."""
    from kubernetes import config

    work = Path(tempfile.mkdtemp(prefix="dcops-k8s-bench-"))
    site = copy_site(work / "site")
    env = dcops_env("zhangwei", {"DCOPS_LAB_K8S_PORT": str(free_port())})
    os.environ["DCOPS_LAB_K8S_PORT"] = env["DCOPS_LAB_K8S_PORT"]
    rows: list[tuple[str, str]] = []
    try:
        ups = []
        for _ in range(RUNS):
            seconds, _ = dcops(site, env, "lab", "k8s", "up")
            ups.append(seconds)
            rss = memory(site, env)
            dcops(site, env, "lab", "k8s", "down", "--yes")
        dcops(site, env, "lab", "k8s", "up")
        from dcops.core.loader import load_site
        from dcops.lab import k8s_cluster, k8s_processes

        folder = k8s_cluster.cluster_dir(load_site(site))
        k8s_processes.stop(list(k8s_processes.running(folder)))
        shutil.rmtree(folder / "etcd")
        raws = [raw_start(site)]
        rows.append(
            (
                "peer: etcd, kube-apiserver, controller manager started directly, to ready",
                f"{raws[0]:.1f} s",
            )
        )
        rows.append(
            (
                f"`dcops lab k8s up` from nothing (median of {RUNS})",
                f"{statistics.median(ups):.1f} s",
            )
        )
        rows.append(
            (
                "memory after up: etcd / apiserver / controller manager",
                " / ".join(f"{rss.get(n, 0):.0f}" for n in k8s_cluster.PROGRAMS) + " MiB",
            )
        )
        kubeconfig = folder / "kubeconfig" / "ops.yaml"
        api = config.new_client_from_config(config_file=str(kubeconfig))
        one = specs(1)[0]
        started = time.monotonic()
        create_with_client(api, one)
        peer_create = time.monotonic() - started
        rows.append(
            (
                "peer: one tenancy's objects with the kubernetes client, quota enforced",
                f"{peer_create:.2f} s",
            )
        )
        started = time.monotonic()
        delete_with_client(api, one.kubernetes.namespace)
        peer_delete = time.monotonic() - started
        rows.append(
            ("peer: its namespace deleted with the client, until gone", f"{peer_delete:.2f} s")
        )
        why = engine_missing()
        if why:
            rows.append(("`dcops provision --only kubernetes` of the same tenancy", why))
        else:
            rows.extend(dcops_one(site, env, peer_create, peer_delete))
            rows.extend(breakdown(site, env, work, "fgw-bench-parts"))
        many = specs(TENANCIES)
        before = memory(site, env)["kube-apiserver"]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=TENANCIES) as pool:
            list(pool.map(lambda s: create_with_client(api, s), many))
        wall = time.monotonic() - started
        after = memory(site, env)["kube-apiserver"]
        rows.append((f"peer: {TENANCIES} tenancies at once with the client", f"{wall:.1f} s"))
        rows.append(
            (
                f"apiserver memory before / after {TENANCIES} tenancies",
                f"{before:.0f} / {after:.0f} MiB",
            )
        )
        if "--one" in sys.argv[1:]:
            why = why or "not measured in this run (`--one`: one tenancy only)"
        if why:
            rows.append((f"`dcops provision` of {TENANCIES} tenancies", why))
        else:
            requests = [bench_request(site, f"fgw-bench-{i:02d}") for i in range(TENANCIES)]
            before = memory(site, env)["kube-apiserver"]
            wall = provision_many(site, env, requests)
            after = memory(site, env)["kube-apiserver"]
            rows.append(
                (
                    f"`dcops provision --only kubernetes` of {TENANCIES} tenancies, {WAVE} at a time",
                    f"{wall:.0f} s ({wall / TENANCIES:.1f} s per tenancy)",
                )
            )
            rows.append(
                (
                    f"apiserver memory before / after those {TENANCIES}",
                    f"{before:.0f} / {after:.0f} MiB",
                )
            )
    finally:
        subprocess.run(
            [str(DCOPS), "lab", "k8s", "down", "--yes"], cwd=site, env=env, capture_output=True
        )
        shutil.rmtree(work, ignore_errors=True)
    table = ["| what | result |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]
    note = "2 cores shared with other builds; lab cluster on 127.0.0.1 (`.venv/bin/python bench/k8s_bench.py`)."
    record("k8s", note + "\n\n" + "\n".join(table))
    print("\n".join(table))


if __name__ == "__main__":
    main()
