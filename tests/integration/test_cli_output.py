"""Human output fits 80 columns without cutting what people copy; --output is in every help."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from tests.conftest import RunDcops

SAMPLE = "inventory/requests/fgw-production.yml"
NARROW = {"COLUMNS": "80"}


def test_tables_fit_80_columns_and_keep_ids_cidrs_and_dates_whole(dcops: RunDcops) -> None:
    assert dcops("tenancy", "request", SAMPLE, user="wanglei").returncode == 0
    assert dcops("tenancy", "approve", "1", user="chenjing").returncode == 0
    for command in (["ipam", "show"], ["tenancy", "list"], ["tenancy", "show", "1"]):
        done = dcops(*command, env=NARROW)
        assert done.returncode == 0, done.stderr
        assert "…" not in done.stdout, done.stdout
        if command[-1] == "1":  # its sentences are lines the terminal wraps; only tables here
            assert "10.20.0.0/24" in done.stdout
            continue
        for line in done.stdout.splitlines():
            assert cell_len(line) <= 80, f"{command}: {cell_len(line)} columns: {line}"
    shown = dcops("ipam", "show", env=NARROW).stdout
    assert "10.20.0.0/24" in shown and "tenant-production" in shown
    listed = dcops("tenancy", "list", env=NARROW).stdout
    assert "2027-12-31" in listed and "fgw-production" in listed


@pytest.mark.parametrize(
    "command",
    [
        ["tenancy", "list"],
        ["tenancy", "show"],
        ["ipam", "show"],
        ["audit", "log"],
        ["dcim", "poll"],
        ["site", "show"],
        ["plan"],
    ],
)
def test_every_command_documents_output(dcops: RunDcops, command: list[str]) -> None:
    done = dcops(*command, "--help")
    assert done.returncode == 0 and "--output" in done.stdout, done.stdout


def test_markdown_where_a_command_has_none_is_an_error(dcops: RunDcops) -> None:
    for args in (["tenancy", "list", "-o", "markdown"], ["-o", "markdown", "ipam", "show"]):
        done = dcops(*args)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "--output markdown is not available" in done.stderr
