"""Errors as RFC 9457 problem details: status, title, detail and, for bad input, each field."""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any

from dcops.core.errors import (
    AccessDenied,
    DcopsError,
    InvalidInput,
    NotAuthenticated,
    OperationFailed,
    SecondFactorNeeded,
)

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

log = logging.getLogger("dcops.server")
MEDIA_TYPE = "application/problem+json"


def problem_response(
    status: int, title: str, detail: str, problems: list[dict[str, Any]] | None = None
) -> Response:
    """A problem-details response."""
    from starlette.responses import JSONResponse

    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if problems:
        body["problems"] = problems
    headers = {"WWW-Authenticate": 'Bearer realm="dcops"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(error: DcopsError) -> tuple[int, str]:
    """The HTTP status and title for one of dcops' errors."""
    if isinstance(error, SecondFactorNeeded):
        return 401, "one-time code required"  # the client may ask for the code and retry
    if isinstance(error, NotAuthenticated):
        return 401, "not authenticated"
    if isinstance(error, AccessDenied):
        return 403, "forbidden"
    if isinstance(error, InvalidInput):
        return 422, "invalid input"
    if isinstance(error, OperationFailed):
        return 502, "operation failed"
    if error.exit_code == 2:
        return 400, "bad request"
    return 409, "not done"


def from_error(error: DcopsError) -> Response:
    """The problem details for a dcops error (the same message the CLI prints)."""
    status, title = status_of(error)
    problems = [p.as_dict() for p in error.problems] if isinstance(error, InvalidInput) else None
    return problem_response(status, title, str(error), problems)


async def unexpected(request: Request, error: Exception) -> Response:
    """A 500 that says nothing of the internals; the traceback goes to the server's log."""
    log.error("unexpected error on %s %s:\n%s", request.method, request.url.path,
              "".join(traceback.format_exception(error)))  # fmt: skip
    return problem_response(
        500, "internal error", "服务器内部错误 / internal error; the server's log has the details"
    )
