"""The ops page: tenancies and where each stands, the latest plan/provision/configure runs from
the journal with their results, and whether the monitors answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from dcops.server import audit_api, tenancy_api
from dcops.server.console import render, viewer
from dcops.server.context import context

router = APIRouter(prefix="/console", include_in_schema=False)
RUNS = ("plan", "provision", "destroy", "refresh", "preview", "configure")
SHOWN_RUNS = 30


def _is_run(action: str) -> bool:
    return action.split(".", 1)[0] in RUNS


def _monitors(request: Request) -> list[dict[str, Any]]:
    """Prometheus' and Alertmanager's health endpoints, each up or not, with the reason."""
    import urllib.error
    import urllib.request

    settings = context(request).site.config.monitors
    found = []
    for name, url in (("Prometheus", settings.prometheus_url),
                      ("Alertmanager", settings.alertmanager_url)):  # fmt: skip
        try:
            with urllib.request.urlopen(f"{url}/-/healthy", timeout=3) as reply:
                found.append({"name": name, "url": url, "up": reply.status == 200, "why": ""})
        except (urllib.error.URLError, OSError) as exc:
            reason = str(getattr(exc, "reason", exc))[:200]
            found.append({"name": name, "url": url, "up": False, "why": reason})
    return found


@router.get("/ops")
def ops(request: Request) -> Response:
    """Tenancies, the latest runs and the monitors' status (ops role)."""
    who = viewer(request, "ops", action="GET /console/ops")
    tenancies = tenancy_api.list_requests(request)
    runs = [op for op in audit_api.log(request) if _is_run(str(op["action"]))]
    return render(request, "ops.html", who=who, rows=tenancies,
                  runs=list(reversed(runs))[:SHOWN_RUNS], monitors=_monitors(request))  # fmt: skip
