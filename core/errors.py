"""Typed errors raised by library code; the CLI maps them to exit codes once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, which field, and what is allowed."""

    source: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"

    def as_dict(self) -> dict[str, object]:
        """The problem as plain data for `--output json`."""
        return {
            "source": self.source,
            "line": self.line,
            "field": self.field,
            "message": self.message,
        }


class DcopsError(Exception):
    """Base of every error dcops raises on purpose; exit code 1 unless a subclass says 2."""

    exit_code = 1

    def details(self) -> list[str]:
        """Extra lines shown under the message (one per problem, for instance)."""
        return []


class OperationFailed(DcopsError):
    """The operation was valid but did not succeed (a device did not answer, a run failed)."""

    exit_code = 1


class Declined(DcopsError):
    """The person was asked to confirm a change and said no: nothing was changed."""

    exit_code = 1


class InputError(DcopsError):
    """Bad usage or bad input: the user must change something before trying again."""

    exit_code = 2


class AccessDenied(InputError):
    """The person running the command lacks the role it needs."""


class MissingDependency(InputError):
    """A program or package this command needs is not installed; the message says how."""


class InvalidInput(InputError):
    """One or more problems found in an input file or request, all reported at once."""

    def __init__(self, summary: str, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{summary}: {count} {noun}")

    def details(self) -> list[str]:
        """One line per problem, in file and line order."""
        return [str(p) for p in self.problems]


class NotAuthenticated(InputError):
    """The caller did not prove who they are (no, wrong, expired or revoked credentials)."""


class SecondFactorNeeded(NotAuthenticated):
    """The password was right and the account needs its one-time code too."""
