"""Every service refuses a request body over the limit with 413 naming the limit, without reading
more of it than the limit: a declared Content-Length is refused before the app sees it, a
chunked body as soon as it passes the limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel
from starlette.types import Message

from services.runtime.http import BodySizeLimit, install_common_routes
from services.runtime.limits import HTTP_DISCARD_BYTES, HTTP_MAX_BODY_BYTES

LIMIT = HTTP_MAX_BODY_BYTES
JSON = {"content-type": "application/json"}


class Note(BaseModel):
    text: str


def service() -> tuple[FastAPI, list[str]]:
    """A service built as every service is (install_common_routes), with two body-reading routes."""
    app, calls = FastAPI(), []

    @app.post("/v1/notes", status_code=202)
    async def note(body: Note) -> dict[str, int]:  # FastAPI reads and validates the body
        calls.append("notes")
        return {"length": len(body.text)}

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:  # a route that reads the body itself
        body = await request.body()
        calls.append("raw")
        return {"length": len(body)}

    install_common_routes(app, "test", lambda: [])
    return app, calls


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    app, calls = service()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        yield c, calls


def assert_refused(reply: httpx.Response) -> None:
    assert reply.status_code == 413
    assert reply.json() == {
        "error": "request body too large",
        "detail": f"request body over {LIMIT} bytes",
        "limit_bytes": LIMIT,
    }


def note_of(size: int) -> bytes:
    return b'{"text":"' + b"x" * (size - 11) + b'"}'


async def chunks(body: bytes, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_body_under_the_limit_is_read(client: Any) -> None:
    http, calls = client
    reply = await http.post("/v1/notes", content=note_of(LIMIT), headers=JSON)
    assert reply.status_code == 202 and reply.json() == {"length": LIMIT - 11}
    reply = await http.post("/raw", content=chunks(b"y" * LIMIT))
    assert reply.status_code == 200 and reply.json() == {"length": LIMIT}
    assert calls == ["notes", "raw"]


@pytest.mark.parametrize("path", ["/v1/notes", "/raw", "/healthz", "/nowhere"])
async def test_a_declared_length_over_the_limit_is_refused_before_the_app_sees_it(
    client: Any, path: str
) -> None:
    http, calls = client
    reply = await http.post(path, content=note_of(LIMIT + 1), headers=JSON)
    assert_refused(reply)
    assert calls == []


@pytest.mark.parametrize("path", ["/v1/notes", "/raw"])
async def test_a_chunked_body_over_the_limit_is_refused(client: Any, path: str) -> None:
    http, calls = client
    reply = await http.post(path, content=chunks(note_of(900_000)), headers=JSON)
    assert "content-length" not in reply.request.headers
    assert_refused(reply)
    assert calls == []


async def test_the_app_gets_no_more_than_the_limit_and_the_rest_is_thrown_away_bounded() -> None:
    """An endless body: the app is stopped at the limit; the middleware drops a bounded amount
    more unread (for the client to get to read its 413), then answers."""
    read, given, sent = 0, 0, []
    chunk = 10_000

    async def receive() -> Message:
        nonlocal read
        read += chunk
        return {"type": "http.request", "body": b"x" * chunk, "more_body": True}  # never ends

    async def send(message: Message) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal given
        while True:  # reads whatever comes, for ever
            given += len((await receive())["body"])

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await BodySizeLimit(app, limit=LIMIT)(scope, receive, send)
    assert given <= LIMIT
    assert read <= LIMIT + chunk + HTTP_DISCARD_BYTES + chunk
    assert sent[0]["status"] == 413 and (b"connection", b"close") in sent[0]["headers"]


async def test_a_declared_length_far_over_the_limit_is_answered_without_reading() -> None:
    read, sent = 0, []

    async def receive() -> Message:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": b"x", "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not see this request")

    declared = str(LIMIT + HTTP_DISCARD_BYTES + 1).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-length", declared)],
    }
    await BodySizeLimit(app, limit=LIMIT)(scope, receive, send)
    assert read == 0 and sent[0]["status"] == 413


async def test_the_refusal_is_counted_in_the_request_metrics(client: Any) -> None:
    http, _ = client
    await http.post("/raw", content=b"z" * (LIMIT + 1))
    reply = await http.get("/metrics")
    assert 'status="413"' in reply.text
