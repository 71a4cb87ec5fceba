"""Referrals as a household changes over time: amended, each emergency its own ground,
withdrawn when an emergency leaves its window or the household closes, due from issue time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from support.loop import (
    ON,
    TOPICS,
    Loop,
    application,
    decode_all,
    dibao_members,
    event,
    member,
    of_type,
    signal,
)

from events.envelope import Envelope
from events.policy import PolicyVersionApproved, PolicyVersionProposed
from events.referral import ReferralAmended, ReferralIssued
from events.schedule import HouseholdClosed
from events.types import ClosureReason, Department, Program, SignalKind
from services.referral.domain.disclosure import ALLOWLIST, disclosed_fields
from services.referral.handler import ReferralHandler
from services.rules.standards import shipped_proposal
from services.runtime.messages import Inbound

K = SignalKind
DELIVERED: dict[str, Any] = {"delivered": {"service": "tent and food"}}


def payloads(events: list[Envelope], event_type: str) -> dict[str, Any]:
    """program -> payload of the events of that type among `events`."""
    return {e.payload.program.value: e.payload for e in of_type(events, event_type)}


def referral_types(events: list[Envelope]) -> list[str]:
    return [e.event_type.value for e in events if e.event_type.value.startswith("Referral")]


def well_off() -> list[dict[str, Any]]:
    """One earner, far above every line: tier NONE until an emergency makes it TEMPORARY."""
    return [member(date(1980, 1, 1), 20000, "employed")]


# Amended, not withdrawn and issued again


def test_a_member_who_becomes_unemployed_amends_the_employment_referral() -> None:
    family = dibao_members()
    loop = Loop()
    loop.submit(application("HH-A", family))
    before = payloads(loop.chain, "ReferralIssued")["employment_assistance"]
    after = loop.monitor(signal(K.UNEMPLOYMENT_REGISTERED, family[1]["person_id"]))
    assert referral_types(after) == ["ReferralAmended"]
    amended = of_type(after, "ReferralAmended")[0]
    payload = amended.payload
    assert isinstance(payload, ReferralAmended)
    assert (payload.referral_id, payload.program, payload.department) == (
        before.referral_id,
        Program.EMPLOYMENT_ASSISTANCE,
        Department.HUMAN_RESOURCES,
    )
    heads = [family[0]["person_id"], family[1]["person_id"]]
    assert sorted(m.person_id for m in payload.members) == sorted(heads)
    assert payload.members[1].employment_status == "unemployed"  # disclosed like the issue
    assert "members concerned: 1 in, 0 out" in payload.reason
    document = amended.to_document()["payload"]
    assert disclosed_fields(document) <= ALLOWLIST[Department.HUMAN_RESOURCES]
    # The department receives it on its own topic, the chained bytes as they are.
    value = loop.log[TOPICS.chain][loop.chain.index(amended)]
    assert loop.department_topic("human_resources")[-1] == value
    assert loop.dead_letters == []


def test_a_death_amends_the_referrals_for_everyone_and_leaves_the_others() -> None:
    family = dibao_members()
    loop = Loop()
    loop.submit(application("HH-D", family))
    after = loop.monitor(signal(K.DEATH_OF_MEMBER, family[1]["person_id"]))
    assert referral_types(after) == ["ReferralAmended", "ReferralAmended"]
    amended = payloads(after, "ReferralAmended")
    assert set(amended) == {"medical_assistance", "minimum_living_allowance"}
    for payload in amended.values():
        assert [m.person_id for m in payload.members] == [
            family[0]["person_id"],
            family[2]["person_id"],
        ]
        assert "0 in, 1 out" in payload.reason


def test_an_income_change_that_only_moves_numbers_amends_nothing() -> None:
    family = dibao_members()
    loop = Loop()
    loop.submit(application("HH-N", family))
    after = loop.monitor(
        signal(K.INCOME_CHANGE, family[1]["person_id"], monthly_income=Decimal(1700))
    )
    assert referral_types(after) == []


# Each emergency is its own ground


def test_a_second_disaster_after_delivered_relief_gets_its_own() -> None:
    people = well_off()
    person = people[0]["person_id"]
    loop = Loop()
    loop.submit(application("HH-E", people))
    first = payloads(loop.monitor(signal(K.DISASTER, person)), "ReferralIssued")
    assert set(first) == {"disaster_relief", "temporary_assistance"}
    for payload in first.values():
        loop.answer(payload.referral_id, payload.department, "DELIVERED", **DELIVERED)
    later = ON + timedelta(days=30)
    second = payloads(loop.monitor(signal(K.DISASTER, person, occurred_at=later)), "ReferralIssued")
    assert set(second) == {"disaster_relief", "temporary_assistance"}
    for program, payload in second.items():
        assert payload.referral_id != first[program].referral_id
    assert second["disaster_relief"].grounds["disaster_on"] == "2026-07-01"
    assert second["temporary_assistance"].grounds["emergency_on"] == "2026-07-01"
    # The same disaster told again grounds nothing new.
    again = loop.monitor(signal(K.DISASTER, person, occurred_at=later))
    assert referral_types(again) == []
    assert loop.dead_letters == []


def test_a_second_disaster_while_the_relief_is_open_amends_it() -> None:
    family = dibao_members()
    loop = Loop()
    loop.submit(application("HH-O", family))
    [relief] = payloads(
        loop.monitor(signal(K.DISASTER, family[0]["person_id"])), "ReferralIssued"
    ).values()
    later = ON + timedelta(days=30)
    after = loop.monitor(signal(K.DISASTER, family[0]["person_id"], occurred_at=later))
    assert referral_types(after) == ["ReferralAmended"]
    amended = payloads(after, "ReferralAmended")["disaster_relief"]
    assert amended.referral_id == relief.referral_id
    assert amended.grounds["disaster_on"] == "2026-07-01"
    assert "now grounded on disaster@2026-07-01 instead of disaster@2026-06-01" in amended.reason


def test_relief_is_withdrawn_when_its_emergency_leaves_the_window() -> None:
    people = well_off()
    person = people[0]["person_id"]
    loop = Loop()
    loop.submit(application("HH-W", people))
    issued = payloads(loop.monitor(signal(K.DISASTER, person)), "ReferralIssued")

    def rescreen(days: int) -> list[Envelope]:
        at = ON + timedelta(days=days)
        return loop.monitor(signal(K.INCOME_CHANGE, person, occurred_at=at, monthly_income=20000))

    assert referral_types(rescreen(90)) == []  # 2026-08-30: day 90 still counts
    after = rescreen(91)  # 2026-08-31
    gone = payloads(after, "ReferralWithdrawn")
    assert set(gone) == {"disaster_relief", "temporary_assistance"}
    for program, payload in gone.items():
        assert payload.referral_id == issued[program].referral_id
        assert "the disaster of 2026-06-01 has left its 90-day window" in payload.reason
    assert loop.dead_letters == []


# A closed household


def closed(household_id: str, person_id: str, on: datetime = ON) -> Envelope:
    payload = HouseholdClosed(
        reason=ClosureReason.LAST_MEMBER_DIED, on=on.date(), person_id=person_id
    )
    return event(payload, household_id, on, producer="identification")


def test_a_closed_household_has_every_open_referral_withdrawn_and_nothing_more() -> None:
    family = dibao_members()
    loop = Loop()
    loop.submit(application("HH-C", family))
    issued = payloads(loop.chain, "ReferralIssued")
    loop.answer(
        issued["education_assistance"].referral_id, "education", "DECLINED", reason="not_covered"
    )
    loop.answer(
        issued["medical_assistance"].referral_id, "medical_security", "DELIVERED", **DELIVERED
    )
    still_open = {"minimum_living_allowance", "employment_assistance", "charity_linkage"}
    after = loop.submit(closed("HH-C", family[0]["person_id"]))
    gone = payloads(after, "ReferralWithdrawn")
    assert set(gone) == still_open
    assert {p.reason for p in gone.values()} == {"household_closed"}
    assert of_type(after, "ChainSettled")  # every referral now has its final answer
    # Afterwards the household is ignored: a signal about a former member refers nothing.
    later = loop.monitor(
        signal(K.DISASTER, family[2]["person_id"], occurred_at=ON + timedelta(days=1))
    )
    assert referral_types(later) == []
    assert loop.referral.households["HH-C"].open_by_program == {}
    # ... and none of its referrals ever goes overdue.
    assert loop.tick(ON + timedelta(days=400)) == []
    assert loop.dead_letters == []


# Charity is the last resort


def test_charity_declining_as_not_covered_links_no_new_charity() -> None:
    loop = Loop()
    loop.submit(application("HH-L"))
    education = payloads(loop.chain, "ReferralIssued")["education_assistance"]
    charity = payloads(
        loop.answer(education.referral_id, "education", "DECLINED", reason="not_covered"),
        "ReferralIssued",
    )["charity_linkage"]
    after = loop.answer(charity.referral_id, "charity", "DECLINED", reason="not_covered")
    assert [e.event_type.value for e in after] == ["ReferralOutcomeReported"]
    assert loop.dead_letters == []


# When a referral is due


def _issue_with(
    occurred_at: datetime, recorded_at: datetime, policy: list[Envelope] | None = None
) -> dict[str, ReferralIssued]:
    """The referrals a fresh handler issues for a DIBAO family classified by an event that
    happened at `occurred_at` and was recorded at `recorded_at`."""
    loop = Loop()
    loop.submit(application("HH-T"))
    identified = of_type(loop.chain, "HouseholdIdentified")[0]
    classified = of_type(loop.chain, "HouseholdClassified")[0].model_copy(
        update={"occurred_at": occurred_at, "recorded_at": recorded_at}
    )
    handler = ReferralHandler(TOPICS)
    for offset, version in enumerate(policy or []):
        handler.handle(Inbound(TOPICS.policy, 0, offset, None, version.to_bytes()), False)
    handler.handle(Inbound(TOPICS.chain, 0, 0, b"HH-T", identified.to_bytes()), False)
    out = handler.handle(Inbound(TOPICS.chain, 0, 1, b"HH-T", classified.to_bytes()), False)
    return {e.payload.program.value: e.payload for e in decode_all(out)}


def test_a_back_dated_cause_is_due_from_when_it_was_recorded() -> None:
    recorded = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    referrals = _issue_with(recorded - timedelta(days=60), recorded)
    assert referrals["minimum_living_allowance"].due_at == recorded + timedelta(days=10)
    assert referrals["education_assistance"].due_at == recorded + timedelta(days=15)


def test_a_cause_recorded_before_it_happened_is_due_from_when_it_happened() -> None:
    happened = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    referrals = _issue_with(happened, happened - timedelta(hours=2))
    assert referrals["minimum_living_allowance"].due_at == happened + timedelta(days=10)


def test_a_back_dated_application_is_not_born_overdue() -> None:
    loop = Loop()
    loop.submit(application("HH-B", occurred_at=ON - timedelta(days=60)))
    classified = of_type(loop.chain, "HouseholdClassified")[0]
    issued_at = max(classified.occurred_at, classified.recorded_at)
    for referral in of_type(loop.chain, "ReferralIssued"):
        assert referral.occurred_at == issued_at  # issued now, whenever its cause happened
        assert referral.payload.due_at > issued_at
    assert loop.tick(issued_at + timedelta(hours=1)) == []


def test_a_transfer_on_a_clock_ahead_of_the_wall_is_due_from_the_clock() -> None:
    loop = Loop()
    loop.submit(application("HH-F"))
    employment = payloads(loop.chain, "ReferralIssued")["employment_assistance"]
    now = datetime(2028, 1, 10, 2, 0, tzinfo=UTC)
    loop.advance_clock(now)
    after = loop.answer(
        employment.referral_id, "human_resources", "TRANSFERRED", transfer_to="civil_affairs"
    )
    outcome, transfer = after
    assert outcome.recorded_at == now  # recorded on the system's clock
    assert transfer.payload.due_at == now + timedelta(days=10)
    late = [e.payload.referral_id for e in loop.tick(now + timedelta(days=1))]
    assert transfer.payload.referral_id not in late and employment.referral_id not in late


def _faster_civil_affairs(effective_from: date) -> list[Envelope]:
    shipped = shipped_proposal()
    proposal = PolicyVersionProposed.model_validate(
        shipped.model_dump()
        | {
            "policy_version": "2026-06",
            "effective_from": effective_from,
            "service_level_days": shipped.service_level_days | {Department.CIVIL_AFFAIRS: 5},
            "proposed_by": "policy.chen",
        }
    )
    approved = PolicyVersionApproved(policy_version="2026-06", approved_by="policy.liu")
    return [event(p, None, producer="policy") for p in (proposal, approved)]


@pytest.mark.parametrize(
    ("issued", "days"),
    [
        # 15:59 UTC on 31 May is 23:59 in Hangzhou: the old version is still in force.
        (datetime(2026, 5, 31, 15, 59, tzinfo=UTC), 10),
        # 16:00 UTC on 31 May is midnight, 1 June, in Hangzhou: the new version.
        (datetime(2026, 5, 31, 16, 0, tzinfo=UTC), 5),
    ],
)
def test_service_levels_are_those_of_the_version_in_force_on_the_issuing_date(
    issued: datetime, days: int
) -> None:
    referrals = _issue_with(issued, issued, _faster_civil_affairs(date(2026, 6, 1)))
    assert referrals["minimum_living_allowance"].due_at == issued + timedelta(days=days)
    assert referrals["education_assistance"].due_at == issued + timedelta(days=15)


def test_an_approved_version_on_the_policy_topic_reaches_referral_in_the_loop() -> None:
    loop = Loop()
    for version in _faster_civil_affairs(date(2026, 1, 2)):
        assert loop.policy_event(version) == []
    loop.submit(application("HH-V"))
    classified = of_type(loop.chain, "HouseholdClassified")[0]
    issued_at = max(classified.occurred_at, classified.recorded_at)
    allowance = payloads(loop.chain, "ReferralIssued")["minimum_living_allowance"]
    assert allowance.due_at == issued_at + timedelta(days=5)
    assert loop.referral.policy.has_version("2026-06")
    assert loop.dead_letters == []


# State without events: what the policy impact reads


def test_replaying_the_chain_builds_the_same_households_without_any_event() -> None:
    family = dibao_members()
    loop = Loop()
    loop.submit(application("HH-R", family))
    loop.monitor(signal(K.UNEMPLOYMENT_REGISTERED, family[1]["person_id"]))
    loop.monitor(signal(K.DISASTER, family[0]["person_id"]))
    relief = payloads(loop.chain, "ReferralIssued")["disaster_relief"]
    loop.answer(relief.referral_id, "emergency_management", "DELIVERED", **DELIVERED)
    loop.submit(application("HH-R2", well_off()))
    fresh = ReferralHandler(TOPICS)
    for offset, value in enumerate(loop.log[TOPICS.chain]):
        assert fresh.handle(Inbound(TOPICS.chain, 0, offset, None, value), replaying=True) == []
    for household_id in ("HH-R", "HH-R2"):
        live, replayed = loop.referral.households[household_id], fresh.households[household_id]
        assert replayed.open_by_program == live.open_by_program
        assert replayed.answered == live.answered
        assert replayed.facts == live.facts
    assert (Program.DISASTER_RELIEF, "disaster@2026-06-01") in fresh.households["HH-R"].answered
