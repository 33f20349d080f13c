"""One line per mutating command: `with audited(...) as op:` records intent, result and a checkpoint.

Importing this module is cheap (standard library only); the signing library is loaded when
the checkpoint is written.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from dcops.audit import witness
from dcops.audit.event import draft, new_correlation
from dcops.audit.journal import Journal
from dcops.audit.pending import process_start
from dcops.audit.redaction import redact
from dcops.core.errors import DcopsError

if TYPE_CHECKING:
    from dcops.core.identity import Actor
    from dcops.core.site import Site


class Operation:
    """The change in progress: attach its diff, links and details before the block ends."""

    def __init__(self, correlation: str, intent_id: int, secrets: list[str]) -> None:
        self.correlation = correlation
        self.intent_id = intent_id
        self.diff: str | None = None
        self.links: dict[str, str] = {}
        self.details: dict[str, Any] = {}
        self.secrets = secrets
        self.failure: str | None = None

    def attach(
        self,
        diff: str | None = None,
        links: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Add what the result event should carry: a diff text, links into the state dir, details."""
        if diff is not None:
            self.diff = redact(diff, self.secrets)
        if links:
            self.links.update({str(k): str(v) for k, v in links.items()})
        if details:
            self.details.update(redact(dict(details), self.secrets))

    def fail(self, error: str) -> None:
        """Record the operation as failed with this error although the block ends normally."""
        self.failure = redact(error, self.secrets)

    def add_secrets(self, *values: str) -> None:
        """Secret values learnt during the change (a generated password) to keep out of the record."""
        self.secrets.extend(v for v in values if v)


def actor_fields(actor: Actor) -> dict[str, Any]:
    """The actor as recorded: user, name, host and roles; how they were identified, and from where.

    When a local user claimed another name (DCOPS_USER, allowed by the site), `login` keeps
    the operating-system login next to the claimed `user`; the server adds its method, the
    client's address and user agent.
    """
    fields: dict[str, Any] = {
        "user": actor.user,
        "name": actor.name,
        "host": actor.host,
        "roles": sorted(actor.roles),
    }
    if actor.method != "os":
        fields["login"] = actor.login
        fields["method"] = actor.method
    if actor.source:
        fields["source"] = actor.source
    if actor.agent:
        fields["agent"] = actor.agent
    return fields


@contextmanager
def audited(
    site: Site,
    actor: Actor,
    action: str,
    target: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    secrets: Iterable[str] = (),
    journal: Journal | None = None,
    checkpoint: bool = True,
) -> Iterator[Operation]:
    """Record the intent, run the block, record success or failure (re-raising), then sign a checkpoint."""
    from dcops.audit.checkpoint import load_or_create_key, write_checkpoint

    journal = journal or Journal.of(site)
    if checkpoint:  # refuse now, before the change, what would stop the checkpoint after it
        with journal.locked():
            load_or_create_key(journal.key)
        if journal.witness is not None:
            witness.require_writable(journal.witness)
    hidden = [s for s in secrets if s]
    correlation = new_correlation()
    common: dict[str, Any] = {
        "action": action,
        "target": target,
        "actor": actor_fields(actor),
        "parameters": redact(dict(parameters or {}), hidden),
        "correlation": correlation,
        "timezone": site.config.site.timezone,
    }
    pid = os.getpid()
    process = {"pid": pid, "host": socket.gethostname(), "start": process_start(pid)}
    intent = journal.append(
        draft(phase="intent", status="pending", details={"process": process}, **common)
    )
    operation = Operation(correlation, intent["id"], hidden)
    started = time.monotonic()
    try:
        yield operation
    except BaseException as exc:
        status, error = _outcome(exc)
        _result(journal, operation, common, started, status, error)
        if checkpoint:
            # The change's own error matters more; the next checkpoint will cover this one.
            with suppress(DcopsError, OSError):
                write_checkpoint(journal)
        raise
    if operation.failure is None:
        _result(journal, operation, common, started, "success", None)
    else:
        _result(journal, operation, common, started, "failure", operation.failure)
    if checkpoint:
        write_checkpoint(journal)


def _outcome(exc: BaseException) -> tuple[Any, str | None]:
    """A clean exit (SystemExit or a CLI exit with code 0) is success; anything else failure."""
    code = getattr(exc, "exit_code", getattr(exc, "code", "unset"))
    if isinstance(exc, SystemExit | RuntimeError) and code in (0, None):
        return "success", None
    if isinstance(exc, KeyboardInterrupt):
        return "failure", "interrupted (Ctrl-C)"
    text = str(exc).strip()
    return "failure", f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _result(
    journal: Journal,
    operation: Operation,
    common: dict[str, Any],
    started: float,
    status: Any,
    error: str | None,
) -> None:
    details = dict(operation.details)
    details["duration_ms"] = round((time.monotonic() - started) * 1000)
    hidden = operation.secrets
    journal.append(
        draft(
            phase="result",
            status=status,
            error=redact(error, hidden) if error else None,
            diff=operation.diff,
            links=operation.links,
            details=details,
            **{**common, "parameters": redact(common["parameters"], hidden)},
        )
    )
