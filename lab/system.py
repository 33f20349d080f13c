"""Running the machine's own tools (ip, mount, tar...) with errors that say what failed."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from dcops.core.errors import MissingDependency, OperationFailed
from dcops.core.requirements import find_program


def program(name: str, package: str) -> str:
    """The full path of a program, or MissingDependency naming the Debian package."""
    path = find_program(name)
    if path is None:
        raise MissingDependency(
            f"program {name!r} not found; install it with: apt-get install -y {package}"
        )
    return path


@contextmanager
def machine_umask() -> Iterator[None]:
    """Within: files get a Debian machine's usual modes (umask 022), not dcops' private ones.

    A lab host is a machine of its own: its daemons drop to their own users and must be able to
    reach / and their folders, which dcops' umask for its state (027) would close to them.
    """
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def run(
    args: Sequence[str], *, check: bool = True, timeout: float = 120, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output; OperationFailed with its stderr when check fails."""
    try:
        done = subprocess.run(
            list(args), capture_output=True, text=True, timeout=timeout, input=input
        )
    except subprocess.TimeoutExpired:
        raise OperationFailed(f"{' '.join(args)} did not finish within {timeout:.0f} s") from None
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise OperationFailed(
            f"{' '.join(args)} failed with exit {done.returncode}: {' / '.join(detail)}"
        )
    return done


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `ip` (iproute2)."""
    return run([program("ip", "iproute2"), *args], check=check)
