"""Who is on duty: shifts by day and time, past midnight, and whom each escalation step reaches."""

from __future__ import annotations

from datetime import datetime

import pytest

from dcops.core.duty import EscalationStep, Roster, Shift
from dcops.monitors.roster import on_duty, shift_covers, step_targets

NIGHT = Shift(role="facility", days=["fri"], start="20:00", end="08:00", people=["a", "b"])
ROSTER = Roster(
    manager="m",
    shifts=[
        Shift(
            role="facility",
            days=["mon", "tue", "wed", "thu", "fri"],
            start="08:00",
            end="20:00",
            people=["c", "d"],
        ),
        NIGHT,
        Shift(role="ops", people=["o"]),
    ],
)


@pytest.mark.parametrize(
    ("when", "covered"),
    [
        ("2026-12-04 20:00", True),  # Friday evening
        ("2026-12-05 07:59", True),  # Saturday morning, still Friday's night shift
        ("2026-12-05 08:00", False),
        ("2026-12-05 21:00", False),  # Saturday has no night shift
        ("2026-12-04 19:59", False),
    ],
)
def test_a_night_shift_runs_past_midnight_from_its_own_day(when: str, covered: bool) -> None:
    assert shift_covers(NIGHT, datetime.fromisoformat(when)) is covered


def test_a_whole_day_shift_always_covers() -> None:
    assert on_duty(ROSTER, "ops", datetime.fromisoformat("2026-12-06 03:00")) == ["o"]


@pytest.mark.parametrize(
    ("to", "when", "expected"),
    [
        ("on-call", "2026-12-01 09:00", ["c"]),
        ("backup", "2026-12-01 09:00", ["d"]),
        ("shift", "2026-12-01 09:00", ["c", "d"]),
        ("manager", "2026-12-01 09:00", ["m"]),
        ("on-call", "2026-12-06 12:00", ["m"]),  # Sunday noon: nobody on shift, the manager
    ],
)
def test_step_targets(to: str, when: str, expected: list[str]) -> None:
    step = EscalationStep.model_validate({"to": to, "channels": ["x"]})
    assert step_targets(step, ROSTER, "facility", datetime.fromisoformat(when)) == expected
