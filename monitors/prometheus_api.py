"""Read instant values from Prometheus' HTTP API (v1): the last sample of each series."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from dcops.core.errors import OperationFailed

MAX_SERIES = 20_000


@dataclass(frozen=True)
class Sample:
    """One series' latest sample: its labels, value and when Prometheus scraped it."""

    labels: dict[str, str]
    value: float
    timestamp: float


def instant(base_url: str, expr: str, timeout: float = 5) -> list[Sample]:
    """The latest sample of each series that expr selects (bounded in count)."""
    url = f"{base_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            data = json.loads(reply.read(64 << 20))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OperationFailed(
            f"Prometheus at {base_url} did not answer ({reason}); start it with `dcops monitors up`"
        ) from None
    if data.get("status") != "success" or data.get("data", {}).get("resultType") != "vector":
        raise OperationFailed(f"Prometheus at {base_url} refused {expr!r}: {data.get('error')}")
    found = []
    for series in data["data"]["result"][:MAX_SERIES]:
        stamp, text = series["value"]
        labels = {str(k): str(v) for k, v in series.get("metric", {}).items()}
        found.append(Sample(labels, float(text), float(stamp)))
    return found
