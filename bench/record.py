"""Write a benchmark's result table into its marked section of docs/performance.md."""

from __future__ import annotations

import datetime
import platform
from pathlib import Path

PERFORMANCE = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def record(section: str, body: str) -> None:
    """Replace the text between <!-- bench:SECTION --> and <!-- /bench:SECTION --> with body."""
    start, end = f"<!-- bench:{section} -->", f"<!-- /bench:{section} -->"
    text = PERFORMANCE.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise SystemExit(f"{PERFORMANCE} has no {start} ... {end} section")
    stamp = f"Measured {datetime.date.today().isoformat()} on {platform.machine()}, Python {platform.python_version()}."
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    PERFORMANCE.write_text(f"{head}{start}\n{stamp}\n\n{body}\n{end}{tail}", encoding="utf-8")
