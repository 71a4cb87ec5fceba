"""Request validation errors that name the field, the same way on every service."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


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
    field = field_path(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    named = _NAMED.match(message)
    if named:
        inner = named.group(1)
        field = inner if field == "body" else f"{field}.{inner}"
        message = named.group(2)
    return {"field": field, "message": message}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [describe(e) for e in error.errors()]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return JSONResponse(
            status_code=422,
            content={"error": "invalid request", "detail": summary, "fields": problems},
        )
