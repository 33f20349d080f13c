"""Sharding the room between exporters: every device in exactly one shard, gateways kept whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.errors import InputError
from dcops.core.loader import load_site
from dcops.dcim.sharding import Shard


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_shards_partition_the_inventory(site_dir: Path, count: int) -> None:
    devices = load_site(site_dir).devices
    shards = [Shard(i, count).select(devices) for i in range(1, count + 1)]
    names = [d.name for shard in shards for d in shard]
    assert sorted(names) == sorted(d.name for d in devices)  # each device exactly once
    for shard in shards:
        gateways = {d.gateway for d in shard if d.gateway}
        for other in shards:
            if other is not shard:
                assert not gateways & {d.gateway for d in other if d.gateway}


def test_two_shards_both_get_work_on_the_example_room(site_dir: Path) -> None:
    devices = load_site(site_dir).devices
    assert all(Shard(i, 2).select(devices) for i in (1, 2))


@pytest.mark.parametrize("text", ["0/2", "3/2", "2", "a/b", "1/0", "1/65", "-1/2"])
def test_a_bad_shard_names_the_form_allowed(text: str) -> None:
    with pytest.raises(
        InputError, match=r"is not K/N with 1 <= K <= N <= 64; allowed: for example"
    ):
        Shard.parse(text)


def test_a_shard_parses_with_spaces_around() -> None:
    assert Shard.parse(" 2/3 ") == Shard(2, 3)
