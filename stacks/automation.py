"""Drive the real Pulumi engine through the Automation API: one stack per tenancy, and the platform."""

from __future__ import annotations

import os
import re
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import yaml

from dcops.core.errors import InputError, OperationFailed
from dcops.core.site import Site
from dcops.stacks.backend import (
    PROJECT,
    Backend,
    backend_of,
    pulumi_command,
    read_secret,
    require_cli,
)
from dcops.stacks.program import (
    PARTS,
    SECRET_NAMESPACE,
    Clouds,
    platform_program,
    tenancy_program,
)
from dcops.stacks.spec import TenancySpec
from dcops.tenancy.model import PLATFORM_STACK

# The engine warns when it runs a plugin found on PATH; dcops puts its plugins there on purpose.
AMBIENT_PLUGIN = re.compile(r"using pulumi-resource-\S+ from \$PATH at ")
# Engine steps that change nothing in the cloud (refresh reads it; read looks a resource up).
UNCHANGED = ("same", "refresh", "read")
MAX_FIELDS = 12
# An API the engine talks to went away (the Kubernetes and OpenStack plugins' words for it).
UNREACHABLE = re.compile(
    r"[^\n]*(?:connection refused|connection reset by peer|cluster is unreachable|"
    r"i/o timeout|no route to host|TLS handshake timeout)[^\n]*"
)
RESOURCE_COUNT = re.compile(
    r"^\s*[-+~]?\s*(\d+ (?:created|updated|deleted|errored|unchanged))", re.M
)
MAX_CAUSE = 200
LOCK_HOLDER = re.compile(r"created by (?P<who>\S+) \(pid (?P<pid>\d+)\) at (?P<when>\S+)")


class Progress(Protocol):
    """Receives engine progress, resource by resource (the CLI draws it)."""

    def planned(self, total: int) -> None:
        """How many steps the operation will take."""

    def step(self, op: str, urn: str, done: bool, failed: bool = False) -> None:
        """A resource step started (done=False) or finished (done=True)."""

    def note(self, message: str) -> None:
        """A diagnostic the engine reported."""


@dataclass
class Outcome:
    """What an engine operation did: counts per operation and the changed resources."""

    summary: dict[str, int] = field(default_factory=dict)
    steps: list[tuple[str, str]] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)  # urn → properties that differ
    notes: list[str] = field(default_factory=list)  # what dcops did beside the engine
    # Security-group rules in the cloud that the stack does not hold (the engine cannot see them).
    drift: list[str] = field(default_factory=list)
    # The stack's outputs after an update (stacks/outputs.py), secrets masked.
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def changes(self) -> int:
        """How many resources change (anything but 'same'), out-of-band rules included."""
        return sum(n for op, n in self.summary.items() if op != "same") + len(self.drift)

    def text(self) -> str:
        """The changes as plain text, for the terminal and the audit journal."""
        counts = ", ".join(f"{op} {n}" for op, n in sorted(self.summary.items())) or "no changes"
        lines = [counts]
        for op, urn in self.steps:
            line = f"{op} {short_urn(urn)}" + (
                f" ({', '.join(self.fields[urn])})" if self.fields.get(urn) else ""
            )
            if op not in UNCHANGED and line not in lines:
                lines.append(line)
        if self.drift:
            lines[0] += f"; drift: {len(self.drift)} rule(s) made outside the stack"
        return "\n".join(lines + self.drift + self.notes)

    def note_fields(self, meta: Any) -> None:
        """Keep which properties of a resource differ (drift found by a refresh, or an update)."""
        changed = sorted((meta.detailed_diff or {}).keys()) or list(meta.diffs or [])
        if changed:
            self.fields[meta.urn] = changed[:MAX_FIELDS]


def stack_config(
    site: Site, spec: TenancySpec | None, clouds: Clouds, program: bool = True
) -> dict[str, Any]:
    """A stack's config: where the providers point and, when its program is to run with the
    OpenStack part, a tenancy's VPN pre-shared keys (refresh and destroy run no program)."""
    config: dict[str, Any] = {"openstack:cloud": clouds.openstack_cloud}
    if spec is None:  # the platform stack: OpenStack only, no secrets
        return config
    if clouds.kube_context:
        config["kubernetes:context"] = clouds.kube_context
    for vpn in spec.vpns if program and "openstack" in clouds.parts else ():
        config[f"{SECRET_NAMESPACE}:{vpn.psk_secret}"] = read_secret(site, vpn.psk_secret)
    return config


def write_stack_file(work_dir: Path, stack: str, config: dict[str, Any]) -> Path:
    """Pulumi.<stack>.yaml with mode 0600: secrets go through a private file, never argv."""
    private_dirs(work_dir)
    path = work_dir / f"Pulumi.{stack}.yaml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        yaml.safe_dump({"config": config}, out, allow_unicode=True, sort_keys=True)
    return path


def workspace_options(site: Site, stack: str, backend: Backend, cli: Path | None = None) -> Any:
    """LocalWorkspaceOptions for a stack: its own work dir, the site backend, passphrase; with
    the CLI's path, that CLI and the plugins beside it (no Python language host: the program is
    inline, served by the Automation API itself)."""
    from pulumi import automation as auto

    return auto.LocalWorkspaceOptions(
        work_dir=str(work_dir_of(site, stack)),
        pulumi_home=str(backend.home),
        pulumi_command=pulumi_command(cli) if cli is not None else None,
        env_vars=backend.env(cli),
        secrets_provider="passphrase",
        project_settings=auto.ProjectSettings(
            name=PROJECT, runtime="python", backend=auto.ProjectBackend(url=backend.url)
        ),
    )


def work_dir_of(site: Site, stack: str) -> Path:
    """The Pulumi work dir of a stack (a tenancy's, or the platform's), in the state dir."""
    return site.paths.state_path("stacks", stack, "workspace")


def private_dirs(path: Path) -> None:
    """Create path and any missing parents with mode 0700."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)


class StackDriver:
    """Preview, update, refresh and destroy one stack (a tenancy's, or the platform) for real."""

    def __init__(
        self, site: Site, name: str, program: Callable[[], None], config: dict[str, Any]
    ) -> None:
        self.site, self.name, self.program = site, name, program
        self.backend = backend_of(site)
        write_stack_file(work_dir_of(site, name), name, config)
        self.secrets = [str(v) for k, v in config.items() if k.startswith(f"{SECRET_NAMESPACE}:")]
        self._stack: Any = None
        self._deployment: Mapping[str, Any] = {}  # the stack's state when it was opened
        self._reading: Future[tuple[Any, Mapping[str, Any] | None]] | None = None
        self.parts: tuple[str, ...] = PARTS
        self.openstack_cloud = str(config.get("openstack:cloud", ""))

    @classmethod
    def for_tenancy(
        cls, site: Site, spec: TenancySpec, clouds: Clouds | None = None, program: bool = True
    ) -> StackDriver:
        """The driver of one tenancy's stack (refused before anything is written without the
        CLI); program=False for refresh and destroy, which need no secrets of the program."""
        require_cli()
        clouds = clouds or Clouds.for_site(site)
        if program and "openstack" in clouds.parts and not clouds.login:
            from dcops.stacks.cloud_login import project_login

            clouds = replace(clouds, login=project_login(clouds.openstack_cloud))
        config = stack_config(site, spec, clouds, program)
        driver = cls(site, spec.name, tenancy_program(spec, clouds), config)
        driver.parts = clouds.parts
        return driver

    @classmethod
    def for_platform(cls, site: Site, clouds: Clouds | None = None) -> StackDriver:
        """The driver of the platform stack: external network and flavor catalogue."""
        from dcops.stacks.config import platform_args

        require_cli()
        clouds = clouds or Clouds.from_environment()
        program = platform_program(platform_args(site), clouds)
        return cls(site, PLATFORM_STACK, program, stack_config(site, None, clouds))

    def read_ahead(self) -> None:
        """Start reading the stack's state in a thread, so that the CLI's start-up overlaps
        dcops' own checks; read-only (a new stack is created by stack(), after the checks)."""
        from concurrent.futures import ThreadPoolExecutor

        # Imported here first: an import in the thread could meet the same import in this one.
        from pulumi import automation  # noqa: F401

        from dcops.stacks import engine_stack  # noqa: F401

        if self._stack is None and self._reading is None:
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stack-state")
            self._reading = pool.submit(self._read_state)
            pool.shutdown(wait=False)

    def _read_state(self) -> tuple[Any, Mapping[str, Any] | None]:
        from pulumi import automation as auto

        from dcops.stacks.engine_stack import EngineStack

        options = workspace_options(self.site, self.name, self.backend, require_cli())
        options.program = self.program
        options.project_settings.main = os.getcwd()  # as auto.create_or_select_stack does
        with _engine_errors(self.site, self.name):
            workspace = auto.LocalWorkspace(**vars(options))
            return workspace, EngineStack.read_state(self.name, workspace)

    def _state_read(self) -> tuple[Any, Mapping[str, Any] | None]:
        """The workspace and the stack's state as read (None: no such stack yet), read once."""
        if self._reading is None:
            read = self._read_state()
            self._reading = Future()
            self._reading.set_result(read)
        return self._reading.result()

    def stack(self) -> Any:
        """The Automation API stack, opened (created if new) on first use."""
        if self._stack is None:
            from dcops.stacks.engine_stack import EngineStack

            workspace, state = self._state_read()
            with _engine_errors(self.site, self.name):
                self._stack, self._deployment = EngineStack.open(self.name, workspace, state)
        return self._stack

    def parts_in_state(self) -> set[str]:
        """Which parts (openstack, kubernetes) the stack's state holds (read-only: a stack
        that does not exist yet is not created here)."""
        state = self._state_read()[1] or {}
        types = [str(r.get("type", "")) for r in state.get("resources") or []]
        return {
            part
            for part in PARTS
            if any(t.startswith(f"{part}:") or t == f"pulumi:providers:{part}" for t in types)
        }

    def refuse_dropping_parts(self) -> None:
        """Refuse an update with only some parts when the stack holds the others (it would delete them)."""
        dropped = sorted(self.parts_in_state() - set(self.parts))
        if dropped:
            raise InputError(
                f"堆栈 {self.name} 已有 {', '.join(dropped)} 资源 / stack {self.name} holds "
                f"{', '.join(dropped)} resources that an update with only "
                f"{', '.join(self.parts)} would delete; provision it without --only"
            )

    def preview(self, progress: Progress) -> Outcome:
        """What an update would change, against the cloud as it is now (refreshed first)."""
        outcome = Outcome()
        stack = self.stack()
        with self._failures(), stack.reporting(_listener(progress, outcome)) as listener:
            result = _cancellable(
                lambda: stack.preview(on_event=listener, color="never", refresh=True)
            )
        outcome.summary = {op_name(k): int(v) for k, v in (result.change_summary or {}).items()}
        outcome.drift = [f"remove {text}" for _, text in self._unmanaged_rules()]
        return outcome

    def up(self, progress: Progress) -> Outcome:
        """Apply the program, then remove rules made outside it from its security groups."""
        from dcops.stacks.leftovers import remove_rules

        outcome = self._run("up", progress)
        try:
            outcome.outputs = self._outputs()
        except OperationFailed as exc:  # the update is applied: a failed read must not undo that
            outcome.notes.append(f"输出读取失败 / the stack's outputs could not be read: {exc}")
        extra = [rule for rule, _ in self._unmanaged_rules()]
        if extra:
            outcome.notes += remove_rules(self.openstack_cloud, extra)
        return outcome

    def refresh(self, progress: Progress) -> Outcome:
        """Bring the stack's state in line with the cloud; report rules made outside it."""
        outcome = self._run("refresh", progress)
        outcome.drift = [f"not declared: {text}" for _, text in self._unmanaged_rules()]
        return outcome

    def _unmanaged_rules(self) -> list[tuple[Any, str]]:
        """Rules in the stack's security groups that no resource of the stack holds."""
        if not self.openstack_cloud or "openstack" not in self.parts:
            return []
        from dcops.stacks.leftovers import unmanaged_rules

        with _engine_errors(self.site, self.name):
            deployment = self.stack().export_stack().deployment or {}
        return unmanaged_rules(self.openstack_cloud, deployment)

    def destroy(self, progress: Progress) -> Outcome:
        """Delete every resource of the stack, then what Neutron made in its projects unasked."""
        from dcops.stacks.leftovers import projects_in, remove_security_groups

        self.stack()
        projects = projects_in(self._deployment)
        outcome = self._run("destroy", progress)
        if projects and self.openstack_cloud:
            outcome.notes += remove_security_groups(self.openstack_cloud, projects)
        return outcome

    def _run(self, verb: str, progress: Progress) -> Outcome:
        from dcops.stacks.stale_locks import clear_stale_locks

        outcome = Outcome(notes=clear_stale_locks(self.backend.url, self.name))
        stack = self.stack()
        kwargs: dict[str, Any] = {"color": "never"}
        if verb == "up":
            kwargs["show_secrets"] = False
            kwargs["refresh"] = True  # drift made out of band is put right, not kept
        elif verb == "destroy":
            # A resource already deleted by hand is dropped from the state, not deleted again:
            # some of the provider's deletes (a VPN site connection's) fail on Neutron's 404.
            kwargs["refresh"] = True
        try:
            with self._failures(), stack.reporting(_listener(progress, outcome)) as listener:
                result = _cancellable(lambda: getattr(stack, verb)(on_event=listener, **kwargs))
        except Cancelled as exc:
            # The CLI has ended; if it left its lock behind, the next run must not be refused.
            left = clear_stale_locks(self.backend.url, self.name)
            raise Cancelled("; ".join([str(exc), *left])) from None
        changes = result.summary.resource_changes or {}
        outcome.summary = {op_name(k): int(v) for k, v in changes.items()}
        return outcome

    def _outputs(self) -> dict[str, Any]:
        """The stack's outputs as the last update left them, secrets masked (two CLI runs)."""
        from dcops.stacks.outputs import SECRET

        with _engine_errors(self.site, self.name):
            found = self.stack().workspace.stack_outputs(self.name)
        return {key: SECRET if out.secret else out.value for key, out in found.items()}

    def _with_faults(self, exc: OperationFailed) -> OperationFailed:
        """The engine's failure with Nova's reason for every server that went to ERROR."""
        if not self.openstack_cloud:
            return exc
        from dcops.stacks.server_faults import describe_faults

        faults = describe_faults(self.openstack_cloud, str(exc))
        return OperationFailed("\n".join([str(exc), *faults])) if faults else exc

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """Engine errors as dcops errors; when the cloud's Keystone is down, said first, by URL."""
        try:
            with _engine_errors(self.site, self.name):
                yield
        except Cancelled:
            raise
        except OperationFailed as exc:
            down = None
            if self.openstack_cloud:
                from dcops.stacks.cloud_login import identity_down

                down = identity_down(self.openstack_cloud)
            if down is None:
                raise self._with_faults(exc) from None
            raise OperationFailed(
                f"{down} (Keystone 不可用); what the engine finished is kept in the stack's "
                f"state: run the same command again once Keystone answers\n{exc}"
            ) from None


def short_urn(urn: str) -> str:
    """A resource as people read it: its type and name ("kubernetes:core/v1:Namespace fgw")."""
    parts = urn.split("::")
    if len(parts) < 4:
        return urn
    return f"{parts[2].split('$')[-1]} {parts[-1]}"


def op_name(op: Any) -> str:
    """An engine operation as its plain name ("create"), whether given as enum or text."""
    return str(getattr(op, "value", op))


def _listener(progress: Progress, outcome: Outcome) -> Callable[[Any], None]:
    def on_event(event: Any) -> None:
        if event.summary_event is not None:
            return
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            outcome.note_fields(meta)
            progress.step(op_name(meta.op), meta.urn, done=False)
        elif event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            outcome.note_fields(meta)
            outcome.steps.append((op_name(meta.op), meta.urn))
            progress.step(op_name(meta.op), meta.urn, done=True)
        elif event.res_op_failed_event is not None:
            meta = event.res_op_failed_event.metadata
            progress.step(op_name(meta.op), meta.urn, done=True, failed=True)
        elif event.diagnostic_event is not None and event.diagnostic_event.severity in (
            "error",
            "warning",
        ):
            message = event.diagnostic_event.message.strip()
            if not AMBIENT_PLUGIN.search(message):
                progress.note(message)

    return on_event


class Cancelled(OperationFailed):
    """The operator pressed Ctrl-C; the engine was asked to stop and has stopped."""

    exit_code = 130


def _cancellable(call: Callable[[], Any]) -> Any:
    """Run an engine call in a thread; Ctrl-C or SIGTERM asks the CLI to cancel, then waits for it."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="pulumi-engine", daemon=True)
    interrupted = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        interrupted.set()
        _forward_interrupt()

    with _signals(on_signal):
        worker.start()
        while worker.is_alive():
            worker.join(0.2)
    if interrupted.is_set():
        raise Cancelled(
            "cancelled: the engine stopped after finishing the steps in flight (取消); "
            "run `dcops refresh` to see what was changed"
        )
    if "error" in box:
        raise box["error"]
    return box["result"]


@contextmanager
def _signals(handler: Callable[[int, object], None]) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _forward_interrupt() -> None:
    """One SIGINT to each child (the pulumi CLI): it cancels gracefully on the first one."""
    for pid in _children(os.getpid()):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    return found


@contextmanager
def _engine_errors(site: Site, stack: str) -> Iterator[None]:
    """Turn Automation API errors into dcops errors with what to do next."""
    from pulumi import automation as auto

    try:
        yield
    except FileNotFoundError as exc:
        if "pulumi" in str(exc.filename or exc):
            require_cli()
        raise
    except auto.InvalidVersionError as exc:
        raise InputError(
            f"the installed pulumi CLI is too old: {exc}; install a current release"
        ) from None
    except auto.ConcurrentUpdateError as exc:
        raise OperationFailed(lock_message(stack, str(exc))) from None
    except auto.CommandError as exc:
        text = str(exc)
        if "locked" in text and "lock" in text:
            raise OperationFailed(lock_message(stack, text)) from None
        raise OperationFailed(failure_message(stack, text)) from None
    except RuntimeError as exc:  # the CLI ended without reporting a summary
        raise OperationFailed(f"pulumi ended without a result on stack {stack}: {exc}") from None


def lock_message(stack: str, text: str) -> str:
    """The lock error said plainly: which stack, who holds it, and what to do."""
    holder = LOCK_HOLDER.search(text)
    who = (
        f"{holder['who']} (pid {holder['pid']}, since {holder['when']})"
        if holder
        else "another update"
    )
    return (
        f"stack {stack} is locked by {who} (栈已被锁定); wait for that run to finish; if that "
        f"process is gone, remove its lock (file backend: the lock file under "
        f".pulumi/locks/ in the backend folder; other backends: `pulumi cancel --stack {stack}`)"
    )


def failure_message(stack: str, text: str) -> str:
    """An engine failure said plainly; a cloud that stopped answering gets what to do next."""
    cause = UNREACHABLE.search(text)
    if cause is None:
        return f"pulumi failed on stack {stack}: {_last_lines(text)}"
    counts = ", ".join(RESOURCE_COUNT.findall(text.partition("Resources:")[2]))
    return (
        f"云端 API 无响应 / a cloud API stopped answering during the run on stack {stack} "
        f"({cause.group(0).strip()[-MAX_CAUSE:]})" + (f"; {counts}" if counts else "") + ". "
        "The stack's state keeps what was done; once the API answers again (lab: dcops lab k8s "
        "status, dcops lab cloud status), run the same command again to finish"
    )


def _last_lines(text: str, count: int = 8) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip() not in ("", "stderr:")]
    return "\n".join(lines[-count:])
