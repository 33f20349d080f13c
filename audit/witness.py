"""The witness: a copy of every signed checkpoint kept outside the state dir.

Someone who can write the state dir can cut the newest events together with the checkpoints
that cover them, and what is left still verifies. The witness keeps the newest tree head
elsewhere (another folder, file system or host), so `audit verify` sees the cut.
"""

from __future__ import annotations

import os
from pathlib import Path

from dcops.core.errors import InputError, OperationFailed


def require_writable(witness: Path) -> None:
    """InputError now, before a change, if a checkpoint could not be added to the witness later."""
    folder = witness.parent
    if witness.exists():
        if not witness.is_file():
            raise InputError(f"audit witness {witness} is not a regular file")
        if not os.access(witness, os.W_OK):
            raise InputError(f"audit witness {witness} cannot be written (permission denied)")
        return
    probe = folder
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(
            f"audit witness {witness} cannot be created: {probe} is not a writable folder"
        )


def append(witness: Path, line: bytes) -> None:
    """Append one checkpoint line to the witness and fsync it; OperationFailed if it cannot."""
    try:
        witness.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(witness, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise OperationFailed(
            f"the checkpoint could not be copied to the audit witness {witness} ({exc.strerror}); "
            "it is kept in the state dir and the next checkpoint is copied again"
        ) from None


def latest_line(witness: Path) -> bytes | None:
    """The witness's newest complete line (a half-written last line is ignored); None if empty."""
    with witness.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        step = 4096
        while True:
            start = max(0, end - step)
            handle.seek(start)
            data = handle.read(end - start)
            cut = data.rfind(b"\n")
            lines = [line for line in data[:cut].split(b"\n") if line.strip()] if cut >= 0 else []
            if len(lines) > 1 or (lines and start == 0):
                return lines[-1]
            if start == 0:
                return None
            step *= 2
