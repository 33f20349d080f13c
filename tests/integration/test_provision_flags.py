"""`dcops provision --skip-preview` applies unseen changes: refused unless ops also says --yes."""

from __future__ import annotations

import json

import pytest

from tests.conftest import RunDcops


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--skip-preview"], "give --yes with it"),
        (["--skip-preview", "--preview-only", "--yes"], "contradict each other"),
    ],
)
def test_skip_preview_without_yes_is_refused_before_anything_runs(
    dcops: RunDcops, flags: list[str], said: str
) -> None:
    refused = dcops("provision", "fgw-production", *flags)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "--skip-preview" in refused.stderr and said in refused.stderr
    chinese, _, _ = refused.stderr.partition(" / ")
    assert any("\u4e00" <= c <= "\u9fff" for c in chinese), refused.stderr  # 中文 first
    log = json.loads(dcops("audit", "log", "-o", "json").stdout)
    assert [op for op in log if op["action"] == "provision"] == []
