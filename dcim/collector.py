"""The Prometheus collector: current readings and device health of the poller, as metric families."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dcops.dcim.catalogue import COMMON_LABELS, METRICS, SIMULATED_LABEL
from dcops.dcim.faults import REASONS
from dcops.dcim.poller import Poller


class DcimCollector:
    """Collects from a poller at scrape time (prometheus_client custom collector)."""

    def __init__(self, poller: Poller, site: str, version: str) -> None:
        self.poller, self.site, self.version = poller, site, version

    def describe(self) -> list[Any]:
        """Nothing to describe up front: families depend on the inventory."""
        return []

    def collect(self) -> Iterator[Any]:
        """One family per metric, each device's series with site/room/rack/device/kind."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        families: dict[str, Any] = {}
        # A simulated room says so on every series (and so on every alert made from them).
        marker = [SIMULATED_LABEL] if self.poller.simulated else []
        flag = ["true"] if self.poller.simulated else []

        def family(name: str) -> Any:
            if name not in families:
                spec = METRICS[name]
                labels = [*COMMON_LABELS, *marker, *spec.labels]
                if spec.kind == "counter":
                    families[name] = CounterMetricFamily(
                        name.removesuffix("_total"), spec.help, labels=labels
                    )
                else:
                    families[name] = GaugeMetricFamily(name, spec.help, labels=labels)
            return families[name]

        build = family("dcops_dcim_exporter_build_info")
        build.add_metric(["", "", "", "", "", *flag, self.version], 1.0)
        now = self.poller.clock()
        max_age = self.poller.max_age
        for state in self.poller.states.values():
            t = state.target
            base = [self.site, t.room, t.rack, t.name, t.kind, *flag]
            if not state.polled:
                continue
            family("dcops_dcim_device_up").add_metric(base, 1.0 if state.up else 0.0)
            if state.last_success is not None:
                family("dcops_dcim_device_last_success_timestamp_seconds").add_metric(
                    base, state.last_success
                )
            family("dcops_dcim_device_poll_duration_seconds").add_metric(base, state.duration)
            errors = family("dcops_dcim_device_poll_errors_total")
            for reason in REASONS:
                errors.add_metric([*base, reason], float(state.errors.get(reason, 0)))
            family("dcops_dcim_device_stale_readings").add_metric(
                base, float(state.stale(now, max_age))
            )
            for reading in state.current(now, max_age):
                spec = METRICS[reading.metric]
                own = dict(reading.labels)
                family(reading.metric).add_metric(
                    [*base, *(own.get(k, "") for k in spec.labels)], reading.value
                )
        yield from families.values()
