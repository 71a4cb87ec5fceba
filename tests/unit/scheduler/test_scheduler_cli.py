"""`assist clock show | advance` against the scheduler's routes (in process, fake publisher)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result
from unit.scheduler.test_scheduler_clock import FakePublisher, started

from events.clock import ClockMode
from services.cli import clock as clock_cli
from services.cli.__main__ import app as cli

URL = "http://scheduler.test"


@pytest.fixture
def scheduler(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakePublisher:
    """The CLI's HTTP calls go to a scheduler app with a manual clock; a tokens file as
    `make run` writes it."""
    client, publisher = started()
    _route(monkeypatch, client)
    tokens = [
        {"user": "auditor.li", "role": "auditor", "token": "t-auditor"},
        {"user": "operator.zhao", "role": "operator", "token": "t-operator"},
    ]
    (tmp_path / "tokens.json").write_text(json.dumps(tokens))
    monkeypatch.setenv("ASSIST_TOKENS_FILE", str(tmp_path / "tokens.json"))
    monkeypatch.delenv("ASSIST_TOKEN", raising=False)
    monkeypatch.setenv("ASSIST_SCHEDULER_URL", URL)
    return publisher


def _route(monkeypatch: pytest.MonkeyPatch, client: TestClient) -> None:
    def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
        assert url.startswith(URL)
        kwargs.pop("timeout", None)  # the test client has none
        return client.request(method, url.removeprefix(URL), **kwargs)

    monkeypatch.setattr(clock_cli.httpx, "request", request)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["clock", *args], env={"COLUMNS": "200"})


def document(result: Result) -> Any:
    """The JSON a command printed (the in-process scheduler's log lines come first)."""
    output = result.output
    start = 0 if output.startswith("{") else output.index("\n{") + 1
    return json.loads(output[start:])


def test_show_prints_the_time_and_json_for_scripts(scheduler: FakePublisher) -> None:
    shown = run("show")
    assert shown.exit_code == 0, shown.output
    assert "2026-06-01T09:30:00+08:00" in shown.output and "manual" in shown.output
    document_ = document(run("show", "--json"))
    assert document_["today"] == "2026-06-01"


def test_advance_by_days_and_to_a_date_as_the_operator_of_the_tokens_file(
    scheduler: FakePublisher,
) -> None:
    moved = run("advance", "--days", "2")
    assert moved.exit_code == 0, moved.output
    assert "2026-06-03T09:30:00+08:00" in moved.output and "operator.zhao" in moved.output
    moved = run("advance", "--to", "2027-01-01", "--json")
    assert document(moved)["now"] == "2027-01-01T00:00:00+08:00"
    assert [t.advanced_by for t in scheduler.ticks()] == ["operator.zhao", "operator.zhao"]


def test_a_refusal_is_one_clear_line_and_exit_code_1(scheduler: FakePublisher) -> None:
    refused = run("advance", "--to", "2026-01-01")
    assert refused.exit_code == 1
    assert "to: 2026-01-01 is not after the clock's current time" in refused.output
    refused = run("advance", "--days", "1", "--token", "t-auditor")
    assert refused.exit_code == 1 and "403" in refused.output


def test_usage_errors_are_exit_code_2(scheduler: FakePublisher) -> None:
    assert run("advance").exit_code == 2
    assert run("advance", "--to", "2027-01-01", "--days", "1").exit_code == 2
    assert run("advance", "--to", "soon").exit_code == 2
    assert run("advance", "--days", "0").exit_code == 2
    assert scheduler.events == []


def test_a_wall_clock_says_so(monkeypatch: pytest.MonkeyPatch, scheduler: FakePublisher) -> None:
    client, _ = started(ClockMode.WALL)
    _route(monkeypatch, client)
    refused = run("advance", "--days", "1")
    assert refused.exit_code == 1 and "follows the wall clock" in refused.output


def test_no_scheduler_is_exit_code_2(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = CliRunner().invoke(
        cli, ["clock", "show", "--url", "http://127.0.0.1:9", "--token", "t-operator"]
    )
    assert shown.exit_code == 2
    assert "cannot reach the scheduler at http://127.0.0.1:9" in shown.output
