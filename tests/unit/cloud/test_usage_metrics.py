"""Usage as Prometheus metrics: base units, absent limits left out, the read's own metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dcops.cloud.records import ServiceFailure
from dcops.cloud.usage import Usage, UsageLine
from dcops.cloud.usage_metrics import Sample, UsageCollector, sample_now


def _scrape(collector: UsageCollector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _key(name: str, department: str, resource: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    labels = {"site": "gdc", "department": department, "resource": resource}
    return name, tuple(sorted(labels.items()))


def test_lines_become_gauges_in_base_units_and_unknown_limits_are_left_out() -> None:
    lines = [
        UsageLine("fgw", "ram_gb", "GiB", used=6.0, quota=None, granted=8.0, tier=256.0),
        UsageLine(
            "zwfw", "vcpus", "vCPU", used=30.0, quota=40.0, granted=32.0, department_cap=32.0
        ),
    ]
    collector = UsageCollector("gdc")
    collector.update(Sample(Usage(lines), finished=1_800_000_000.0, seconds=2.5))
    found = _scrape(collector)
    assert found[_key("dcops_cloud_usage_used", "fgw", "ram_bytes")] == 6 * 1024**3
    assert found[_key("dcops_cloud_usage_granted", "fgw", "ram_bytes")] == 8 * 1024**3
    assert _key("dcops_cloud_usage_quota", "fgw", "ram_bytes") not in found  # unlimited
    assert _key("dcops_cloud_usage_department_cap", "fgw", "ram_bytes") not in found
    assert found[_key("dcops_cloud_usage_department_cap", "zwfw", "vcpus")] == 32
    assert found[_key("dcops_cloud_usage_quota", "zwfw", "vcpus")] == 40
    site = (("site", "gdc"),)
    assert found[("dcops_cloud_usage_read_failures", site)] == 0
    assert found[("dcops_cloud_usage_last_read_timestamp_seconds", site)] == 1_800_000_000
    assert found[("dcops_cloud_usage_read_duration_seconds", site)] == 2.5


def test_before_the_first_reading_no_usage_nor_read_result_is_exposed() -> None:
    found = _scrape(UsageCollector("gdc"))
    assert not any(name.startswith("dcops_cloud_usage_used") for name, _ in found)
    assert not any(name == "dcops_cloud_usage_read_failures" for name, _ in found)


def test_failed_reads_are_counted_and_the_sample_is_timed() -> None:
    failures = [ServiceFailure("openstack", "quotas/fgw-production", "ConnectTimeout: ...")]
    sample = sample_now(lambda: Usage([], failures), clock=lambda: 42.0)
    assert sample.finished == 42.0 and sample.seconds >= 0
    collector = UsageCollector("gdc")
    collector.update(sample)
    assert _scrape(collector)[("dcops_cloud_usage_read_failures", (("site", "gdc"),))] == 1
