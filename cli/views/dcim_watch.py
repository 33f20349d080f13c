"""`dcops dcim watch`: the room as a live terminal view (Rich Live), refreshed every interval."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dcops.core.site import Site
    from dcops.dcim.poller import Poller

_COLOURS = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def _temperature(value: float | None, high: float, low: float) -> Any:
    from rich.text import Text

    if value is None:
        return Text("—", style="dim")
    from dcops.core.site import INLET_CRITICAL_MARGIN

    above, below = INLET_CRITICAL_MARGIN
    critical = value > high + above or value < low - below
    style = "bold red" if critical else "yellow" if value > high or value < low else "green"
    return Text(f"{value:.1f} °C", style=style)


def render(poller: Poller, site: Site, scenario: str) -> Any:
    """The whole screen: racks, power, doors and fire, then the problems."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from dcops.dcim import room

    now = time.time()
    states = list(poller.states.values())
    current = {st.target.name: st.current(now, poller.max_age) for st in states}
    simulated = f"模拟 SIMULATED scenario {scenario} — " if poller.simulated else ""
    header = Text(
        f"{site.name} — {time.strftime('%Y-%m-%d %H:%M:%S')} — {simulated}refresh {poller.interval:g} s",
        style="bold red" if poller.simulated else "bold",
    )
    racks = Table(title="机柜进风 rack inlet", title_justify="left")
    for column in ("room", "rack", "sensor", "temperature", "humidity"):
        racks.add_column(column)
    for st in sorted(
        (s for s in states if s.target.kind == "env-sensor"),
        key=lambda s: (s.target.room, s.target.rack),
    ):
        lim = room.limits(st)
        readings = current[st.target.name]
        temp = next(
            (r.value for r in readings if r.metric == "dcops_dcim_env_temperature_celsius"), None
        )
        rh = next((r.value for r in readings if r.metric == "dcops_dcim_env_humidity_ratio"), None)
        racks.add_row(
            st.target.room,
            st.target.rack or "-",
            st.target.name,
            _temperature(
                temp, lim.temperature_high_celsius or 27, lim.temperature_low_celsius or 18
            ),
            "—" if rh is None else f"{rh:.0%}",
        )
    others = Table(title="设备 devices", title_justify="left")
    for column in ("device", "kind", "status", "readings"):
        others.add_column(column)
    for st in sorted(
        (s for s in states if s.target.kind != "env-sensor"),
        key=lambda s: (s.target.kind, s.target.name),
    ):
        status = (
            Text("up", style="green") if st.up else Text(f"DOWN {st.last_reason}", style="bold red")
        )
        if not st.polled:
            status = Text("…", style="dim")
        others.add_row(
            st.target.name,
            st.target.kind,
            status,
            room.summary(st.target.kind, current[st.target.name]),
        )
    found = room.ordered_problems(
        [p for st in states for p in room.problems(st, current[st.target.name])]
    )
    problems = Table(title=f"问题 problems ({len(found)})", title_justify="left")
    for column in ("severity", "where", "device", "problem"):
        problems.add_column(column)
    for p in found:
        problems.add_row(
            Text(p.severity, style=_COLOURS.get(p.severity, "")),
            f"{p.room}/{p.rack or '-'}",
            p.device,
            p.text,
        )
    if not found:
        problems.add_row(Text("ok", style="green"), "", "", "一切正常 all devices normal")
    return Group(header, problems, racks, others)


def run_watch(site: Site, interval: float, timeout: float, iterations: int) -> None:
    """Poll every interval and redraw until Ctrl-C or after iterations refreshes."""
    from rich.live import Live

    from dcops.cli.views.output import console
    from dcops.dcim.service import site_poller
    from dcops.dcim.simulation import overlay

    async def run() -> None:
        poller = site_poller(site, interval, min(timeout, interval), retries=0)
        done = 0
        try:
            with Live(
                render(poller, site, overlay.current_scenario(site)),
                console=console(),
                auto_refresh=False,
            ) as live:
                while iterations == 0 or done < iterations:
                    started = time.monotonic()
                    await poller.poll_all()
                    done += 1
                    live.update(render(poller, site, overlay.current_scenario(site)), refresh=True)
                    if iterations and done >= iterations:
                        break
                    await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        finally:
            await poller.close()

    asyncio.run(run())
