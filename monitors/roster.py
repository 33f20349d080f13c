"""Who is on duty at a given time, and whom an escalation step reaches."""

from __future__ import annotations

from datetime import datetime, timedelta

from dcops.core.duty import DAYS, EscalationStep, Roster, Shift, clock_minutes


def shift_covers(shift: Shift, at: datetime) -> bool:
    """Whether the shift is on at a local time (a shift with end ≤ start runs past midnight)."""
    start, end = clock_minutes(shift.start), clock_minutes(shift.end)
    minute = at.hour * 60 + at.minute
    today = DAYS[at.weekday()]
    yesterday = DAYS[(at - timedelta(days=1)).weekday()]
    if start < end:
        return today in shift.days and start <= minute < end
    return (today in shift.days and minute >= start) or (yesterday in shift.days and minute < end)


def on_duty(roster: Roster, role: str, at: datetime) -> list[str]:
    """The people of a role on shift at a local time: on call first, then backups, each once."""
    ranked: list[tuple[int, str]] = []
    for shift in roster.shifts:
        if shift.role == role and shift_covers(shift, at):
            ranked += list(enumerate(shift.people))
    ordered = [user for _, user in sorted(ranked, key=lambda pair: pair[0])]
    return list(dict.fromkeys(ordered))


def step_targets(step: EscalationStep, roster: Roster, role: str, at: datetime) -> list[str]:
    """Whom a step reaches now; the manager when nobody of the role is on shift."""
    people = on_duty(roster, role, at)
    manager = [roster.manager] if roster.manager else []
    if step.to == "manager" or not people:
        return manager
    if step.to == "shift":
        return people
    if step.to == "backup":
        return people[1:2] or manager
    return people[:1]
