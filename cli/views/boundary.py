"""Map every way a command can end to one exit code and one clear message."""

from __future__ import annotations

import json
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

import typer

from dcops.cli.views.session import Session
from dcops.core.errors import DcopsError, InvalidInput

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def handle(exc: BaseException, state: Session) -> int:
    """Report exc and return its exit code."""
    if isinstance(exc, typer.Exit):
        return int(exc.exit_code)
    if isinstance(exc, DcopsError):
        _report(state, str(exc), exc.details(), exc.exit_code, exc)
        return exc.exit_code
    if isinstance(exc, typer.TyperException):  # usage errors and bad parameters
        exc.show()  # type: ignore[attr-defined]
        return EXIT_BAD_INPUT
    if isinstance(exc, typer.Abort | KeyboardInterrupt):
        print("dcops: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if isinstance(exc, ModuleNotFoundError) and _missing_package(exc, state):
        return EXIT_BAD_INPUT
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else EXIT_FAILED
    return _unexpected(exc, state)


def _report(state: Session, message: str, details: list[str], code: int, exc: DcopsError) -> None:
    if state.json:
        payload: dict[str, object] = {"error": message, "exit_code": code}
        if isinstance(exc, InvalidInput):
            payload["problems"] = [p.as_dict() for p in exc.problems]
        print(json.dumps(payload, ensure_ascii=False, indent=2), file=sys.stderr)
        return
    from dcops.cli.views.output import block, inline

    print(f"dcops: {block(message)}", file=sys.stderr)
    for line in details:
        print(f"  {inline(line)}", file=sys.stderr)


def _missing_package(exc: ModuleNotFoundError, state: Session) -> bool:
    from dcops.core.errors import MissingDependency
    from dcops.core.requirements import requirement_for_module

    req = requirement_for_module(exc.name or "")
    if req is None:
        return False
    error = MissingDependency(
        f"the {req.capability} capability needs the Python package for {req.name!r}, "
        f"which is not installed; {req.fix}"
    )
    _report(state, str(error), [], EXIT_BAD_INPUT, error)
    return True


def _unexpected(exc: BaseException, state: Session) -> int:
    text = "".join(traceback.format_exception(exc))
    where = _write_traceback(text, state)
    from dcops.cli.views.output import inline

    summary = inline(f"{type(exc).__name__}: {exc}")
    saved = f"traceback saved to {where}" if where else "traceback could not be saved"
    print(f"dcops: unexpected error: {summary} ({saved}; --debug shows it)", file=sys.stderr)
    if state.debug:
        print(text, file=sys.stderr, end="")
    return EXIT_FAILED


def _write_traceback(text: str, state: Session) -> Path | None:
    try:
        folder = state.crash_dir() / "crashes"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = folder / f"{stamp}.txt"
        path.write_text(text, encoding="utf-8")
        return path
    except OSError:
        return None
