"""`assist policy ...` against the policy routes in process: two users, the impact as tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.loop import Loop
from typer.testing import CliRunner
from unit.policy.policy_support import USERS, PolicyState, Service, make_service, version_body
from unit.policy.test_policy_impact import households

from services.cli import policy as policy_cli
from services.cli.__main__ import app
from services.policy.client import PolicyClient


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Service, Path]:
    loop = Loop()
    households(loop)
    state = PolicyState()
    state.chain_of(loop)
    svc = make_service(state)

    class InProcess(PolicyClient):
        def __init__(self, url: str, token: str, transport: Any = None) -> None:
            self.url = url
            self._http = TestClient(svc.client.app, headers={"Authorization": f"Bearer {token}"})

    monkeypatch.setattr(policy_cli, "PolicyClient", InProcess)
    tokens = tmp_path / "tokens.json"
    tokens.write_text(
        json.dumps([{"user": u, "role": r, "token": f"t-{u}"} for u, r in USERS.items()])
    )
    return svc, tokens


def printed_json(output: str) -> Any:
    """The JSON a command printed (the in-process service logs to the same output)."""
    lines = output.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(("{", "[")))
    return json.loads("\n".join(lines[first:]))


def run(tokens: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["policy", *args, "--tokens-file", str(tokens)])


@pytest.mark.filterwarnings("ignore:You should not use the 'timeout' argument")
def test_propose_approve_by_another_user_list_and_impact(
    service: tuple[Service, Path], tmp_path: Path
) -> None:
    _, tokens = service
    file = tmp_path / "version.json"
    file.write_text(json.dumps(version_body(note="raise Hangzhou")))

    proposed = run(tokens, "propose", str(file), "--user", "policy.chen")
    own = run(tokens, "approve", "2026-07", "--user", "policy.chen")
    approved = run(tokens, "approve", "2026-07", "--user", "policy.liu")
    listed = run(tokens, "list", "--json")
    table = run(tokens, "impact", "2026-07", "--user", "auditor.li")
    document = run(tokens, "impact", "2026-07", "--json")

    assert proposed.exit_code == 0, proposed.output
    assert "2026-07 (proposed)" in proposed.output and "policy.chen" in proposed.output
    assert own.exit_code == 2
    assert "403: the proposer cannot approve their own version" in own.output
    assert approved.exit_code == 0 and "approved by policy.liu" in approved.output
    assert {v["policy_version"]: v["status"] for v in printed_json(listed.output)} == {
        "2026-01": "in_force",
        "2026-07": "approved",
    }
    assert table.exit_code == 0, table.output
    for words in ("region 330100", "MARGINAL->DIBAO", "minimum_living_allowance", "1000.00"):
        assert words in table.output
    assert printed_json(document.output)["regions"][0]["tiers"] == {
        "MARGINAL->DIBAO": 2,
        "NONE->MARGINAL": 1,
    }


def test_a_refusal_names_the_field_and_exits_2(
    service: tuple[Service, Path], tmp_path: Path
) -> None:
    _, tokens = service
    file = tmp_path / "version.json"
    file.write_text(json.dumps(version_body(effective_from="2026-05-01")))

    refused = run(tokens, "propose", str(file), "--user", "policy.chen")
    withdrawn = run(tokens, "withdraw", "2099-01", "--reason", "typo")

    assert refused.exit_code == 2 and "422: effective_from: must be after today" in refused.output
    assert withdrawn.exit_code == 2 and "404" in withdrawn.output
