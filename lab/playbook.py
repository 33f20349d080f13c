"""Run one of the site's playbooks through ansible-runner and tally what happened per host."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dcops.core.errors import InputError, MissingDependency
from dcops.core.site import Site
from dcops.lab.access import control_dir
from dcops.lab.inventory import inventory_dir
from dcops.lab.topology import lab_prefix

PLAYBOOKS = {
    "network": "network.yml",
    "backup": "backup.yml",
    "backup-verify": "backup-verify.yml",
    "all": "site.yml",
    "dcops-server": "dcops-server.yml",
}

TASK_TIMEOUT = 300  # seconds; a task that hangs (a daemon holding ssh open) fails instead
Event = Mapping[str, Any]
EventSink = Callable[[Event], None]


@dataclass
class HostTally:
    """What one host went through in a run."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0


@dataclass
class RunResult:
    """A finished playbook run: per-host tallies, changed tasks, messages and where artifacts are."""

    playbook: str
    target: str
    check: bool
    status: str
    rc: int
    hosts: dict[str, HostTally]
    changed_tasks: list[str]
    failures: list[str]
    messages: list[str]
    artifacts: Path
    seconds: float = 0.0

    @property
    def succeeded(self) -> bool:
        """Nothing failed and every host was reached."""
        return (
            self.rc == 0
            and self.status == "successful"
            and not any(t.failed or t.unreachable for t in self.hosts.values())
        )


@dataclass
class Plan:
    """What a run will do, shown before asking."""

    playbook: str
    path: Path
    inventory: Path
    target: str
    hosts: list[str]
    check: bool
    diff: bool
    limit: str | None
    env: dict[str, str] = field(default_factory=dict)


def plan(site: Site, name: str, *, lab: bool, limit: str | None, check: bool, diff: bool) -> Plan:
    """Resolve the playbook and inventory of a run; InputError if either is missing."""
    if name not in PLAYBOOKS:
        raise InputError(f"unknown playbook {name!r}; allowed: {', '.join(PLAYBOOKS)}")
    project = site.paths.root / "playbooks"
    path = project / PLAYBOOKS[name]
    if not path.is_file():
        raise InputError(f"playbook {site.paths.relative(path)} is missing")
    if lab:
        lab_dir = site.paths.state / "lab"
        inventory = inventory_dir(lab_dir)
        if not (lab_dir / "lab.json").is_file():
            raise InputError("the lab is not up: run `dcops lab up` first (or drop --lab)")
        cp = control_dir(lab_prefix(site.paths.state))
    else:
        inventory = site.paths.inventory / "hosts.yml"
        if not inventory.is_file():
            raise InputError("inventory/hosts.yml is missing: the site has no hosts to configure")
        digest = hashlib.sha256(str(site.paths.state).encode()).hexdigest()[:8]
        cp = Path("/tmp") / f"dcops-{digest}-cp"
    hosts = [h.name for h in site.hosts.hosts]
    return Plan(
        name,
        path,
        inventory,
        "lab" if lab else "site",
        hosts,
        check,
        diff,
        limit,
        _environment(site, project, cp),
    )


def _environment(site: Site, project: Path, control: Path) -> dict[str, str]:
    control.mkdir(mode=0o700, parents=True, exist_ok=True)
    home = site.paths.state_path("configure", "ansible-home")
    home.mkdir(parents=True, exist_ok=True)
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "ANSIBLE_CONFIG": str(project / "ansible.cfg"),
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_TASK_TIMEOUT": str(TASK_TIMEOUT),
        "ANSIBLE_FORCE_COLOR": "0",
    }


def run(the_plan: Plan, site: Site, on_event: EventSink | None = None) -> RunResult:
    """Run the plan with ansible-runner; artifacts stay in the state dir."""
    try:
        import ansible_runner
    except ImportError:
        raise MissingDependency(
            "ansible-runner is not installed; install it with: pip install '.[configure]'"
        ) from None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    private = site.paths.state_path("configure", "runs", f"{stamp}-{the_plan.playbook}")
    private.mkdir(parents=True)
    tally = _Tally(on_event)
    started = time.monotonic()
    flags = [f for f, on in (("--check", the_plan.check), ("--diff", the_plan.diff)) if on]
    runner = ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(the_plan.path.parent),
        playbook=the_plan.path.name,
        inventory=str(the_plan.inventory),
        limit=the_plan.limit,
        cmdline=" ".join(flags) or None,
        envvars=the_plan.env,
        quiet=True,
        event_handler=tally.event,
        suppress_env_files=True,
    )
    return RunResult(
        playbook=the_plan.playbook,
        target=the_plan.target,
        check=the_plan.check,
        status=str(runner.status),
        rc=int(runner.rc),
        hosts=tally.hosts_from(runner.stats or {}),
        changed_tasks=tally.changed,
        failures=tally.failures,
        messages=tally.messages,
        artifacts=private,
        seconds=time.monotonic() - started,
    )


class _Tally:
    """Collects changed tasks, failures and debug messages from the runner's event stream."""

    def __init__(self, forward: EventSink | None) -> None:
        self.forward = forward
        self.changed: list[str] = []
        self.failures: list[str] = []
        self.messages: list[str] = []

    def event(self, event: Event) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data", {}) or {}
        host, task = data.get("host", ""), data.get("task", "")
        res = data.get("res", {}) or {}
        if kind == "runner_on_ok":
            if res.get("changed"):
                self.changed.append(f"{host}: {task}")
            if data.get("task_action") in ("debug", "ansible.builtin.debug") and "msg" in res:
                self.messages.append(str(res["msg"]))
        elif kind in ("runner_on_failed", "runner_on_unreachable") and not data.get(
            "ignore_errors"
        ):
            reason = res.get("msg") or res.get("stderr") or "failed"
            self.failures.append(f"{host}: {task}: {str(reason).strip()[:300]}")
        if self.forward:
            self.forward(event)
        return True

    def hosts_from(self, stats: Mapping[str, Mapping[str, int]]) -> dict[str, HostTally]:
        names = sorted({h for counts in stats.values() for h in counts})
        return {
            name: HostTally(
                ok=stats.get("ok", {}).get(name, 0),
                changed=stats.get("changed", {}).get(name, 0),
                failed=stats.get("failures", {}).get(name, 0),
                unreachable=stats.get("dark", {}).get(name, 0),
                skipped=stats.get("skipped", {}).get(name, 0),
            )
            for name in names
        }
