"""Error answers as every service gives them, and as its OpenAPI says it gives them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel

from services.runtime.auth import Principal, TokenStore, require
from services.runtime.errors import install_error_handlers
from services.runtime.http import install_common_routes
from services.runtime.openapi import errors


class Body(BaseModel):
    count: int


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    guarded = Depends(require(TokenStore({"operator": "t-op", "auditor": "t-au"}), "operator"))

    @app.post("/things", responses=errors(409, s409="Already there"))
    async def add(body: Body, principal: Principal = guarded) -> dict[str, int]:
        if body.count == 0:
            raise HTTPException(409, "already there")
        return {"count": body.count}

    install_common_routes(app, "test", lambda: [])
    return app


@pytest.mark.parametrize(
    "body",
    [b"\x80\x81:e", b'{"count":', b"f\xc3\x28"],
    ids=["not UTF-8", "cut short", "not text"],
)
def test_a_body_that_is_not_json_is_422_naming_body(body: bytes) -> None:
    reply = TestClient(_app()).post(
        "/things",
        content=body,
        headers={"Authorization": "Bearer t-op", "Content-Type": "application/json"},
    )
    assert reply.status_code == 422, reply.text
    answer = reply.json()
    assert answer["error"] == "invalid request"
    assert [f["field"] for f in answer["fields"]] == ["body"]
    assert answer["fields"][0]["message"].startswith("not JSON")


def test_other_refusals_keep_their_status_and_reason() -> None:
    client = TestClient(_app())
    headers = {"Authorization": "Bearer t-op"}
    assert client.post("/things", json={"count": 0}, headers=headers).json() == {
        "detail": "already there"
    }
    assert client.post("/things", json={"count": 1}, headers={}).status_code == 401
    refused = client.post("/things", json={"count": 1}, headers={"Authorization": "Bearer t-au"})
    assert refused.status_code == 403 and "operator" in refused.json()["detail"]


def _answers(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    answers: dict[str, Any] = document["paths"][path][method]["responses"]
    return answers


def test_the_openapi_documents_every_answer_with_the_body_sent() -> None:
    document = _app().openapi()
    things = _answers(document, "/things", "post")
    assert set(things) == {"200", "401", "403", "409", "413", "422"}
    schema_of = {code: a["content"]["application/json"]["schema"] for code, a in things.items()}
    assert schema_of["422"] == {"$ref": "#/components/schemas/InvalidRequest"}
    assert schema_of["413"] == {"$ref": "#/components/schemas/TooLarge"}
    assert schema_of["409"] == {"$ref": "#/components/schemas/ErrorAnswer"}
    assert things["409"]["description"] == "Already there"
    # FastAPI's own 422 shape (detail as a list) is what no service sends: it is gone.
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["paths"]["/things"]["post"]["security"] == [{"HTTPBearer": []}]
    metrics = _answers(document, "/metrics", "get")
    assert set(metrics["200"]["content"]) == {"text/plain"}
    assert set(metrics["403"]["content"]) == {"application/json"}
