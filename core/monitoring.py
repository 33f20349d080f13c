"""The [monitors] section of dcops.toml: where Prometheus and Alertmanager listen, whom to tell."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from dcops.core.channels import ChannelSettings
from dcops.core.documents import Document
from dcops.core.durations import DURATION_RULE as DURATION_RULE
from dcops.core.durations import Duration
from dcops.core.durations import duration_seconds as duration_seconds
from dcops.core.duty import EscalationPolicy, Roster
from dcops.core.errors import Problem
from dcops.core.strict import Strict

if TYPE_CHECKING:
    from dcops.core.site import Person

SEVERITIES = ("critical", "warning")
# Written in the state dir by `dcops monitors up --pair`, removed by `down`.
PAIRED_MARKER = Path("monitors") / "paired"


def _host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT; allowed: e.g. 127.0.0.1:9810")
    return value


def _listen_host(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address; allowed: e.g. 127.0.0.1") from None
    return value


HostPort = Annotated[str, AfterValidator(_host_port)]
Port = Annotated[int, Field(ge=1, le=65535)]


class Thresholds(Strict):
    """Limits the alert rules read from the rendered thresholds file (site-tunable)."""

    ups_min_runtime_seconds: float = Field(600, gt=0)
    ups_battery_temperature_max_celsius: float = 30
    ups_output_load_max_ratio: float = Field(0.8, gt=0, le=1.5)
    pdu_phase_load_max_ratio: float = Field(0.8, gt=0, le=1.5)
    crac_return_air_max_celsius: float = 35
    door_held_open_max_seconds: float = Field(300, gt=0)
    fire_zone_isolated_max_seconds: float = Field(28_800, gt=0)


class Receiver(Strict):
    """Where Alertmanager sends: the shift log, dcops' notifier (channels, roster), a webhook or e-mail."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    kind: Literal["log", "webhook", "email", "notifier"]
    url: str | None = None
    to: str | None = None
    sender: str | None = Field(None, alias="from")
    smarthost: HostPort | None = None
    require_tls: bool = True

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _fields_of_kind(self) -> Receiver:
        needed = {
            "log": (),
            "notifier": (),
            "webhook": ("url",),
            "email": ("to", "sender", "smarthost"),
        }
        missing = [f for f in needed[self.kind] if getattr(self, f) is None]
        if missing:
            names = ", ".join("from" if f == "sender" else f for f in missing)
            raise ValueError(f"a {self.kind} receiver needs {names}")
        if self.url is not None and not re.match(r"^https?://[^\s/]+", self.url):
            raise ValueError(f"url {self.url!r} is not an http(s) URL")
        return self


class Route(Strict):
    """Which alerts a receiver gets: by severity and room (empty list: all)."""

    receiver: str
    severities: list[Literal["critical", "warning"]] = []
    rooms: list[str] = []


class MonitorsConfig(Strict):
    """Prometheus, Alertmanager and the shift-log sink on this host, and the notification routes."""

    listen_host: Annotated[str, AfterValidator(_listen_host)] = "127.0.0.1"
    prometheus_port: Port = 9090
    alertmanager_port: Port = 9093
    sink_port: Port = 9811
    notifier_port: Port = 9812
    pair_prometheus_port: Port = 9091
    pair_alertmanager_port: Port = 9095
    cluster_port: Port = 9094
    pair_cluster_port: Port = 9096
    cluster_peer_timeout: Duration = Field(
        "15s", description="how long an Alertmanager waits for the one before it to notify"
    )
    remote_write_url: str | None = Field(
        None, pattern=r"^https?://[^\s]+$", description="long-term storage (VictoriaMetrics)"
    )
    exporters: list[HostPort] = ["127.0.0.1:9810"]
    cloud_exporters: list[HostPort] = Field(
        ["127.0.0.1:9466"],
        description="where `dcops cloud exporter` serves (its own job; empty: no cloud job)",
    )
    scrape_interval: Duration = "15s"
    evaluation_interval: Duration = "15s"
    group_wait: Duration = "30s"
    critical_group_wait: Duration = "5s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"
    max_for: Duration | None = Field(
        None, description="cap every alert's `for` (rehearsals and tests only)"
    )
    runbook_base_url: str = ""
    default_receiver: str = "shift-log"
    thresholds: Thresholds = Thresholds()
    receivers: list[Receiver] = [Receiver(name="shift-log", kind="log")]
    routes: list[Route] = []
    channels: list[ChannelSettings] = []
    roster: Roster = Roster()
    escalation: list[EscalationPolicy] = []
    retry_initial: Duration = Field(
        "1s", description="first pause before a failed delivery is retried"
    )
    retry_max: Duration = Field(
        "5m", description="longest pause between retries (doubling up to it)"
    )

    def address(self, port: int) -> str:
        """HOST:PORT on the listen host (IPv6 in brackets)."""
        host = self.listen_host
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def prometheus_url(self) -> str:
        """Base URL of Prometheus."""
        return f"http://{self.address(self.prometheus_port)}"

    @property
    def alertmanager_url(self) -> str:
        """Base URL of Alertmanager."""
        return f"http://{self.address(self.alertmanager_port)}"

    @property
    def pair_alertmanager_url(self) -> str:
        """Base URL of the second Alertmanager of a pair."""
        return f"http://{self.address(self.pair_alertmanager_port)}"

    def alertmanager_members(self, state: Path) -> list[str]:
        """The Alertmanagers to ask in turn: the first, then its pair member while the pair runs."""
        paired = (state / PAIRED_MARKER).exists()
        return [self.alertmanager_url, *([self.pair_alertmanager_url] if paired else [])]

    def prometheus_members(self, state: Path) -> list[str]:
        """The Prometheus servers to ask in turn: the first, then its pair member while it runs."""
        paired = (state / PAIRED_MARKER).exists()
        second = f"http://{self.address(self.pair_prometheus_port)}"
        return [self.prometheus_url, *([second] if paired else [])]

    @property
    def sink_url(self) -> str:
        """URL that Alertmanager posts to for the shift log."""
        return f"http://{self.address(self.sink_port)}/alerts"

    @property
    def notifier_url(self) -> str:
        """URL that Alertmanager posts to for dcops' notifier."""
        return f"http://{self.address(self.notifier_port)}/alerts"

    @property
    def notifier_wanted(self) -> bool:
        """Whether a receiver sends to the notifier, so `monitors up` starts it."""
        return any(r.kind == "notifier" for r in self.receivers)


def check_monitors(
    monitors: MonitorsConfig, rooms: list[str], doc: Document, people: Sequence[Person] = ()
) -> list[Problem]:
    """Cross-checks of [monitors]: unique names, routes, channels, roster and escalation references."""
    problems: list[Problem] = []
    problems += _check_duty(monitors, people, doc)
    names = [r.name for r in monitors.receivers]
    known = ", ".join(names) or "(none defined)"
    for i, name in enumerate(names):
        if name in names[:i]:
            problems.append(
                doc.problem(("monitors", "receivers", i, "name"), f"duplicate receiver {name!r}")
            )
    if monitors.default_receiver not in names:
        problems.append(
            doc.problem(
                ("monitors", "default_receiver"),
                f"unknown receiver {monitors.default_receiver!r}; allowed: {known}",
            )
        )
    for i, route in enumerate(monitors.routes):
        if route.receiver not in names:
            problems.append(
                doc.problem(
                    ("monitors", "routes", i, "receiver"),
                    f"unknown receiver {route.receiver!r}; allowed: {known}",
                )
            )
        for j, room in enumerate(route.rooms):
            if room not in rooms:
                problems.append(
                    doc.problem(
                        ("monitors", "routes", i, "rooms", j),
                        f"unknown room {room!r}; allowed: {', '.join(rooms) or '(no rooms)'}",
                    )
                )
    ports = {
        "prometheus_port": monitors.prometheus_port,
        "alertmanager_port": monitors.alertmanager_port,
        "sink_port": monitors.sink_port,
        "notifier_port": monitors.notifier_port,
        "pair_prometheus_port": monitors.pair_prometheus_port,
        "pair_alertmanager_port": monitors.pair_alertmanager_port,
        "cluster_port": monitors.cluster_port,
        "pair_cluster_port": monitors.pair_cluster_port,
    }
    for field, port in ports.items():
        clash = [other for other, p in ports.items() if p == port and other < field]
        if clash:
            problems.append(
                doc.problem(
                    ("monitors", field), f"port {port} is also {clash[0]}; ports must differ"
                )
            )
    return problems


def _check_duty(monitors: MonitorsConfig, people: Sequence[Person], doc: Document) -> list[Problem]:
    problems: list[Problem] = []
    channels = [c.name for c in monitors.channels]
    for i, name in enumerate(channels):
        if name in channels[:i]:
            problems.append(
                doc.problem(("monitors", "channels", i, "name"), f"duplicate channel {name!r}")
            )
    if not people:
        return problems
    known = {p.user: p for p in people}
    users = ", ".join(known)
    roster = monitors.roster
    if roster.manager is not None and roster.manager not in known:
        problems.append(
            doc.problem(
                ("monitors", "roster", "manager"),
                f"unknown person {roster.manager!r}; allowed: {users}",
            )
        )
    for i, shift in enumerate(roster.shifts):
        for j, user in enumerate(shift.people):
            if user not in known:
                at = ("monitors", "roster", "shifts", i, "people", j)
                problems.append(doc.problem(at, f"unknown person {user!r}; allowed: {users}"))
    roles = {s.role for s in roster.shifts}
    kinds = {c.name: c.kind for c in monitors.channels}
    for i, policy in enumerate(monitors.escalation):
        if policy.role not in roles:
            problems.append(
                doc.problem(
                    ("monitors", "escalation", i, "role"),
                    f"no shift of role {policy.role!r} in [monitors.roster]; "
                    f"allowed: {', '.join(sorted(roles)) or '(no shifts)'}",
                )
            )
        for j, step in enumerate(policy.steps):
            if step.to == "manager" and roster.manager is None:
                problems.append(
                    doc.problem(
                        ("monitors", "escalation", i, "steps", j, "to"),
                        "escalates to the manager but [monitors.roster] names no manager",
                    )
                )
            for k, channel in enumerate(step.channels):
                where = ("monitors", "escalation", i, "steps", j, "channels", k)
                if channel not in kinds:
                    problems.append(
                        doc.problem(
                            where,
                            f"unknown channel {channel!r}; allowed: {', '.join(kinds) or '(none defined)'}",
                        )
                    )
                elif kinds[channel] == "sms":
                    problems += _phones_needed(policy.role, roster, known, doc, where)
    return problems


def _phones_needed(
    role: str, roster: Roster, known: dict[str, Person], doc: Document, where: tuple[str | int, ...]
) -> list[Problem]:
    users = {u for s in roster.shifts if s.role == role for u in s.people}
    if roster.manager:
        users.add(roster.manager)
    missing = sorted(u for u in users if u in known and known[u].phone is None)
    if not missing:
        return []
    return [
        doc.problem(where, f"an SMS channel needs a phone for {', '.join(missing)} in [[people]]")
    ]
