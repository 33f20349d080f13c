"""Start, stop and inspect Prometheus, Alertmanager and the shift-log sink on the listen host."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from dcops.core.errors import OperationFailed
from dcops.core.monitoring import MonitorsConfig
from dcops.monitors.checks import program
from dcops.monitors.layout import MonitorLayout

SERVICES = ("sink", "notifier", "alertmanager", "alertmanager-2", "prometheus", "prometheus-2")
# Services of the second member of a pair (`monitors up --pair`).
SECOND = ("alertmanager-2", "prometheus-2")
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class ServiceStatus:
    """Whether one service runs, answers, and where."""

    name: str
    pid: int | None
    running: bool
    ready: bool
    url: str


def base_url(service: str, monitors: MonitorsConfig) -> str:
    """Where a service answers HTTP (the second member of a pair on its own ports)."""
    return {
        "prometheus": monitors.prometheus_url,
        "alertmanager": monitors.alertmanager_url,
        "prometheus-2": f"http://{monitors.address(monitors.pair_prometheus_port)}",
        "alertmanager-2": f"http://{monitors.address(monitors.pair_alertmanager_port)}",
        "sink": monitors.sink_url.removesuffix("/alerts"),
        "notifier": monitors.notifier_url.removesuffix("/alerts"),
    }[service]


def command(service: str, layout: MonitorLayout, monitors: MonitorsConfig) -> list[str]:
    """The command line that runs a service with the rendered config."""
    second = service in SECOND
    if service.startswith("prometheus"):
        port = monitors.pair_prometheus_port if second else monitors.prometheus_port
        return [
            program("prometheus"),
            f"--config.file={layout.prometheus_config}",
            f"--storage.tsdb.path={layout.data_dir(service)}",
            f"--web.listen-address={monitors.address(port)}",
            "--web.enable-lifecycle",
        ]
    if service.startswith("alertmanager"):
        port = monitors.pair_alertmanager_port if second else monitors.alertmanager_port
        return [
            program("prometheus-alertmanager"),
            f"--config.file={layout.alertmanager_config}",
            f"--storage.path={layout.data_dir(service)}",
            f"--web.listen-address={monitors.address(port)}",
            *_cluster_flags(second, layout, monitors),
        ]
    dcops = [
        sys.executable,
        "-c",
        "import sys; from dcops.cli.app import main; sys.argv[0] = 'dcops'; main()",
    ]
    if service == "notifier":
        return [
            *dcops,
            "--site",
            str(layout.source.parent / "dcops.toml"),
            "monitors",
            "notifier",
            "--listen",
            monitors.address(monitors.notifier_port),
            "--database",
            str(layout.notifier_db),
        ]
    return [
        *dcops,
        "monitors",
        "sink",
        "--listen",
        monitors.address(monitors.sink_port),
        "--file",
        str(layout.alert_log),
    ]


def _cluster_flags(second: bool, layout: MonitorLayout, monitors: MonitorsConfig) -> list[str]:
    """Gossip between the two Alertmanagers of a pair; none for a single one."""
    if not layout.paired:
        return ["--cluster.listen-address="]
    own, peer = monitors.cluster_port, monitors.pair_cluster_port
    if second:
        own, peer = peer, own
    return [
        f"--cluster.listen-address={monitors.address(own)}",
        f"--cluster.advertise-address={monitors.address(own)}",
        f"--cluster.peer={monitors.address(peer)}",
        f"--cluster.peer-timeout={monitors.cluster_peer_timeout}",
    ]


def _wanted(service: str, layout: MonitorLayout, monitors: MonitorsConfig) -> bool:
    if service == "notifier":
        return monitors.notifier_wanted
    return layout.paired or service not in SECOND


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int, marker: str) -> bool:
    """Whether pid runs and is ours (its command line names our config or log file)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1]
    except (OSError, IndexError):
        return False
    return state != "Z" and marker in cmdline


def _marker(service: str, layout: MonitorLayout) -> str:
    if service in SECOND:
        return str(layout.data_dir(service))
    if service == "notifier":
        return str(layout.notifier_db)
    return str(layout.alert_log if service == "sink" else layout.state / f"{service}.yml")


def _ready(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=timeout) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def running_pid(service: str, layout: MonitorLayout) -> int | None:
    """The pid of a service that `up` started and that still runs."""
    pid = _read_pid(layout.pid_file(service))
    return pid if pid is not None and _alive(pid, _marker(service, layout)) else None


def status(layout: MonitorLayout, monitors: MonitorsConfig) -> list[ServiceStatus]:
    """Every service: pid, running, answering, URL."""
    result = []
    for service in SERVICES:
        pid = running_pid(service, layout)
        if pid is None and not _wanted(service, layout, monitors):
            continue
        url = base_url(service, monitors)
        result.append(
            ServiceStatus(service, pid, pid is not None, pid is not None and _ready(url), url)
        )
    return result


def start(layout: MonitorLayout, monitors: MonitorsConfig) -> list[ServiceStatus]:
    """Start what is not running (reload what is), and wait until each answers."""
    for service in SERVICES:
        pid = running_pid(service, layout)
        if not _wanted(service, layout, monitors):
            if pid is not None:
                _terminate(pid, _marker(service, layout))
            continue
        if pid is None:
            _launch(service, layout, monitors)
        elif service not in ("sink", "notifier"):
            _reload(service, monitors)
    return status(layout, monitors)


def _launch(service: str, layout: MonitorLayout, monitors: MonitorsConfig) -> None:
    args = command(service, layout, monitors)
    if service not in ("sink", "notifier"):
        layout.data_dir(service).mkdir(mode=0o700, parents=True, exist_ok=True)
    log_path = layout.log_file(service)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=layout.state,
        )
    layout.pid_file(service).write_text(f"{process.pid}\n")
    url = base_url(service, monitors)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            layout.pid_file(service).unlink(missing_ok=True)
            raise OperationFailed(
                f"{service} exited with code {process.returncode} at start: {_tail(log_path)}"
            )
        if _ready(url, timeout=0.5):
            return
        time.sleep(0.05)
    raise OperationFailed(
        f"{service} did not answer at {url} within {READY_TIMEOUT:.0f} s; see {log_path}"
    )


def _reload(service: str, monitors: MonitorsConfig) -> None:
    url = f"{base_url(service, monitors)}/-/reload"
    request = urllib.request.Request(url, method="POST", data=b"")
    try:
        with urllib.request.urlopen(request, timeout=10):
            return
    except (urllib.error.URLError, OSError) as exc:
        raise OperationFailed(f"{service} did not reload its config at {url}: {exc}") from None


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"


def stop(layout: MonitorLayout) -> list[str]:
    """Stop every running service (TERM, then KILL after a grace period); the names stopped."""
    stopped = []
    for service in reversed(SERVICES):
        pid = running_pid(service, layout)
        if pid is not None:
            _terminate(pid, _marker(service, layout))
            stopped.append(service)
        layout.pid_file(service).unlink(missing_ok=True)
    return stopped


def _terminate(pid: int, marker: str) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not _alive(pid, marker):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
