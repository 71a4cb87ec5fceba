"""The classification handler: every HouseholdIdentified becomes a HouseholdClassified."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from support.loop import (
    HANGZHOU,
    ON,
    TOPICS,
    application,
    declaration,
    decode_all,
    dibao_members,
    event,
    member,
    new_person,
    signal,
)

from events.envelope import Envelope, derived_event_id
from events.household import HouseholdClassified, HouseholdIdentified
from events.types import SignalKind
from services.classification.handler import ClassificationHandler
from services.policy.standards import PolicyBook
from services.runtime.messages import Inbound, Rejected

HANDLER = ClassificationHandler(TOPICS, PolicyBook.load_default())  # stateless


def identified(
    members: list[dict[str, Any]] | None = None,
    region: str = HANGZHOU,
    occurred_at: datetime = ON,
    **facts: Any,
) -> Envelope:
    body = declaration(members or dibao_members(), region, **facts)
    del body["channel"]
    payload = HouseholdIdentified.model_validate(body | {"trigger": "application"})
    return event(payload, "HH-1", occurred_at, producer="identification")


def classify(source: Envelope | bytes) -> list[Envelope]:
    value = source if isinstance(source, bytes) else source.to_bytes()
    outputs = HANDLER.handle(Inbound(TOPICS.chain, 0, 7, b"HH-1", value), replaying=False)
    assert all(o.topic == TOPICS.events and o.key == b"HH-1" for o in outputs)
    return decode_all(outputs)


def test_an_identified_household_is_classified_with_its_tier_and_why() -> None:
    cause = identified()
    [classified] = classify(cause)
    payload = classified.payload
    assert isinstance(payload, HouseholdClassified)
    assert (payload.tier, payload.tags, payload.policy_version) == ("DIBAO", [], "2026-01")
    assert (payload.region_code, payload.effective_date) == (HANGZHOU, ON.date())
    numbers = payload.rule_trace["numbers"]
    assert (numbers["N"], numbers["I"], numbers["pci"], numbers["D"]) == (
        "3",
        "1500",
        "500",
        "1240",
    )
    assert payload.rule_trace["decided_by"]
    assert classified.event_id == derived_event_id(cause.event_id, "classified")
    assert (classified.causation_id, classified.correlation_id) == (
        cause.event_id,
        cause.correlation_id,
    )
    assert (classified.household_id, classified.occurred_at, classified.producer) == (
        "HH-1",
        cause.occurred_at,
        "classification",
    )


def test_tags_follow_the_members() -> None:
    alone = [member(date(1950, 1, 1), capacity="none", employment="retired", disability_grade=1)]
    [classified] = classify(identified(alone))
    payload = classified.payload
    assert isinstance(payload, HouseholdClassified)
    assert payload.tier == "EXTREMELY_POOR"
    assert payload.tags == ["ELDERLY_ALONE", "SEVERELY_DISABLED"]


def test_a_higher_income_gives_a_lower_tier() -> None:
    members = dibao_members()
    members[1]["monthly_income"] = "9000"
    [classified] = classify(identified(members))
    assert isinstance(classified.payload, HouseholdClassified)
    assert classified.payload.tier == "NONE"


def test_the_same_event_classified_twice_gives_the_same_event() -> None:
    cause = identified()
    [first], [second] = classify(cause), classify(cause)
    assert first.event_id == second.event_id and first.payload == second.payload


@pytest.mark.parametrize(
    "other",
    [
        application("HH-1"),
        signal(SignalKind.DISASTER, new_person()),
    ],
)
def test_other_events_are_ignored(other: Envelope) -> None:
    assert classify(other) == []


def test_an_unknown_region_is_rejected_naming_it() -> None:
    with pytest.raises(Rejected, match="HH-1.*unknown region '999999'"):
        classify(identified(region="999999"))


def test_a_date_before_every_policy_is_rejected_naming_it() -> None:
    early = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    with pytest.raises(Rejected, match="no standard in force for region '330100' on 2025-12-31"):
        classify(identified(occurred_at=early))


def test_a_broken_household_identified_is_rejected_naming_the_field() -> None:
    document = identified().to_bytes().replace(b'"region_code":"330100"', b'"region_code":"33"')
    with pytest.raises(Rejected, match="payload.region_code"):
        classify(document)
