"""deploy/cluster/compose.yaml runs two instances of every processor that scales out, each with
a name of its own, and one of every other service; the console watches every one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from deploy.local.stack import SCALED_OUT, SERVICES

COMPOSE = Path(__file__).parents[3] / "deploy/cluster/compose.yaml"


def services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def module_of(service: dict[str, Any]) -> str:
    command = service["command"]
    assert command[:2] == ["python", "-m"]
    return str(command[2]).removeprefix("services.")


def test_each_processor_that_scales_out_runs_twice_under_two_names() -> None:
    running: dict[str, list[str]] = {}
    for name, service in services().items():
        if "command" in service and service["command"][:2] == ["python", "-m"]:
            running.setdefault(module_of(service), []).append(name)
    for service in SERVICES:
        expected = 2 if service.name in SCALED_OUT else 1
        assert len(running.get(service.name, [])) == expected, (service.name, running)
    for name in SCALED_OUT:
        first, second = (services()[n]["environment"] for n in running[name])
        assert first["ASSIST_INSTANCE"] != second["ASSIST_INSTANCE"]
        # The same principal: its grants cover every instance's group and transactional ids.
        assert first["KAFKA_SASL_USERNAME"] == second["KAFKA_SASL_USERNAME"] == name


def test_the_chain_writers_share_one_key_pair() -> None:
    volumes = [
        [v for v in services()[n]["volumes"] if isinstance(v, str)]
        for n in ("chainwriter", "chainwriter-2")
    ]
    assert volumes[0] == volumes[1] == ["chainwriter-data:/var/lib/assist"]


def test_the_console_watches_every_instance() -> None:
    console = services()["operations"]["environment"]["ASSIST_CONSOLE_SERVICES"]
    watched = set(json.loads(console))
    instances = {n for n, s in services().items() if "HEALTH_PORT" in s.get("environment", {})}
    assert watched == instances - {"operations"}
