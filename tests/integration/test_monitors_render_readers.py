"""`dcops monitors render` while Prometheus reads: the config and its whole rule set are always there.

At boot the render unit and Prometheus start side by side; a reader that opens prometheus.yml
and the rule files it names at any moment of a render must find every one of them, whole.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from dcops.core.loader import load_site
from dcops.core.requirements import find_program
from dcops.monitors.layout import layout_of
from dcops.monitors.render import render_monitors

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        find_program("promtool") is None or find_program("amtool") is None,
        reason="promtool/amtool missing (Debian prometheus, prometheus-alertmanager)",
    ),
]

RENDERS = 12
DEADLINE_S = 90


@pytest.fixture
def fine_switching() -> Iterator[None]:
    """Switch threads every microsecond, so the reader runs inside the render's every step."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _what_prometheus_finds(config: Path, rule_files: list[str]) -> tuple[str, int]:
    """Open the config as Prometheus does, then every rule file it names; what was missing,
    if anything, and how many rule files were read."""
    try:
        config.read_bytes()
    except FileNotFoundError:
        return "prometheus.yml", 0
    found = [path for pattern in rule_files for path in config.parent.glob(pattern)]
    for path in found:
        try:
            if not path.read_bytes().endswith(b"\n"):
                return f"{path.name} (not whole)", len(found)
        except FileNotFoundError:
            return path.name, len(found)
    return "", len(found)


def test_a_reader_never_finds_the_config_or_a_rule_file_missing_during_renders(
    site_dir: Path, fine_switching: None
) -> None:
    site = load_site(site_dir)
    layout, _ = render_monitors(site)
    config = layout_of(site).prometheus_config
    rule_files = yaml.safe_load(config.read_text(encoding="utf-8"))["rule_files"]
    missing, rule_count = _what_prometheus_finds(config, rule_files)
    assert missing == "" and rule_count == len(layout.rule_sources())
    seen: list[str] = []
    reads = 0
    done = threading.Event()

    def read() -> None:
        nonlocal reads
        while not done.is_set():
            missing, count = _what_prometheus_finds(config, rule_files)
            reads += 1
            if missing or count != rule_count:
                seen.append(missing or f"{count} of {rule_count} rule files")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = time.monotonic()
    try:
        for _ in range(RENDERS):
            render_monitors(site)
            if seen or time.monotonic() - started > DEADLINE_S:
                break
    finally:
        done.set()
        reader.join(timeout=10)
    assert reads > 0
    assert seen == [], f"a reader found missing during a render: {sorted(set(seen))}"
    retired = layout.rules / "retired.yml"  # a rule file the site no longer ships
    retired.write_text("groups: []\n", encoding="utf-8")
    render_monitors(site)
    assert not retired.exists(), "a rule file no longer rendered is still loaded by Prometheus"
