"""The server's own request metrics, in a registry of its own, served at /metrics."""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry


class RequestMetrics:
    """Counts and times requests by method, route template and status."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry: CollectorRegistry = CollectorRegistry()
        self.requests = Counter(
            "dcops_server_requests_total",
            "HTTP requests handled, by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "dcops_server_request_duration_seconds",
            "Time to answer an HTTP request, by method and route.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    def observe(self, scope: MutableMapping[str, Any], status: int, started: float) -> None:
        """Record one finished request."""
        route = scope.get("route")
        template = getattr(route, "path", None) or "(unmatched)"
        method = str(scope.get("method", ""))
        self.requests.labels(method, template, str(status)).inc()
        self.duration.labels(method, template).observe(time.perf_counter() - started)

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))
