"""Read active alerts from Alertmanager's HTTP API (v2)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from dcops.core.errors import OperationFailed
from dcops.monitors.alertmanager_members import AlertmanagerUnreachable

SEVERITY_ORDER = {"critical": 0, "warning": 1}


@dataclass(frozen=True)
class ActiveAlert:
    """One alert as Alertmanager holds it, with where it is and what it says."""

    name: str
    severity: str
    site: str
    room: str
    rack: str
    device: str
    state: str
    since: str
    summary: str
    runbook_url: str
    labels: dict[str, str]
    fingerprint: str = ""
    silenced_by: tuple[str, ...] = ()

    def sort_key(self) -> tuple[int, str, str, str, str]:
        """Worst first: most severe, then room, rack, device and name."""
        return (SEVERITY_ORDER.get(self.severity, 9), self.room, self.rack, self.device, self.name)


def parse_alert(raw: dict[str, Any]) -> ActiveAlert:
    """One entry of GET /api/v2/alerts."""
    labels = {str(k): str(v) for k, v in raw.get("labels", {}).items()}
    annotations = raw.get("annotations", {})
    return ActiveAlert(
        name=labels.get("alertname", ""),
        severity=labels.get("severity", ""),
        site=labels.get("site", ""),
        room=labels.get("room", ""),
        rack=labels.get("rack", ""),
        device=labels.get("device", ""),
        state=str(raw.get("status", {}).get("state", "")),
        since=str(raw.get("startsAt", "")),
        summary=str(annotations.get("summary", "")),
        runbook_url=str(annotations.get("runbook_url", "")),
        labels=labels,
        fingerprint=str(raw.get("fingerprint", "")),
        silenced_by=tuple(str(s) for s in raw.get("status", {}).get("silencedBy") or ()),
    )


def active_alerts(
    base_url: str, include_suppressed: bool = False, timeout: float = 5
) -> list[ActiveAlert]:
    """Active alerts, sorted by room; silenced and inhibited ones only if asked."""
    suppressed = "true" if include_suppressed else "false"
    url = f"{base_url}/api/v2/alerts?active=true&silenced={suppressed}&inhibited={suppressed}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            data = json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        failure = AlertmanagerUnreachable if exc.code >= 500 else OperationFailed
        raise failure(
            f"Alertmanager at {base_url} refused GET /api/v2/alerts: HTTP {exc.code}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AlertmanagerUnreachable(
            f"Alertmanager at {base_url} did not answer ({reason}); start it with `dcops monitors up`"
        ) from None
    return sorted((parse_alert(a) for a in data), key=ActiveAlert.sort_key)
