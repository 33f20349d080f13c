"""Usage as Prometheus metrics: the last reading of each department's use, grants and caps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dcops.cloud.usage import Usage, UsageLine

GIB = 1024**3
RESOURCES = {
    "vcpus": ("vcpus", 1.0),
    "ram_gb": ("ram_bytes", float(GIB)),
    "instances": ("instances", 1.0),
    "floating_ips": ("floating_ips", 1.0),
    "load_balancers": ("load_balancers", 1.0),
    "k8s_cpu": ("k8s_cpu_cores", 1.0),
    "k8s_memory_gb": ("k8s_memory_bytes", float(GIB)),
    "k8s_pods": ("k8s_pods", 1.0),
}
"""Each usage metric as the `resource` label names it, in base units, and the factor to them."""

FAMILIES = (
    ("dcops_cloud_usage_used", "What the department uses now, per resource (base units).", "used"),
    (
        "dcops_cloud_usage_granted",
        "What the department's pending and live tenancies were granted (base units).",
        "granted",
    ),
    (
        "dcops_cloud_usage_quota",
        "Sum of the live quotas of the department's projects; absent when unlimited or unread.",
        "quota",
    ),
    (
        "dcops_cloud_usage_department_cap",
        "The department-wide cap of the department's tier; absent when the tier declares none.",
        "department_cap",
    ),
)


@dataclass
class Sample:
    """One finished reading: the usage, when it ended and how long it took."""

    usage: Usage
    finished: float
    seconds: float


class UsageCollector:
    """A prometheus_client collector of the last usage reading; scrapes never read the clouds."""

    def __init__(self, site: str) -> None:
        self.site = site
        self._lock = threading.Lock()
        self._sample: Sample | None = None

    def update(self, sample: Sample) -> None:
        """Replace the reading that scrapes see."""
        with self._lock:
            self._sample = sample

    def last(self) -> Sample | None:
        """The reading that scrapes see now, if any."""
        with self._lock:
            return self._sample

    def collect(self) -> Iterator[Any]:
        """The metric families of the last reading (only the read metrics before the first)."""
        from prometheus_client.core import GaugeMetricFamily

        with self._lock:
            sample = self._sample
        read = GaugeMetricFamily(
            "dcops_cloud_usage_read_failures",
            "Cloud or quota reads that failed in the last reading.",
            labels=["site"],
        )
        done = GaugeMetricFamily(
            "dcops_cloud_usage_last_read_timestamp_seconds",
            "When the last reading ended (Unix time); absent before the first.",
            labels=["site"],
        )
        took = GaugeMetricFamily(
            "dcops_cloud_usage_read_duration_seconds",
            "How long the last reading took.",
            labels=["site"],
        )
        if sample is not None:
            read.add_metric([self.site], len(sample.usage.failures))
            done.add_metric([self.site], sample.finished)
            took.add_metric([self.site], sample.seconds)
            yield from self._families(sample.usage.lines)
        yield from (read, done, took)

    def _families(self, lines: list[UsageLine]) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        for name, help_text, attribute in FAMILIES:
            family = GaugeMetricFamily(name, help_text, labels=["site", "department", "resource"])
            for line in lines:
                value = getattr(line, attribute)
                if value is None:
                    continue
                resource, factor = RESOURCES[line.metric]
                family.add_metric([self.site, line.department, resource], value * factor)
            yield family


def sample_now(read: Callable[[], Usage], clock: Callable[[], float] = time.time) -> Sample:
    """Take one reading and time it."""
    start = time.monotonic()
    usage = read()
    return Sample(usage, clock(), time.monotonic() - start)
