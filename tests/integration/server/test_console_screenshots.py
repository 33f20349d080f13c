"""The guide's screenshots are exactly those the browser tests take, at their sizes, and each is
shown by a guide page (`DCOPS_SCREENSHOTS=update` makes the browser tests write them anew)."""

from __future__ import annotations

import struct
from pathlib import Path

from tests.integration.server.browser import GUIDE, SCREENSHOTS

PNG = b"\x89PNG\r\n\x1a\n"


def _size(path: Path) -> dict[str, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG, f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return {"width": width, "height": height}


def test_the_guide_has_each_screenshot_at_its_size() -> None:
    assert {p.name for p in GUIDE.glob("*.png")} == set(SCREENSHOTS)
    for name, size in SCREENSHOTS.items():
        assert _size(GUIDE / name) == size, name


def test_each_screenshot_is_shown_by_a_guide_page() -> None:
    pages = "".join(p.read_text(encoding="utf-8") for p in GUIDE.parent.glob("*.md"))
    for name in SCREENSHOTS:
        assert f"(screenshots/{name})" in pages, f"no guide page shows {name}"
