"""The guide's screenshots are exactly those the browser tests take, at their sizes, taken of
the pages as they are now (not before a template or stylesheet changed), and each is shown by a
guide page (`DCOPS_SCREENSHOTS=update` makes the browser tests write them anew)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from tests.integration.server.browser import (
    GUIDE,
    SCREENSHOTS,
    TAKEN_OF,
    pages_fingerprint,
    png_digest,
)

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


def test_each_screenshot_was_taken_of_the_pages_as_they_are_now() -> None:
    again = (
        "run the console's browser tests with DCOPS_SCREENSHOTS=update "
        "(tests/integration/server/test_console_{room,access,tenancy}.py)"
    )
    assert TAKEN_OF.is_file(), f"{TAKEN_OF.name} is missing: {again}"
    taken = json.loads(TAKEN_OF.read_text(encoding="utf-8"))
    now = pages_fingerprint()
    for name in SCREENSHOTS:
        assert name in taken, f"{name} has no record of what it was taken of: {again}"
        assert taken[name]["png"] == png_digest(GUIDE / name), (
            f"{name} is not the picture the browser tests took: {again}"
        )
        assert taken[name]["pages"] == now, (
            f"{name} was taken before the console's templates or static files last changed: {again}"
        )
