"""Split the room's devices between several exporters, each polling a stable share."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from dcops.core.errors import InputError
from dcops.core.site import Device

_SHARD = re.compile(r"^(\d+)/(\d+)$")


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (both from 1): the devices whose key hashes to it."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """K/N as given on the command line, with 1 ≤ K ≤ N ≤ 64."""
        match = _SHARD.match(text.strip())
        index, count = (int(match[1]), int(match[2])) if match else (0, 0)
        if not 1 <= index <= count <= 64:
            raise InputError(
                f"--shard {text!r} is not K/N with 1 <= K <= N <= 64; allowed: for example 1/2 "
                "and 2/2 for two exporters"
            )
        return cls(index, count)

    def holds(self, device: Device) -> bool:
        """Whether this shard polls the device.

        Units behind one Modbus gateway share its key: the gateway answers one request at a
        time, so they must stay in one exporter, where their polls are serialised.
        """
        key = device.gateway or device.name
        return zlib.crc32(key.encode("utf-8")) % self.count == self.index - 1

    def select(self, devices: Sequence[Device]) -> list[Device]:
        """The devices of this shard, in inventory order."""
        return [d for d in devices if self.holds(d)]
