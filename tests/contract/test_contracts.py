"""contracts/ is generated from events/: the committed files must match the models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from support.factories import application_event

from contracts.generate import HERE, expected_files, schema_files
from events.codec import decode_document
from events.registry import PAYLOAD_TYPES
from events.types import EventType

FIXTURE_V1 = (
    Path(__file__).parents[1] / "unit" / "events" / "fixtures" / "application_received_v1.json"
)


@pytest.mark.parametrize("path", sorted(expected_files()), ids=lambda p: p.name)
def test_committed_contract_matches_the_models(path: Path) -> None:
    expected = expected_files()[path]
    assert path.exists(), f"{path.name} is missing: run `make contracts`"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{path.relative_to(HERE.parent)} differs from the models: run `make contracts`"
    )


def test_no_stale_contract_files() -> None:
    committed = set((HERE / "schemas").glob("*.json"))
    assert committed == {p for p in expected_files() if p.parent.name == "schemas"}


def test_every_event_type_and_version_has_a_schema() -> None:
    names = set(schema_files())
    for event_type in EventType:
        current = PAYLOAD_TYPES[event_type].schema_version
        for version in range(1, current + 1):
            assert f"{event_type.value}.v{version}.json" in names


def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((HERE / "schemas" / name).read_text())
    return Draft202012Validator(
        schema, registry=Registry().with_resource("", Resource.from_contents(schema))
    )


def test_an_event_on_the_wire_validates_against_its_committed_schema() -> None:
    document = json.loads(application_event().to_bytes())
    assert not list(_validator("ApplicationReceived.v2.json").iter_errors(document))


def test_a_stored_v1_event_validates_against_the_v1_schema_and_not_v2() -> None:
    document = json.loads(FIXTURE_V1.read_text())
    assert not list(_validator("ApplicationReceived.v1.json").iter_errors(document))
    assert list(_validator("ApplicationReceived.v2.json").iter_errors(document))
    assert decode_document(document).schema_version == 2


def test_asyncapi_lists_every_catalog_topic_with_publishers_and_subscribers() -> None:
    document = json.loads((HERE / "asyncapi.json").read_text())
    assert document["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in document["channels"].values()}
    assert "assist.chain" in addresses and "assist.referrals.education" in addresses
    actions = {(op["action"], op["channel"]["$ref"]) for op in document["operations"].values()}
    assert ("send", "#/channels/assist_chain") in actions
    assert ("receive", "#/channels/assist_referrals_education") in actions


def test_every_asyncapi_message_has_its_schema_file() -> None:
    document = json.loads((HERE / "asyncapi.json").read_text())
    for name, message in document["components"]["messages"].items():
        assert (HERE / message["payload"]["$ref"]).is_file(), name
    for channel in document["channels"].values():
        for ref in channel["messages"].values():
            assert ref["$ref"].split("/")[-1] in document["components"]["messages"]
