"""What every route's OpenAPI says about its answers: the error bodies the services really send,
and every status code a route can give, so that clients (and the contract tests) can rely on it.

FastAPI documents a 422 of its own shape (`detail` as a list) that no service sends; ours names
the field (services/runtime/errors.py). Answers that any route may give are added here once:
401 and 403 to every route behind a bearer token, 413 and 422 to every route that reads a body
or parameters. A route adds the answers particular to it (404, 409, 503) with `errors(...)`.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel


class ErrorAnswer(BaseModel):
    """A request refused or not served: why, in words (401, 403, 404, 409, 503)."""

    detail: str


class FieldProblem(BaseModel):
    field: str  # as in the request: "members[0].person_id"
    message: str


class InvalidRequest(BaseModel):
    """422: what is wrong with the request, naming each field."""

    error: Literal["invalid request"]
    detail: str  # every problem, as "field: message; ..."
    fields: list[FieldProblem]


class TooLarge(BaseModel):
    """413: the request body is over the limit every service shares."""

    error: Literal["request body too large"]
    detail: str
    limit_bytes: int


BEARER_SCHEME = {"type": "http", "scheme": "bearer"}
# For a route that checks the bearer token itself (/metrics): the same scheme as require()'s.
BEARER_TOKEN: dict[str, Any] = {"security": [{"HTTPBearer": []}]}

_DESCRIPTIONS: dict[int, str] = {
    401: "No valid bearer token (WWW-Authenticate: Bearer)",
    403: "The token's role, department or user may not do this",
    404: "Not found",
    409: "In conflict with what is already recorded",
    413: "The request body is over the limit",
    422: "Invalid request: each field named",
    503: "Not ready: the service is still reading its topics, or the broker did not answer",
}
_MODELS: dict[int, type[BaseModel]] = {413: TooLarge, 422: InvalidRequest}


def errors(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status code with its body, and what it means for the route
    (`descriptions`, keyed "s404", "s409"... when the general wording says too little)."""
    return {code: _response(code, descriptions.get(f"s{code}")) for code in codes}


def document_answers(app: FastAPI) -> None:
    """Make the app's OpenAPI say what its routes answer (computed once, on the first read)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _with_answers(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_answers(schema: dict[str, Any]) -> dict[str, Any]:
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes.setdefault("HTTPBearer", BEARER_SCHEME)
    components = schema["components"].setdefault("schemas", {})
    for model in (ErrorAnswer, FieldProblem, InvalidRequest, TooLarge):
        definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
        definition.pop("$defs", None)
        components[model.__name__] = definition
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if operation.get("security"):
                for code in (401, 403):
                    responses.setdefault(str(code), _response(code))
            if "requestBody" in operation:
                responses.setdefault("413", _response(413))
            # A page answers an invalid form with the form again, as a page: it says so itself.
            invalid_page = "text/html" in responses.get("422", {}).get("content", {})
            reads = "requestBody" in operation or operation.get("parameters")
            if not invalid_page and (reads or "422" in responses):
                responses["422"] = _response(422)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _response(code: int, description: str | None = None) -> dict[str, Any]:
    """The answer `code` in JSON, whatever media type the route's success has (/metrics)."""
    model = _MODELS.get(code, ErrorAnswer)
    return {
        "description": description or _DESCRIPTIONS[code],
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
        },
    }
