"""Start, stop and inspect Prometheus, Alertmanager and the shift-log sink on the listen host."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
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


def _write_pid(path: Path, pid: int) -> None:
    """Write a pid file atomically: readers see the old one or the new one, never half."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(f"{pid}\n")
    os.replace(temporary, path)


def _alive(pid: int, marker: str) -> bool:
    """Whether pid runs and is ours (its command line names our config or log file)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1]
    except (OSError, IndexError):
        return False
    return state != "Z" and marker in cmdline


def _ours(marker: str) -> list[int]:
    """Every running process whose command line names our file (found when a pid file is lost)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            pid = int(entry.name)
            if _alive(pid, marker):
                found.append(pid)
    return sorted(found)


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _listeners(port: int) -> set[str]:
    """Inodes of the sockets listening on a TCP port (any address, IPv4 or IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if (
                len(fields) > 9
                and fields[3] == "0A"
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(fields[9])
    return inodes


def owns_port(pid: int, port: int) -> bool:
    """Whether the process pid itself listens on the port."""
    return bool(_listeners(port) & _socket_inodes(pid))


def port_holder(port: int) -> str:
    """Who listens on a port: 'pid N (name)' where /proc tells, else 'another process'."""
    listening = _listeners(port)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _socket_inodes(int(entry.name)) & listening:
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                name = "?"
            return f"pid {entry.name} ({name})"
    return "another process"


def check_port_free(service: str, host: str, port: int) -> None:
    """OperationFailed naming the holder if something already listens where service must."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise OperationFailed(
                f"端口被占用 {service} cannot start: {host}:{port} is taken by "
                f"{port_holder(port)} ({exc.strerror}); stop it or choose another port in "
                "[monitors] of dcops.toml"
            ) from None


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
    """The pid of a service that `up` started and that still runs (found even without a pid file)."""
    marker = _marker(service, layout)
    pid = _read_pid(layout.pid_file(service))
    if pid is not None and _alive(pid, marker):
        return pid
    found = _ours_for(service, layout)
    return found[0] if found else None


def _ours_for(service: str, layout: MonitorLayout) -> list[int]:
    """Our processes of one service: the second of a pair names the first's config too."""
    others = [_marker(s, layout) for s in SECOND if s != service]
    found = _ours(_marker(service, layout))
    return [p for p in found if not any(_alive(p, m) for m in others)]


def _port(service: str, monitors: MonitorsConfig) -> int:
    return {
        "prometheus": monitors.prometheus_port,
        "alertmanager": monitors.alertmanager_port,
        "prometheus-2": monitors.pair_prometheus_port,
        "alertmanager-2": monitors.pair_alertmanager_port,
        "sink": monitors.sink_port,
        "notifier": monitors.notifier_port,
    }[service]


def _answers_as(service: str, url: str) -> bool:
    """Whether the server at url reports itself as this service (its build or status API)."""
    path = {
        "prometheus": "/api/v1/status/buildinfo",
        "alertmanager": "/api/v2/status",
        "sink": "/-/ready",
        "notifier": "/-/ready",
    }[service.removesuffix("-2")]
    try:
        with urllib.request.urlopen(f"{url}{path}", timeout=1.0) as reply:
            body = reply.read(1 << 16)
    except (urllib.error.URLError, OSError):
        return False
    if service in ("sink", "notifier"):
        return True
    try:
        data = json.loads(body)
    except ValueError:
        return False
    if service.startswith("prometheus"):
        return isinstance(data, dict) and "version" in (data.get("data") or {})
    return isinstance(data, dict) and "versionInfo" in data


def _ready_as(service: str, pid: int, monitors: MonitorsConfig, timeout: float = 1.0) -> bool:
    """Ready means: our process listens on the port, and what answers there is this service."""
    url = base_url(service, monitors)
    return (
        owns_port(pid, _port(service, monitors))
        and _ready(url, timeout)
        and _answers_as(service, url)
    )


def status(layout: MonitorLayout, monitors: MonitorsConfig) -> list[ServiceStatus]:
    """Every service: pid, running, answering (from the process dcops started), URL."""
    result = []
    for service in SERVICES:
        pid = running_pid(service, layout)
        if pid is None and not _wanted(service, layout, monitors):
            continue
        url = base_url(service, monitors)
        ready = pid is not None and _ready_as(service, pid, monitors)
        result.append(ServiceStatus(service, pid, pid is not None, ready, url))
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
    check_port_free(service, monitors.listen_host, _port(service, monitors))
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
    _write_pid(layout.pid_file(service), process.pid)
    url = base_url(service, monitors)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            layout.pid_file(service).unlink(missing_ok=True)
            raise OperationFailed(
                f"{service} exited with code {process.returncode} at start: {_tail(log_path)}"
            )
        if _ready_as(service, process.pid, monitors, timeout=0.5):
            return
        time.sleep(0.05)
    raise OperationFailed(
        f"{service} (pid {process.pid}) did not answer at {url} within {READY_TIMEOUT:.0f} s; "
        f"see {log_path}"
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
    """Stop every running service (TERM, then KILL after a grace period); the names stopped.

    Processes are found by their pid file and by command lines naming our files, so a lost or
    damaged pid file leaves no orphan.
    """
    stopped = []
    for service in reversed(SERVICES):
        marker = _marker(service, layout)
        pids = set(_ours_for(service, layout))
        recorded = _read_pid(layout.pid_file(service))
        if recorded is not None and _alive(recorded, marker):
            pids.add(recorded)
        for pid in sorted(pids):
            _terminate(pid, marker)
        if pids:
            stopped.append(service)
        layout.pid_file(service).unlink(missing_ok=True)
    return stopped


def _terminate(pid: int, marker: str) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not _alive(pid, marker):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
