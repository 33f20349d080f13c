"""The one error boundary: every way a command ends maps to one exit code and one message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from dcops.cli.app import app, hoist_global_options, run
from dcops.core.errors import InputError, OperationFailed


@pytest.fixture
def failing_commands(site_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Temporarily add commands that end in each possible way, running in the site copy."""
    monkeypatch.chdir(site_dir)
    monkeypatch.delenv("DCOPS_SITE", raising=False)
    probe = typer.Typer()

    @probe.command("boom")
    def boom() -> None:
        raise ValueError("disk on fire")

    @probe.command("failed")
    def failed() -> None:
        raise OperationFailed("ups-1 did not answer within 2.0 s")

    @probe.command("bad")
    def bad() -> None:
        raise InputError("--limit names unknown host 'leaf9'")

    @probe.command("no-pulumi")
    def no_pulumi() -> None:
        raise ModuleNotFoundError("No module named 'pulumi'", name="pulumi")

    @probe.command("interrupt")
    def interrupt() -> None:
        raise KeyboardInterrupt

    app.add_typer(probe, name="probe-endings")
    yield
    app.registered_groups[:] = [g for g in app.registered_groups if g.name != "probe-endings"]


@pytest.mark.usefixtures("failing_commands")
def test_unexpected_error_is_one_line_with_the_traceback_saved(
    site_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["probe-endings", "boom"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unexpected error: ValueError: disk on fire" in err
    [saved] = (site_dir / ".dcops" / "crashes").iterdir()
    assert "raise ValueError" in saved.read_text()
    assert "Traceback" not in err


@pytest.mark.usefixtures("failing_commands")
def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--debug", "probe-endings", "boom"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err


@pytest.mark.usefixtures("failing_commands")
def test_exit_codes_for_failure_bad_input_and_interrupt(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["probe-endings", "failed"]) == 1
    assert "ups-1 did not answer" in capsys.readouterr().err
    assert run(["probe-endings", "bad"]) == 2
    assert "unknown host 'leaf9'" in capsys.readouterr().err
    assert run(["probe-endings", "interrupt"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["site", "no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err
    assert run(["--output", "yaml", "site", "check"]) == 2


def test_global_options_may_follow_the_command() -> None:
    assert hoist_global_options(["site", "check", "-o", "json", "--debug"]) == [
        "-o",
        "json",
        "--debug",
        "site",
        "check",
    ]
    assert hoist_global_options(["audit", "log", "--", "--debug"]) == [
        "audit",
        "log",
        "--",
        "--debug",
    ]


@pytest.mark.usefixtures("failing_commands")
def test_a_missing_optional_package_says_how_to_install_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["probe-endings", "no-pulumi"]) == 2
    err = capsys.readouterr().err
    assert "needs the Python package for 'pulumi'" in err
    assert "pip install" in err
    assert "unexpected" not in err
