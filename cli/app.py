"""The dcops command: global options, command groups and the one error boundary."""

from __future__ import annotations

import copy
import gc
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import typer
import typer.main

from dcops.cli import (
    access,
    alerts,
    audit,
    backup,
    cloud,
    configure,
    dcim,
    doctor,
    ipam,
    lab,
    lab_k8s,
    login,
    monitors,
    plan,
    provision,
    serve,
    site,
    tenancy,
    users,
    whoami,
)
from dcops.cli.views.session import OutputFormat, Session, session

app = typer.Typer(
    name="dcops",
    help="Operations toolkit of the government big-data centre (政务大数据中心运维工具).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        from dcops.core import __version__

        typer.echo(f"dcops {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    output: OutputFormat = typer.Option(
        OutputFormat.table,
        "--output",
        "-o",
        help="table for people, json for programs, markdown for change tickets (dcops plan), csv for spreadsheets (dcops cloud), html for auditors (dcops cloud scan).",
    ),
    site_path: str | None = typer.Option(
        None,
        "--site",
        envvar="DCOPS_SITE",
        metavar="PATH",
        help="dcops.toml or its folder (default: search upwards).",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of unexpected errors."),
    version: bool = typer.Option(
        False,
        "--version",
        callback=_show_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Operations toolkit of the government big-data centre."""
    state = session(ctx)
    state.output, state.site_path, state.debug = output, site_path, debug


app.add_typer(site.app, name="site")
app.add_typer(monitors.app, name="monitors")
app.add_typer(alerts.app, name="alerts")
app.add_typer(audit.app, name="audit")
app.add_typer(dcim.app, name="dcim")
app.add_typer(tenancy.app, name="tenancy")
app.add_typer(ipam.app, name="ipam")
app.add_typer(lab.app, name="lab")
lab.app.add_typer(lab_k8s.app, name="k8s")
app.add_typer(configure.app, name="configure")
app.add_typer(users.app, name="users")
app.add_typer(backup.app, name="backup")
app.add_typer(cloud.app, name="cloud")
app.add_typer(access.app, name="access")
app.command("doctor")(doctor.doctor)
app.command("whoami")(whoami.whoami)
app.command("serve")(serve.serve)
app.command("login")(login.login)
app.command("logout")(login.logout)
app.command("plan")(plan.plan)
app.command("provision")(provision.provision)
app.command("destroy")(provision.destroy)
app.command("refresh")(provision.refresh)

_GLOBAL_FLAGS = {"--debug"}
_GLOBAL_VALUES = {"--output", "-o"}


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """Let --output/-o and --debug be given after the subcommand, where people tend to type them."""
    front: list[str] = []
    rest: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in _GLOBAL_FLAGS or arg.startswith("--output="):
            front.append(arg)
        elif arg in _GLOBAL_VALUES and i + 1 < len(args):
            front.extend(args[i : i + 2])
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


MARKDOWN_COMMANDS = {"dcops plan", "dcops cloud scan"}  # the commands with a Markdown form
CSV_COMMANDS = {"dcops cloud inventory"}  # the commands with a CSV form (for spreadsheets)
HTML_COMMANDS = {"dcops cloud scan"}  # the commands with an HTML report (for auditors)


def _with_output_options(root: Any) -> Any:
    """Give every command its own --output, a copy of the root's: shown in its help, checked there."""
    template = next(p for p in root.params if p.name == "output")
    _add_output(root, "dcops", template)
    return root


def _add_output(group: Any, path: str, template: Any) -> None:
    for name, command in group.commands.items():
        here = f"{path} {name}"
        if hasattr(command, "commands"):
            _add_output(command, here, template)
        elif not any(p.name == "output" for p in command.params):
            markdown = here in MARKDOWN_COMMANDS
            option = copy.copy(template)
            option.default, option.expose_value = None, False
            option.callback = _output_check(here, markdown, here in CSV_COMMANDS)
            option.help = (
                "table for people, json for programs"
                + (", markdown for change tickets." if markdown else " (no markdown here).")
                + (" html: the auditors' report." if here in HTML_COMMANDS else "")
            )
            command.params.append(option)


def _output_check(path: str, markdown: bool, csv: bool) -> Callable[[Any, Any, Any], None]:
    def check(ctx: Any, _param: Any, value: Any) -> None:
        state = ctx.find_root().obj
        assert isinstance(state, Session)
        if value is not None:
            state.output = OutputFormat(value)
        if state.markdown and not markdown:
            raise typer.BadParameter(
                f"--output markdown is not available for {path}; allowed here: table, json "
                f"(markdown is for {', '.join(sorted(MARKDOWN_COMMANDS))})",
                ctx=ctx,
            )
        if state.csv and not csv:
            allowed = "table, json, markdown" if markdown else "table, json"
            raise typer.BadParameter(
                f"--output csv is not available for {path}; allowed here: {allowed} "
                f"(csv is for {', '.join(sorted(CSV_COMMANDS))})",
                ctx=ctx,
            )
        if state.html and path not in HTML_COMMANDS:
            raise typer.BadParameter(
                f"--output html is not available for {path}; allowed here: table, json "
                f"(html is for {', '.join(sorted(HTML_COMMANDS))})",
                ctx=ctx,
            )

    return check


def run(argv: Sequence[str] | None = None) -> int:
    """Run dcops with argv and return the exit code: 0 ok, 1 failed, 2 bad input, 130 interrupted."""
    from dcops.cli.views import boundary

    _private_files()
    args = hoist_global_options(sys.argv[1:] if argv is None else argv)
    state = Session(debug="--debug" in args, output=_output_from(args))
    try:
        result = _with_output_options(typer.main.get_command(app)).main(
            args=args, prog_name="dcops", standalone_mode=False, obj=state
        )
    except BaseException as exc:
        return boundary.handle(exc, state)
    if result == boundary.EXIT_INTERRUPTED:  # Typer turns Ctrl-C into a return value here
        return boundary.handle(KeyboardInterrupt(), state)
    return result if isinstance(result, int) else 0


def _private_files() -> None:
    """Files dcops creates are 0640 at most and folders 0750, whatever umask it was started with."""
    previous = os.umask(0o027)
    os.umask(previous | 0o027)


def _output_from(args: Sequence[str]) -> OutputFormat:
    for i, arg in enumerate(args):
        value = arg.removeprefix("--output=") if arg.startswith("--output=") else None
        if arg in _GLOBAL_VALUES and i + 1 < len(args):
            value = args[i + 1]
        if value == "json":
            return OutputFormat.json
    return OutputFormat.table


def main() -> None:
    """Console-script entry point."""
    code = run()
    # At exit the collector would walk every object of the SDKs a command loaded once more
    # (~0.3 s of CPU after a provision); frozen, they are freed without that walk.
    gc.freeze()
    sys.exit(code)
