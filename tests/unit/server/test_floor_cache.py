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


class Gated(Room):
    """A room whose readings can be held up, like a Prometheus that has stopped answering."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()

    def read(self) -> Floor:
        assert self.gate.wait(30), "a reading was held up for 30 s"
        return super().read()


def _readings_reach(room: Room, count: int) -> bool:
    for _ in range(400):
        if room.readings >= count:
            return True
        threading.Event().wait(0.05)
    return False


def test_with_nobody_watching_the_room_is_read_so_an_opened_page_never_waits() -> None:
    room = Gated()
    cache = FloorCache(room.read, keep_every=0.1)
    cache.keep()
    try:
        assert _readings_reach(room, 3), "nothing was read while nobody watched"
        room.gate.clear()  # from now on a reading would wait: the page must not
        opened: list[Floor] = []
        page = threading.Thread(target=lambda: opened.append(cache.first()), daemon=True)
        page.start()
        page.join(20)
        assert opened, "the page waited for a reading instead of opening with the held one"
        assert 3 <= opened[0].read_at <= room.readings
    finally:
        room.gate.set()
        cache.stop()
    assert cache.keeper is None
    after = room.readings
    threading.Event().wait(0.5)
    assert room.readings == after, "the room was still read after the server stopped"


def test_a_failing_reading_is_retried_at_the_keeping_pace_not_in_a_tight_loop() -> None:
    calls: list[int] = []

    def broken() -> Floor:
        calls.append(1)
        raise RuntimeError("Prometheus answered nonsense")

    cache = FloorCache(broken, keep_every=0.2)
    cache.keep()
    try:
        threading.Event().wait(1.0)
    finally:
        cache.stop()
    assert 1 <= len(calls) <= 10, f"{len(calls)} readings in about a second at one per 0.2 s"


def test_a_woken_keeper_builds_at_once_and_a_waiting_page_gets_the_new_floor() -> None:
    import asyncio

    room = Room()
    # Only a wake makes it build again; a stopped clock, so the held floor never ages meanwhile.
    cache = FloorCache(room.read, Clock(), keep_every=600)
    cache.keep()
    try:
        assert _readings_reach(room, 1), "the keeper did not build the first floor"
        shown = cache.version
        cache.wake()  # an exporter finished a poll
        asyncio.run(cache.changed(shown, 30))
        assert cache.version == shown + 1 and room.readings == 2
        assert cache.get().version == cache.version
        asyncio.run(cache.changed(cache.version, 0.2))  # nothing new: back after the wait
        assert room.readings == 2
    finally:
        cache.stop()
