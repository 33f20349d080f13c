"""The server's delivery loop: notifications the commands queued are sent while `dcops serve` runs.

Commands only enqueue (a department's request never waits on a mail server). Something must
then deliver: a timer running `dcops tenancy notifications --deliver`, or this loop. Both may run
at once; the store's claims keep a message from being sent twice.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dcops.core.site import Site

LOG = logging.getLogger("dcops.server.deliverer")


class Deliverer:
    """A daemon thread that runs one delivery round every `every` seconds until stopped."""

    def __init__(self, site: Site, every: float) -> None:
        self.site = site
        self.every = every
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dcops-deliverer", daemon=True)

    def start(self) -> None:
        """Start the loop (nothing happens when delivery is switched off with 0)."""
        if self.every > 0:
            self._thread.start()

    def stop(self) -> None:
        """Ask the loop to end and wait for the round in progress."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.deliver_once()

    def deliver_once(self) -> None:
        """One round; a failure is logged and the loop goes on (the next round retries)."""
        from dcops.tenancy.notifications import deliver_pending
        from dcops.tenancy.store import open_store

        try:
            outcomes = deliver_pending(self.site, open_store(self.site))
        except Exception:  # the loop must outlive a broken store or channel configuration
            LOG.exception("notification delivery round failed")
            return
        self.rounds += 1
        failed = sum(1 for o in outcomes if not o.delivered)
        if outcomes:
            LOG.info("notifications: delivered %d, failed %d", len(outcomes) - failed, failed)
