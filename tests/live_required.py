"""Where the environment says live tests must run (CI), a skipped live test fails the run.

Live tests skip loudly where this machine cannot run them ("LIVE TEST SKIPPED …",
"LIVE TEST NOT RUN …", "ENGINE NOT BUILT …"). On a developer's machine that is right; in CI,
which installs everything, such a skip means a part did not install, and a run that skipped
its live tests must not be reported as a pass. DCOPS_LIVE_REQUIRED=1 turns them into a failure.
"""

from __future__ import annotations

import os

import pytest

REQUIRED = "DCOPS_LIVE_REQUIRED"
LIVE_SKIPS = ("LIVE TEST", "ENGINE NOT BUILT")


def live_skips(session: pytest.Session) -> list[str]:
    """The tests of this session that skipped a live check, with the reason."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    found = []
    for report in getattr(reporter, "stats", {}).get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if any(mark in reason for mark in LIVE_SKIPS):
            found.append(f"{report.nodeid}: {reason.removeprefix('Skipped: ')}")
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when live tests were skipped where they are required."""
    if os.environ.get(REQUIRED) != "1":
        return
    skipped = live_skips(session)
    if not skipped:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", f"{len(skipped)} live tests skipped where {REQUIRED}=1", red=True)
        for line in skipped[:20]:
            reporter.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
