"""Request validation errors that name the field, the same way on every service."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException


def field_path(location: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'members', 0, 'person_id') -> 'members[0].person_id'."""
    path = ""
    for part in location:
        if part in {"body", "query", "path", "header"} and not path:
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


# A check across several fields says which one is wrong as "field.path: why".
_NAMED = re.compile(r"^([A-Za-z_][\w\[\].]*): (.+)$", re.DOTALL)


def describe(error: dict[str, Any]) -> dict[str, str]:
    """{'field': 'members[0].person_id', 'message': '...'} for one pydantic error."""
    if error.get("type") == "json_invalid":  # FastAPI's loc is ("body", character position)
        reason = (error.get("ctx") or {}).get("error", error["msg"])
        return {"field": "body", "message": f"not JSON: {reason}"}
    field = field_path(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    named = _NAMED.match(message)
    if named:
        inner = named.group(1)
        field = inner if field == "body" else f"{field}.{inner}"
        message = named.group(2)
    return {"field": field, "message": message}


def invalid(problems: list[dict[str, str]]) -> JSONResponse:
    """422, naming each field (services/runtime/openapi.py documents it as InvalidRequest)."""
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return JSONResponse(
        status_code=422,
        content={"error": "invalid request", "detail": summary, "fields": problems},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return invalid([describe(e) for e in error.errors()])

    @app.exception_handler(StarletteHTTPException)
    async def refused(request: Request, error: StarletteHTTPException) -> Response:
        # FastAPI answers a body it cannot decode as text (not UTF-8) with a bare 400, and one
        # that is text but not JSON with 422: both are a body that is not JSON, answered alike.
        if error.status_code == 400 and isinstance(error.__cause__, ValueError):
            return invalid([{"field": "body", "message": f"not JSON: {error.__cause__}"}])
        return await http_exception_handler(request, error)
