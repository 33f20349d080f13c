"""The shared floor: one reading serves every viewer for a second, and a page being opened
paints the held reading at once (reading a fresh one meanwhile) unless it is too old."""

from __future__ import annotations

import threading

from dcops.server.console_room import FRESH_SECONDS, SHARED_SECONDS, FloorCache
from dcops.server.room_view import Floor


class Room:
    """Counts the readings; each one's floor carries its number in read_at."""

    def __init__(self) -> None:
        self.readings = 0
        self.done = threading.Event()

    def read(self) -> Floor:
        self.readings += 1
        self.done.set()
        return Floor([], [], [], read_at=float(self.readings))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _cache() -> tuple[FloorCache, Room, Clock]:
    room, clock = Room(), Clock()
    return FloorCache(room.read, clock), room, clock


def test_viewers_share_one_reading_for_a_second() -> None:
    cache, room, clock = _cache()
    assert cache.get().read_at == 1 and cache.get().read_at == 1
    clock.now += FRESH_SECONDS + 0.01
    assert cache.get().read_at == 2 and room.readings == 2


def test_an_opened_page_shows_the_held_reading_and_a_fresh_one_is_read_meanwhile() -> None:
    cache, room, clock = _cache()
    cache.get()
    clock.now += FRESH_SECONDS + 0.5
    room.done.clear()
    assert cache.first().read_at == 1  # at once, without waiting for Prometheus
    assert room.done.wait(10), "the fresh reading was not started"
    for _ in range(100):
        if not cache.refreshing:
            break
        threading.Event().wait(0.05)
    assert cache.get().read_at == 2 and room.readings == 2


def test_a_reading_too_old_to_open_with_is_replaced_first() -> None:
    cache, room, clock = _cache()
    cache.get()
    clock.now += SHARED_SECONDS + 0.01
    assert cache.first().read_at == 2 and room.readings == 2


def test_a_change_makes_the_next_page_read_afresh() -> None:
    cache, room, _ = _cache()
    cache.get()
    cache.forget()
    assert cache.first().read_at == 2 and room.readings == 2
