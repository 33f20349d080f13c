"""The Alertmanagers of a site asked in turn: silences replicate across a pair, so any member will do."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from dcops.core.errors import OperationFailed

T = TypeVar("T")


class AlertmanagerUnreachable(OperationFailed):
    """An Alertmanager did not answer or failed on its side (5xx): the next member may answer."""


@dataclass(frozen=True)
class Answer(Generic[T]):
    """What a member answered, and which member it was."""

    value: T
    member: str


def ask_in_turn(members: Sequence[str], call: Callable[[str], T]) -> Answer[T]:
    """Call each member until one answers; OperationFailed naming every member if none does.

    A refusal (4xx: the request is wrong) is raised at once: another member would refuse it too.
    """
    if not members:
        raise OperationFailed("no Alertmanager to ask; [monitors] names none")
    failures: list[AlertmanagerUnreachable] = []
    for member in members:
        try:
            return Answer(call(member), member)
        except AlertmanagerUnreachable as exc:
            failures.append(exc)
    raise none_answered(failures)


def none_answered(failures: Sequence[AlertmanagerUnreachable]) -> AlertmanagerUnreachable:
    """The error when no member answered: the one member's own, or one naming every member."""
    if len(failures) == 1:
        return failures[0]
    return AlertmanagerUnreachable(
        f"no Alertmanager of the {len(failures)} answered: " + "; ".join(map(str, failures))
    )
