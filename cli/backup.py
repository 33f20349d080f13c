"""`dcops backup`: dcops' own state for the backups (export) and the proof it comes back whole."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dcops.cli.views.session import session

if TYPE_CHECKING:
    from dcops.audit.state_check import Check

app = typer.Typer(
    help="dcops' own state in the backups: export it, and prove a restored copy is whole.",
    no_args_is_help=True,
)

DEFAULT_EXPORT = "/var/backups/dcops/self"
# A disk-backed temporary folder: /tmp is often a small tmpfs, too small for a restored journal.
SCRATCH_PARENT = "/var/tmp"


@app.command("export")
def export(
    ctx: typer.Context,
    to: Path = typer.Option(
        Path(DEFAULT_EXPORT), "--to", help="Folder to write (replaced whole); the backup takes it."
    ),
) -> None:
    """Copy stores, audit journal, keys, witness, Pulumi state, configs and site files, consistently."""
    from dcops.audit.state_export import export_state
    from dcops.cli.views import output

    state = session(ctx)
    state.require("ops", "backup", action="dcops backup export")
    report = export_state(state.site, to)
    if state.json:
        output.print_json(report.as_dict())
        return
    output.show(
        f"exported {report.files} files ({report.bytes / 1e6:.1f} MB, "
        f"{len(report.databases)} databases by online backup"
        f"{', PostgreSQL by pg_dump' if report.dumps else ''}) to {report.folder} "
        f"in {report.seconds:.1f} s"
    )


@app.command("verify-self")
def verify_self(
    ctx: typer.Context,
    source: Path | None = typer.Option(
        None, "--from", help="Check this restored export folder instead of restoring one."
    ),
    path: str = typer.Option(
        DEFAULT_EXPORT, "--path", help="Where the export was when it was backed up."
    ),
    restic: str | None = typer.Option(
        None,
        "--restic",
        help="restic program (default: the backup role's dcops-restic wrapper, else restic).",
    ),
    keep: bool = typer.Option(False, "--keep", help="Keep the scratch folder for inspection."),
    scratch_dir: Path | None = typer.Option(
        None,
        "--scratch",
        help="Restore into this new folder (default: a fresh private one in /var/tmp).",
    ),
) -> None:
    """Restore the newest backup of dcops' state into a scratch folder and prove it is whole."""
    import shutil

    from dcops.audit.restic_restore import restic_command, restore_latest
    from dcops.audit.state_check import check_export
    from dcops.core.errors import InputError

    state = session(ctx)
    state.require("ops", "auditor", action="dcops backup verify-self")
    if source is not None:
        if not source.is_dir():
            raise InputError(f"--from {source}: not a folder; allowed: a restored export folder")
        _report(ctx, source, None, check_export(source))
        return
    program = restic_command(restic)
    scratch = _scratch(scratch_dir, state.site.paths.state)
    try:
        snapshot = restore_latest(program, path, scratch)
        folder = scratch / path.lstrip("/")
        _report(ctx, folder, snapshot, check_export(folder))
    finally:
        if keep:
            typer.echo(f"scratch folder kept: {scratch}", err=True)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def _scratch(given: Path | None, state_dir: Path) -> Path:
    """A new 0700 folder for the restore, outside the state dir.

    Outside, because verify-self often runs as root on the host where the state dir belongs
    to the service user: a folder of root's left in it would block the service's own writes.
    """
    import tempfile

    from dcops.core.errors import InputError

    if given is None:
        return Path(tempfile.mkdtemp(prefix="dcops-verify-", dir=SCRATCH_PARENT))
    target = given.absolute()
    state = state_dir.resolve()
    if target.resolve().is_relative_to(state):
        raise InputError(
            f"--scratch {given}: inside the state dir {state}; allowed: a new folder outside it"
        )
    try:
        target.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        raise InputError(
            f"--scratch {given}: already exists; allowed: a folder that does not exist yet"
        ) from None
    except OSError as exc:
        raise InputError(f"--scratch {given}: cannot create it ({exc.strerror})") from None
    return target


def _report(ctx: typer.Context, folder: Path, snapshot: str | None, checks: list[Check]) -> None:
    from dcops.cli.views import output

    state = session(ctx)
    failed = [c for c in checks if not c.ok]
    if state.json:
        output.print_json(
            {
                "snapshot": snapshot,
                "folder": str(folder),
                "ok": not failed,
                "checks": [c.as_dict() for c in checks],
            }
        )
    else:
        rows = [(c.name, "ok" if c.ok else "FAILED", c.detail) for c in checks]
        output.show(output.table(None, ["check", "result", "details"], rows))
        where = f"snapshot {snapshot}" if snapshot else str(folder)
        if failed:
            output.show(
                f"verify-self {where}: 备份不完整 / FAILED, {len(failed)} of {len(checks)} "
                "checks failed"
            )
        else:
            output.show(f"verify-self {where}: 备份完整 / ok, {len(checks)} checks passed")
    if failed:
        raise typer.Exit(1)
