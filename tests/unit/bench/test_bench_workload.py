"""The benchmark's households: seeded, valid for intake, mixed, and what the loop really gives."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

from support.loop import DIBAO_FAMILY_REFERRALS, POLICY, Loop, declaration, dibao_members

from bench.expected import expected_referrals
from bench.injector import application_message
from bench.workload import Workload
from events.codec import decode_event
from events.identity import is_valid_resident_id
from services.intake.requests import ApplicationRequest
from services.runtime.messages import Outbound

AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # under policy 2026-01


def test_the_same_seed_gives_the_same_households() -> None:
    first = Workload(7, AT).take(50, "t")
    again = Workload(7, AT).take(50, "t")
    other = Workload(8, AT).take(50, "t")
    assert [h.body for h in first] == [h.body for h in again]
    assert [h.expected for h in first] == [h.expected for h in again]
    assert [h.body for h in first] != [h.body for h in other]


def test_the_mix_reaches_every_tier_an_application_can_and_every_tag() -> None:
    households = Workload(1, AT).take(600, "t")
    tiers = Counter(h.expected.tier for h in households)
    # TEMPORARY needs an emergency, which only a monitoring signal brings.
    assert set(tiers) == {"EXTREMELY_POOR", "DIBAO", "MARGINAL", "RIGID_EXPENDITURE", "NONE"}
    assert all(count >= 30 for count in tiers.values()), tiers
    tags = {t for h in households for t in h.expected.tags}
    assert tags == {
        "SEVERELY_DISABLED",
        "DISABLED_IN_DIFFICULTY",
        "ORPHAN",
        "UNSUPPORTED_CHILD",
        "LEFT_BEHIND_CHILD",
        "ELDERLY_ALONE",
    }
    # Most households lack something; some (comfortable, no special group) lack nothing.
    with_referrals = sum(1 for h in households if h.referrals)
    assert 0.7 * len(households) < with_referrals < len(households)


def test_every_body_is_an_application_intake_accepts_with_unique_valid_people() -> None:
    households = Workload(3, AT).take(300, "t")
    people = [m["person_id"] for h in households for m in h.body["members"]]
    assert len(people) == len(set(people))
    assert all(is_valid_resident_id(p) for p in people)
    context = {"policy": POLICY, "now": AT}
    for household in households:
        body = json.loads(json.dumps(household.body))  # as it goes over the wire
        ApplicationRequest.model_validate(body, context=context)


def test_expected_referrals_are_what_the_real_handlers_issue() -> None:
    loop = Loop()
    households = Workload(5, AT).take(60, "t")
    for household in households:
        _, value = application_message(household, AT)
        loop.run([Outbound(loop.topics.events, household.household_id.encode(), value)])
    assert loop.dead_letters == []
    got: dict[str, set[tuple[str, str]]] = {h.household_id: set() for h in households}
    for department_topic, values in loop.log.items():
        if ".referrals." not in department_topic:
            continue
        for value in values:
            document = json.loads(value)
            payload = document["payload"]
            got[document["household_id"]].add((payload["program"], payload["department"]))
    assert got == {h.household_id: set(h.referrals) for h in households}


def test_a_dibao_family_expects_the_four_referrals_of_the_e2e_scenario() -> None:
    body = declaration(dibao_members())
    expected = expected_referrals("HH-D", body, POLICY, AT.date())
    assert expected.tier == "DIBAO"
    assert expected.referrals == DIBAO_FAMILY_REFERRALS
    assert expected.chain_length == 3 + 4


def test_the_injected_event_is_an_application_received_of_the_household() -> None:
    [household] = Workload(9, AT).take(1, "t")
    key, value = application_message(household, AT)
    event = decode_event(value)
    assert key == household.household_id.encode()
    assert event.household_id == household.household_id
    assert event.event_type.value == "ApplicationReceived"
    assert event.occurred_at == AT
