"""The ops page: tenancies and where each stands, the latest plan/provision/configure runs from
the journal with their results, and whether each monitor answers (monitor_health)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from dcops.server import audit_api, tenancy_api
from dcops.server.console import render, viewer
from dcops.server.context import context
from dcops.server.monitor_health import MonitorState, monitor_states

router = APIRouter(prefix="/console", include_in_schema=False)
RUNS = ("plan", "provision", "destroy", "refresh", "preview", "configure")
SHOWN_RUNS = 30


def _is_run(action: str) -> bool:
    return action.split(".", 1)[0] in RUNS


@router.get("/ops")
def ops(request: Request) -> Response:
    """Tenancies, the latest runs and each monitor's status (ops role)."""
    who = viewer(request, "ops", action="GET /console/ops")
    tenancies = tenancy_api.list_requests(request)
    runs = [op for op in audit_api.log(request) if _is_run(str(op["action"]))]
    return render(request, "ops.html", who=who, rows=tenancies,
                  runs=list(reversed(runs))[:SHOWN_RUNS], monitors=_monitors(request))  # fmt: skip


def _monitors(request: Request) -> list[MonitorState]:
    """Every Prometheus and Alertmanager member, then every exporter the room feed reads."""
    readings = request.app.state.room_feed.current()
    return monitor_states(context(request).site, readings)
