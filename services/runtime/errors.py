"""Request validation errors that name the field, the same way on every service."""

from __future__ import annotations

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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": field_path(e["loc"]), "message": e["msg"].removeprefix("Value error, ")}
            for e in error.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return JSONResponse(
            status_code=422,
            content={"error": "invalid request", "detail": summary, "fields": problems},
        )
