"""`dcops dcim`: probe and poll facility devices, serve Prometheus metrics, simulate the room."""

from __future__ import annotations

from typing import Any

import typer

from dcops.cli.views.session import session

app = typer.Typer(
    help="Machine-room devices (动环): UPS, precision AC, PDUs, sensors, doors, fire panels.",
    no_args_is_help=True,
)
simulate_app = typer.Typer(
    help="Simulated devices for the whole inventory, speaking SNMP and Modbus on loopback.",
    invoke_without_command=True,
)
app.add_typer(simulate_app, name="simulate")

_ROLES = ("facility", "ops")


def _timeout_option() -> Any:
    return typer.Option(
        2.0,
        "--timeout",
        min=0.05,
        max=60,
        help="Seconds each device may take (all its retries included).",
    )


@app.command("profiles")
def profiles(ctx: typer.Context) -> None:
    """List the device profiles shipped with dcops."""
    from dcops.cli.views import output
    from dcops.dcim.profiles import bundled_profile, profile_names

    rows = [bundled_profile(n) for n in profile_names()]
    if session(ctx).json:
        output.print_json(
            [
                {"name": p.name, "kind": p.kind, "protocol": p.protocol, "title": p.title}
                for p in rows
            ]
        )
        return
    output.show(
        output.table(
            None,
            ["profile", "kind", "protocol", "title"],
            [(p.name, p.kind, p.protocol, p.title) for p in rows],
        )
    )


@app.command("probe")
def probe(
    ctx: typer.Context,
    url: str = typer.Argument(
        ...,
        metavar="URL",
        help=(
            "snmp://HOST:PORT?community_file=PATH (or ?secret=DEVICE, or $DCOPS_SNMP_COMMUNITY), "
            "snmpv3://USER@HOST:PORT?auth=sha&priv=aes or modbus://HOST:PORT/UNIT"
        ),
    ),
    profile: str = typer.Option(
        ..., "--profile", "-p", help="Profile name (see `dcops dcim profiles`)."
    ),
    timeout: float = _timeout_option(),
    retries: int = typer.Option(
        1, "--retries", min=0, max=5, help="Retries after a silent attempt."
    ),
) -> None:
    """Poll one device once and print its readings; exit 1 with the reason if it does not answer."""
    import asyncio

    from dcops.cli.views import output
    from dcops.core.errors import OperationFailed
    from dcops.dcim.poller import Poller
    from dcops.dcim.probe_url import target_from_url

    state_dir, secret = None, None
    try:
        site = session(ctx).site
        state_dir = site.paths.state
    except Exception:  # probing works without a site; secrets files are then taken as given
        site = None
    if site is not None:
        from dcops.dcim.inventory import community_of
        from dcops.dcim.simulation.overlay import effective_devices

        def secret(name: str) -> str:
            return community_of(site, effective_devices(site)[0], name)

    target = target_from_url(url, profile, timeout, retries, state_dir, secret=secret)

    async def run() -> Any:
        poller = Poller([target], interval=timeout)
        try:
            return (await poller.poll_all())[0]
        finally:
            await poller.close()

    state = asyncio.run(run())
    if not state.up:
        raise OperationFailed(
            f"{target.address} did not answer ({state.last_reason}): {state.last_error}"
        )
    readings = sorted(
        state.current(poller_clock(), float("inf")), key=lambda r: (r.metric, r.labels)
    )
    if session(ctx).json:
        output.print_json([r.as_dict() for r in readings])
        return
    rows = [
        (r.metric, ",".join(f"{k}={v}" for k, v in r.labels), f"{r.value:g}", r.unit)
        for r in readings
    ]
    output.show(
        output.table(
            f"{target.address} ({profile}): {len(readings)} readings",
            ["metric", "labels", "value", "unit"],
            rows,
        )
    )
    for problem in state.problems:
        output.show(f"warning: {problem}")


def poller_clock() -> float:
    """Wall-clock time, as the poller stamps readings."""
    import time

    return time.time()


@app.command("poll")
def poll(
    ctx: typer.Context,
    once: bool = typer.Option(
        False,
        "--once",
        help="Poll once and print the room; exit 1 if any problem is critical (0: none is).",
    ),
    timeout: float = _timeout_option(),
    retries: int = typer.Option(
        1, "--retries", min=0, max=5, help="Retries after a silent attempt."
    ),
) -> None:
    """Poll every device once: problems first, then the devices by room and rack; exit 1 on a critical problem."""
    from dcops.cli.views import output
    from dcops.core.errors import OperationFailed
    from dcops.dcim import room
    from dcops.dcim.service import poll_once
    from dcops.dcim.simulation.overlay import effective_devices

    del once  # a single pass is what poll does; --once says so explicitly in scripts
    s = session(ctx)
    s.require(*_ROLES, action="dcim poll")
    simulated = effective_devices(s.site)[2]
    states = poll_once(s.site, timeout, retries)
    found = room.ordered_problems(
        [p for st in states for p in room.problems(st, st.current(poller_clock(), float("inf")))]
    )
    if s.json:
        output.print_json(
            {
                "simulated": simulated,
                "problems": [p.as_dict() for p in found],
                "devices": [{**_device_json(st), "simulated": simulated} for st in states],
            }
        )
    else:
        if simulated:
            output.show(SIMULATED_BANNER)
        output.show(_problem_table(found))
        for table in _room_tables(states):
            output.show(table)
    critical = [p for p in found if p.severity == "critical"]
    if critical:
        raise OperationFailed(
            f"机房有 {len(critical)} 个严重问题 {len(critical)} critical problem(s) in the room"
            + (" (simulated)" if simulated else "")
            + f": {critical[0].device}: {critical[0].text}"
            + (f" and {len(critical) - 1} more" if len(critical) > 1 else "")
        )


SIMULATED_BANNER = "模拟 SIMULATED: readings from `dcops dcim simulate`, not from the room"


def _device_json(state: Any) -> dict[str, Any]:
    t = state.target
    return {
        "device": t.name,
        "kind": t.kind,
        "room": t.room,
        "rack": t.rack,
        "address": t.address,
        "up": state.up,
        "reason": state.last_reason or None,
        "error": state.last_error or None,
        "duration_seconds": round(state.duration, 4),
        "readings": [r.as_dict() for r in state.current(poller_clock(), float("inf"))],
    }


def _problem_table(found: list[Any]) -> Any:
    from dcops.cli.views import output

    if not found:
        return "问题 problems: none — 一切正常 all devices normal"
    rows = [(p.severity, p.room, p.rack or "-", p.device, p.text) for p in found]
    return output.table(
        f"问题 problems ({len(found)})", ["severity", "room", "rack", "device", "problem"], rows
    )


def _room_tables(states: list[Any]) -> list[Any]:
    from dcops.cli.views import output
    from dcops.dcim import room

    tables = []
    for room_name in sorted({st.target.room for st in states}):
        members = sorted(
            (st for st in states if st.target.room == room_name),
            key=lambda st: (st.target.rack or "~", st.target.name),
        )
        rows = [
            (
                st.target.rack or "-",
                st.target.name,
                st.target.kind,
                "up" if st.up else f"DOWN ({st.last_reason})",
                room.summary(st.target.kind, st.current(poller_clock(), float("inf"))),
            )
            for st in members
        ]
        tables.append(
            output.table(
                f"机房 room {room_name}", ["rack", "device", "kind", "status", "readings"], rows
            )
        )
    return tables


@app.command("watch")
def watch(
    ctx: typer.Context,
    interval: float = typer.Option(5.0, "--interval", min=0.2, help="Seconds between refreshes."),
    timeout: float = _timeout_option(),
    iterations: int = typer.Option(
        0, "--iterations", min=0, help="Stop after this many refreshes (0: until Ctrl-C)."
    ),
) -> None:
    """A live view of the room: racks, temperatures against thresholds, UPS, doors, fire zones, problems."""
    from dcops.cli.views.dcim_watch import run_watch

    s = session(ctx)
    s.require(*_ROLES, action="dcim watch")
    run_watch(s.site, interval, timeout, iterations)


@app.command("serve")
def serve(
    ctx: typer.Context,
    listen: str = typer.Option(
        "127.0.0.1:9810",
        "--listen",
        help="HOST:PORT for /metrics and /probe (port 0: any free port).",
    ),
    interval: float = typer.Option(
        10.0, "--interval", min=0.2, help="Seconds between polls of the whole inventory."
    ),
    timeout: float = _timeout_option(),
    retries: int = typer.Option(
        1, "--retries", min=0, max=5, help="Retries after a silent attempt."
    ),
    shard: str | None = typer.Option(
        None,
        "--shard",
        metavar="K/N",
        help="Poll only shard K of N (run N exporters, one per shard, and list them all).",
    ),
) -> None:
    """Poll the inventory every interval and serve Prometheus metrics until stopped."""
    from dcops.cli.views import output
    from dcops.core.errors import InputError
    from dcops.dcim.service import serve as run_serve
    from dcops.dcim.sharding import Shard

    host, _, port_text = listen.rpartition(":")
    if not host or not port_text.isdigit() or int(port_text) > 65535:
        raise InputError(
            f"--listen {listen!r} is not HOST:PORT; allowed: for example 127.0.0.1:9810"
        )
    share = Shard.parse(shard) if shard else None
    s = session(ctx)
    s.require(*_ROLES, action="dcim serve")

    def ready(port: int, devices: int) -> None:
        part = f" (shard {share.index}/{share.count})" if share else ""
        output.show(
            f"serving {devices} devices{part} on http://{host}:{port}/metrics "
            f"(interval {interval:g} s)"
        )
        import sys

        sys.stdout.flush()

    run_serve(s.site, host, int(port_text), interval, timeout, retries, ready, share)


@app.command("traps")
def traps(
    ctx: typer.Context,
    listen: str = typer.Option(
        "127.0.0.1:9162", "--listen", help="HOST:PORT (UDP) for traps and informs; 162 needs root."
    ),
    metrics: str | None = typer.Option(
        None, "--metrics", metavar="HOST:PORT", help="Serve dcops_dcim_traps_total here."
    ),
    hold: float = typer.Option(
        300.0, "--hold", min=10, help="Seconds a trap's alert lasts unless the poll confirms it."
    ),
) -> None:
    """Receive SNMP v2c/v3 traps and informs from the inventory's devices; each becomes an alert at once."""
    from dcops.cli.views import output
    from dcops.dcim.service import serve_traps

    def split(text: str, option: str) -> tuple[str, int]:
        from dcops.core.errors import InputError

        host, _, port = text.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise InputError(
                f"{option} {text!r} is not HOST:PORT; allowed: for example 127.0.0.1:9162"
            )
        return host.strip("[]"), int(port)

    host, port = split(listen, "--listen")
    where = split(metrics, "--metrics") if metrics else None
    s = session(ctx)
    s.require(*_ROLES, action="dcim traps")

    def ready(bound: int) -> None:
        import sys

        output.show(f"receiving traps on udp {host}:{bound}")
        sys.stdout.flush()

    serve_traps(s.site, host, port, where, hold, ready)


@simulate_app.callback()
def simulate(
    ctx: typer.Context,
    scenario: str | None = typer.Option(
        None,
        "--scenario",
        help="Scenario to play (see `dcops dcim simulate scenarios`); default: the last one set, else normal.",
    ),
    synthetic: int = typer.Option(
        0, "--synthetic", min=0, max=2000, help="Also simulate this many extra UPS units."
    ),
    tick: float = typer.Option(1.0, "--tick", min=0.1, help="Seconds between value updates."),
    detach: bool = typer.Option(
        False, "--detach", help="Run in the background; stop with `dcops dcim simulate stop`."
    ),
    duration: float | None = typer.Option(
        None, "--duration", min=0.1, help="Stop by itself after this many seconds."
    ),
) -> None:
    """Start simulated devices for the inventory and record their addresses for serve and poll."""
    if ctx.invoked_subcommand is not None:
        return
    from dcops.cli.views import output
    from dcops.dcim.service import simulate as run_simulation
    from dcops.dcim.service import spawn_simulation
    from dcops.dcim.simulation import overlay

    s = session(ctx)
    s.require(*_ROLES, action="dcim simulate")
    if scenario is not None:
        overlay.set_scenario(s.site, scenario)
    if detach:
        args = ["--tick", str(tick), "--synthetic", str(synthetic)]
        if duration is not None:
            args += ["--duration", str(duration)]
        record = spawn_simulation(s.site, args)
        output.show(_started(record, overlay.current_scenario(s.site), detached=True))
        return

    def ready(record: dict[str, Any]) -> None:
        import sys

        output.show(_started(record, overlay.current_scenario(s.site), detached=False))
        sys.stdout.flush()

    run_simulation(s.site, None, synthetic, tick, ready, duration)


def _started(record: dict[str, Any], scenario: str, detached: bool) -> str:
    count = len(record.get("simulated", []))
    gateways = len(record.get("gateways", {}))
    plural = "" if gateways == 1 else "s"
    how = f"background pid {record['pid']}" if detached else f"pid {record['pid']}, Ctrl-C stops"
    return f"simulating {count} devices ({gateways} Modbus gateway{plural}), scenario {scenario}, {how}"


@simulate_app.command("set-scenario")
def set_scenario(
    ctx: typer.Context, name: str = typer.Argument(..., help="Scenario name.")
) -> None:
    """Switch the running simulation to another scenario (normal ends any incident)."""
    from dcops.cli.views import output
    from dcops.dcim.simulation import overlay

    s = session(ctx)
    s.require(*_ROLES, action="dcim simulate set-scenario")
    overlay.set_scenario(s.site, name)
    running = overlay.read_overlay(s.site)
    alive = running is not None and overlay.pid_alive(int(running.get("pid", 0)))
    output.show(
        f"scenario {name}" + ("" if alive else " (no simulation runs; the next one starts with it)")
    )


@simulate_app.command("scenarios")
def list_scenarios(ctx: typer.Context) -> None:
    """List the scenarios a simulation can play."""
    from dcops.cli.views import output
    from dcops.dcim.simulation.scenarios import SCENARIOS

    if session(ctx).json:
        output.print_json(SCENARIOS)
        return
    output.show(output.table(None, ["scenario", "what happens"], SCENARIOS.items()))


@simulate_app.command("stop")
def stop(ctx: typer.Context) -> None:
    """Stop the simulation running in the background."""
    from dcops.cli.views import output
    from dcops.dcim.service import stop_simulation

    s = session(ctx)
    s.require(*_ROLES, action="dcim simulate stop")
    pid = stop_simulation(s.site)
    output.show("no simulation runs" if pid is None else f"simulation stopped (pid {pid})")
