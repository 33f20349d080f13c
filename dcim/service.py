"""Long-running DCIM work for the commands: poll, serve, simulate (start, detach, stop)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dcops.core.errors import InputError, OperationFailed
from dcops.core.site import Device, Site
from dcops.dcim.inventory import community_of, targets
from dcops.dcim.poller import DeviceState, Poller
from dcops.dcim.sharding import Shard
from dcops.dcim.simulation import overlay


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(RuntimeError):  # not the main thread: Ctrl-C ends it instead
            loop.add_signal_handler(sig, stop.set)


def site_poller(
    site: Site,
    interval: float,
    timeout: float,
    retries: int,
    concurrency: int = 500,
    shard: Shard | None = None,
) -> Poller:
    """A poller for the site's devices, or one shard of them (at the simulation's addresses
    when one runs)."""
    devices, gateways, simulated = overlay.effective_devices(site)
    found = targets(site, shard.select(devices) if shard else devices, gateways, timeout, retries)
    if not found and shard:
        raise InputError(
            f"shard {shard.index}/{shard.count} holds none of the {len(devices)} devices of "
            "inventory/devices.yml; use fewer shards"
        )
    if not found:
        raise InputError("no device in inventory/devices.yml has a protocol; nothing to poll")
    return Poller(found, interval=interval, concurrency=concurrency, simulated=simulated)


def poll_once(site: Site, timeout: float, retries: int) -> list[DeviceState]:
    """Poll the whole room once."""

    async def run() -> list[DeviceState]:
        poller = site_poller(site, interval=timeout, timeout=timeout, retries=retries)
        try:
            return await poller.poll_all()
        finally:
            await poller.close()

    return asyncio.run(run())


def serve(
    site: Site,
    host: str,
    port: int,
    interval: float,
    timeout: float,
    retries: int,
    on_ready: Callable[[int, int], None],
    shard: Shard | None = None,
) -> None:
    """Poll every interval and serve /metrics and /probe until SIGINT or SIGTERM."""
    from dcops.core import __version__
    from dcops.dcim.exporter import serve as serve_http

    def secret(name: str) -> str:
        return community_of(site, overlay.effective_devices(site)[0], name)

    async def run() -> None:
        poller = site_poller(site, interval, timeout, retries, shard=shard)
        stop = asyncio.Event()
        _stop_on_signals(stop)
        try:
            await serve_http(
                poller,
                site.name,
                __version__,
                host,
                port,
                stop,
                lambda bound: on_ready(bound, len(poller.states)),
                secret,
            )
        except OSError as exc:
            raise OperationFailed(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None

    asyncio.run(run())


def synthetic_devices(site: Site, count: int) -> list[Device]:
    """count extra simulated UPS units (SNMP v2c, UPS-MIB) in the first room."""
    if not site.rooms:
        raise InputError("--synthetic needs at least one room in inventory/rooms.yml")
    room = site.rooms[0].name
    return [
        Device.model_validate(
            {
                "name": f"sim-ups-{n:04d}",
                "kind": "ups",
                "room": room,
                "protocol": "snmp",
                "address": "127.0.0.1",
                "profile": "ups-mib",
                "community": {"env": "DCOPS_SIM_COMMUNITY"},
            }
        )
        for n in range(1, count + 1)
    ]


def simulate(
    site: Site,
    scenario: str | None,
    synthetic: int,
    tick: float,
    on_ready: Callable[[dict[str, Any]], None],
    duration: float | None = None,
) -> None:
    """Run simulated devices for the inventory until SIGINT/SIGTERM (or duration seconds)."""
    from dcops.dcim.simulation.simulator import Simulation

    if scenario is not None:
        overlay.set_scenario(site, scenario)
    current = overlay.read_overlay(site)
    if (
        current is not None
        and overlay.pid_alive(int(current.get("pid", 0)))
        and current.get("pid") != os.getpid()
    ):
        raise InputError(
            f"a simulation already runs (pid {current['pid']}); stop it with `dcops dcim simulate stop`"
        )
    extra = synthetic_devices(site, synthetic) if synthetic else []

    async def run() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        sim = Simulation(
            site.devices,
            site.gateways,
            overlay.workdir(site),
            overlay.control_path(site),
            tick,
            synthetic=extra,
        )
        try:
            record = await sim.start()
            record.update(
                pid=os.getpid(),
                started=time.time(),
                added=[d.model_dump(mode="json") for d in extra],
            )
            overlay.write_overlay(site, record)
            on_ready(record)
            if duration is not None:
                asyncio.get_running_loop().call_later(duration, stop.set)
            await sim.run(stop)
        finally:
            overlay.remove_overlay(site, os.getpid())
            await sim.close()

    asyncio.run(run())


def spawn_simulation(site: Site, args: list[str], wait: float = 60.0) -> dict[str, Any]:
    """Start `dcops dcim simulate` in the background and wait until it has recorded its addresses."""
    current = overlay.read_overlay(site)
    if current is not None and overlay.pid_alive(int(current.get("pid", 0))):
        raise InputError(
            f"a simulation already runs (pid {current['pid']}); stop it with `dcops dcim simulate stop`"
        )
    log = overlay.folder(site) / "simulate.log"
    command = [
        sys.executable,
        "-c",
        "from dcops.cli.app import main; main()",
        "--site",
        str(site.paths.site_file),
        "dcim",
        "simulate",
        *args,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        record = overlay.read_overlay(site)
        if record is not None and record.get("pid") == process.pid:
            return record
        if process.poll() is not None:
            raise OperationFailed(
                f"the simulation exited with code {process.returncode}: {_tail(log)}"
            )
        time.sleep(0.1)
    process.terminate()
    raise OperationFailed(f"the simulation did not start within {wait:g} s; see {log}")


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"


def stop_simulation(site: Site, wait: float = 15.0) -> int | None:
    """Stop the recorded background simulation; its pid, or None if none ran."""
    record = overlay.read_overlay(site)
    if record is None:
        return None
    pid = int(record.get("pid", 0))
    if not overlay.pid_alive(pid):
        overlay.remove_overlay(site, pid)
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and overlay.pid_alive(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    if overlay.pid_alive(pid):
        raise OperationFailed(f"simulation pid {pid} did not stop within {wait:g} s")
    overlay.remove_overlay(site, pid)
    return pid


def serve_traps(
    site: Site,
    host: str,
    port: int,
    metrics: tuple[str, int] | None,
    hold_s: float,
    on_ready: Callable[[int], None],
) -> None:
    """Receive traps from the inventory's SNMP devices and post their alerts until stopped."""
    from datetime import timedelta

    from dcops.dcim.trap_alerts import post_to_members
    from dcops.dcim.trap_reconciliation import TrapReconciler, prometheus_query
    from dcops.dcim.traps import TrapCollector, TrapReceiver, engine_id_for
    from dcops.dcim.traps import serve_traps as listen

    monitors = site.config.monitors
    devices, gateways, simulated = overlay.effective_devices(site)  # a simulation's addresses
    snmp = [d for d in devices if d.protocol in ("snmp", "snmpv3")]

    def post(alerts: list[dict[str, Any]]) -> None:
        post_to_members(monitors.alertmanager_members(site.paths.state), alerts)

    reconciler = TrapReconciler(
        prometheus_query(lambda: monitors.prometheus_members(site.paths.state)),
        post,
        timedelta(seconds=hold_s),
    )
    receiver = TrapReceiver(
        targets(site, snmp, gateways, 2.0, 0),
        site.name,
        post,
        engine_id_for(site.name),
        hold=timedelta(seconds=hold_s),
        runbook_base_url=monitors.runbook_base_url,
        on_posted=reconciler.took,
        simulated=simulated,
    )
    reconciling = threading.Event()
    threading.Thread(target=reconciler.run, args=(reconciling,), daemon=True).start()
    if metrics is not None:
        from prometheus_client import CollectorRegistry, start_http_server

        registry = CollectorRegistry()
        registry.register(TrapCollector(receiver))
        start_http_server(metrics[1], metrics[0], registry)

    async def run() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        try:
            await listen(receiver, host, port, stop, on_ready)
        except OSError as exc:
            raise OperationFailed(
                f"cannot listen on udp {host}:{port}: {exc.strerror or exc}"
            ) from None

    try:
        asyncio.run(run())
    finally:
        reconciling.set()
