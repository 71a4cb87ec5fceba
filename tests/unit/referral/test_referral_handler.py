"""The referral handler in the loop: push according to needs, withdraw, link charity, transfer."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from support.loop import (
    DIBAO_FAMILY_REFERRALS,
    POLICY,
    TOPICS,
    Loop,
    application,
    dibao_members,
    member,
    of_type,
    signal,
)

from events.envelope import Envelope
from events.referral import ReferralIssued, ReferralWithdrawn
from events.types import Department, Program, SignalKind
from services.chainwriter.writer import ChainWriter
from services.referral.domain.disclosure import ALLOWLIST, disclosed_fields
from services.runtime.messages import Inbound

K = SignalKind


def issued(events: list[Envelope]) -> dict[str, ReferralIssued]:
    """program -> payload of the ReferralIssued events among `events`."""
    found = {}
    for e in of_type(events, "ReferralIssued"):
        assert isinstance(e.payload, ReferralIssued)
        found[e.payload.program.value] = e.payload
    return found


def withdrawn(events: list[Envelope]) -> dict[str, ReferralWithdrawn]:
    found = {}
    for e in of_type(events, "ReferralWithdrawn"):
        assert isinstance(e.payload, ReferralWithdrawn)
        found[e.payload.program.value] = e.payload
    return found


def types(events: list[Envelope]) -> list[str]:
    return [e.event_type.value for e in events]


def issued_at(cause: Envelope) -> datetime:
    """When a referral caused by `cause` is issued: the later of when it happened and when
    it was recorded (its due date counts from there)."""
    return max(cause.occurred_at, cause.recorded_at)


@pytest.fixture
def family() -> list[dict[str, Any]]:
    return dibao_members()


@pytest.fixture
def loop(family: list[dict[str, Any]]) -> Loop:
    """A DIBAO family of three, applied and referred."""
    loop = Loop()
    loop.submit(application("HH-R", family))
    return loop


def test_a_dibao_family_gets_exactly_its_referrals(loop: Loop, family: list[Any]) -> None:
    referrals = issued(loop.chain)
    assert {
        (r.program.value, r.department.value) for r in referrals.values()
    } == DIBAO_FAMILY_REFERRALS
    assert len(of_type(loop.chain, "ReferralIssued")) == 4
    classified = of_type(loop.chain, "HouseholdClassified")[0]
    for event in of_type(loop.chain, "ReferralIssued"):
        payload = event.payload
        assert isinstance(payload, ReferralIssued)
        days = POLICY.service_level_days(payload.department)
        assert payload.due_at == issued_at(classified) + timedelta(days=days)
        assert payload.tier == "DIBAO" and payload.region_code == "330100"
        assert event.causation_id == classified.event_id
        assert event.correlation_id == loop.chain[0].correlation_id
    assert [m.person_id for m in referrals["education_assistance"].members] == [
        family[2]["person_id"]
    ]
    assert [m.person_id for m in referrals["employment_assistance"].members] == [
        family[0]["person_id"]
    ]
    assert len({r.referral_id for r in referrals.values()}) == 4
    assert loop.dead_letters == []


def test_service_levels_differ_by_department(loop: Loop) -> None:
    referrals = issued(loop.chain)
    at = issued_at(of_type(loop.chain, "HouseholdClassified")[0])
    assert referrals["minimum_living_allowance"].due_at == at + timedelta(days=10)
    assert referrals["education_assistance"].due_at == at + timedelta(days=15)


def test_rescreening_with_the_same_result_issues_nothing(loop: Loop, family: list[Any]) -> None:
    after = loop.monitor(signal(K.SCHOOL_ENROLLMENT, family[2]["person_id"]))
    assert types(after) == ["SignalReceived", "HouseholdIdentified", "HouseholdClassified"]
    after = loop.monitor(
        signal(K.INCOME_CHANGE, family[1]["person_id"], monthly_income=Decimal(1600))
    )
    assert types(after) == ["SignalReceived", "HouseholdIdentified", "HouseholdClassified"]
    assert loop.dead_letters == []


def test_rescreening_that_removes_a_ground_withdraws_that_referral(
    loop: Loop, family: list[Any]
) -> None:
    before = issued(loop.chain)
    # Income 4500 for three: pci 1500, above D = 1240, below M = 1860: MARGINAL.
    after = loop.monitor(
        signal(K.INCOME_CHANGE, family[1]["person_id"], monthly_income=Decimal(4500))
    )
    classified = of_type(after, "HouseholdClassified")[0].payload
    assert getattr(classified, "tier", None) == "MARGINAL"
    gone = withdrawn(after)
    assert set(gone) == {"minimum_living_allowance", "medical_assistance"}
    for program, payload in gone.items():
        assert payload.referral_id == before[program].referral_id
        assert payload.department == before[program].department
        assert "MARGINAL" in payload.reason
    assert issued(after) == {}  # education and employment still hold
    assert loop.dead_letters == []


def test_a_ground_that_returns_issues_a_new_referral(loop: Loop, family: list[Any]) -> None:
    first = issued(loop.chain)["minimum_living_allowance"]
    loop.monitor(signal(K.INCOME_CHANGE, family[1]["person_id"], monthly_income=Decimal(4500)))
    back = loop.monitor(
        signal(K.INCOME_CHANGE, family[1]["person_id"], monthly_income=Decimal(1500))
    )
    again = issued(back)
    assert set(again) == {"minimum_living_allowance", "medical_assistance"}
    assert again["minimum_living_allowance"].referral_id != first.referral_id


def test_declined_as_not_covered_links_charity_only_once(loop: Loop) -> None:
    referrals = issued(loop.chain)
    education, medical = referrals["education_assistance"], referrals["medical_assistance"]
    after = loop.answer(education.referral_id, "education", "DECLINED", reason="not_covered")
    assert types(after) == ["ReferralOutcomeReported", "ReferralIssued"]
    charity = issued(after)["charity_linkage"]
    assert charity.department is Department.CHARITY
    assert charity.grounds["declined_program"] == "education_assistance"
    assert charity.grounds["declined_by"] == "education"
    # Charity is no government body: no member, the count and the declined need's figures.
    assert charity.members == []
    assert charity.grounds["members_concerned"] == str(len(education.members))
    assert charity.grounds["education_expenses_12m"] == education.grounds["education_expenses_12m"]
    assert charity.due_at == issued_at(after[0]) + timedelta(days=15)

    after = loop.answer(medical.referral_id, "medical_security", "DECLINED", reason="not_covered")
    assert types(after) == ["ReferralOutcomeReported"]
    assert loop.dead_letters == []


@pytest.mark.parametrize("reason", ["not_eligible", "duplicate", "unreachable"])
def test_other_declines_link_nothing(loop: Loop, reason: str) -> None:
    education = issued(loop.chain)["education_assistance"]
    after = loop.answer(education.referral_id, "education", "DECLINED", reason=reason)
    assert types(after) == ["ReferralOutcomeReported"]


def test_transferred_goes_to_the_named_department_with_transferred_from(loop: Loop) -> None:
    employment = issued(loop.chain)["employment_assistance"]
    after = loop.answer(
        employment.referral_id, "human_resources", "TRANSFERRED", transfer_to="civil_affairs"
    )
    assert types(after) == ["ReferralOutcomeReported", "ReferralIssued"]
    transfer = issued(after)["employment_assistance"]
    assert transfer.department is Department.CIVIL_AFFAIRS
    assert transfer.transferred_from == employment.referral_id
    assert transfer.referral_id != employment.referral_id
    assert [m.person_id for m in transfer.members] == [m.person_id for m in employment.members]
    assert transfer.due_at == issued_at(after[0]) + timedelta(days=10)
    assert (
        loop.department_topic("civil_affairs")[-1]
        == loop.log[TOPICS.chain][loop.chain.index(of_type(after, "ReferralIssued")[0])]
    )


def test_an_accepted_referral_stays_open(loop: Loop) -> None:
    education = issued(loop.chain)["education_assistance"]
    after = loop.answer(education.referral_id, "education", "ACCEPTED")
    assert types(after) == ["ReferralOutcomeReported"]


def test_chained_referral_events_are_copied_byte_for_byte_to_their_department(
    loop: Loop, family: list[Any]
) -> None:
    loop.monitor(signal(K.INCOME_CHANGE, family[1]["person_id"], monthly_income=Decimal(4500)))
    loop.answer(
        issued(loop.chain)["education_assistance"].referral_id,
        "education",
        "DECLINED",
        reason="not_covered",
    )
    latest = max(e.payload.due_at for e in of_type(loop.chain, "ReferralIssued"))
    loop.tick(latest + timedelta(days=1))  # every open referral overdue
    kinds = {"ReferralIssued", "ReferralWithdrawn", "ReferralOverdue"}
    assert {e.event_type.value for e in loop.chain} >= kinds
    kinds.add("ReferralAmended")  # delivered too, though this story has none
    expected: dict[str, list[bytes]] = {d.value: [] for d in Department}
    for event, value in zip(loop.chain, loop.log[TOPICS.chain], strict=True):
        if event.event_type.value in kinds:
            expected[event.payload.department.value].append(value)
    for department in Department:
        assert loop.department_topic(department) == expected[department.value], department
    # 4 issued, 2 withdrawn, charity linked; employment and charity still open, so overdue
    assert sum(map(len, expected.values())) == 4 + 2 + 1 + 2


def test_the_department_copy_is_the_chained_event_with_its_key(loop: Loop) -> None:
    for event in of_type(loop.chain, "ReferralIssued"):
        value = loop.log[TOPICS.chain][loop.chain.index(event)]
        assert value in loop.department_topic(event.payload.department)
    chained = of_type(loop.chain, "ReferralIssued")[0]
    proposed = chained.model_copy(update={"sequence": None, "prev_hash": None, "hash": None})
    writer = ChainWriter(TOPICS)
    on_chain, copy = writer.handle(
        Inbound(TOPICS.events, 0, 0, b"HH-R", proposed.to_bytes()), replaying=False
    )
    assert on_chain.topic == TOPICS.chain
    department = TOPICS.referrals(chained.payload.department)
    assert (copy.topic, copy.key, copy.value) == (department, b"HH-R", on_chain.value)


def test_the_referral_handler_leaves_delivery_to_the_chain_writer(loop: Loop) -> None:
    event = of_type(loop.chain, "ReferralIssued")[0]
    value = loop.log[TOPICS.chain][loop.chain.index(event)]
    assert loop.referral.handle(Inbound(TOPICS.chain, 0, 99, b"HH-R", value), False) == []


def _disclosure_households() -> list[list[dict[str, Any]]]:
    old, young = date(1950, 1, 1), date(2015, 1, 1)
    return [
        dibao_members(),
        [
            member(
                old, capacity="none", employment="retired", disability_grade=1, chronic_illness=True
            )
        ],
        [
            member(
                young,
                capacity="none",
                employment="student",
                relation="child",
                orphan=True,
                in_school=True,
                parents_unable_to_support=True,
                left_behind=True,
            ),
            member(
                old, capacity="none", employment="retired", relation="parent", disability_grade=3
            ),
        ],
    ]


def test_no_referral_discloses_more_than_its_departments_allowlist() -> None:
    loop = Loop()
    for n, members in enumerate(_disclosure_households()):
        household = f"HH-D{n}"
        loop.submit(
            application(
                household,
                members,
                dwelling_unsafe=True,
                rigid_expenses_12m={"medical": "900", "education": "300"},
            )
        )
        loop.monitor(signal(K.DISASTER, members[0]["person_id"]))
        for referral in list(issued(loop.chain_of(household)).values()):
            if referral.department is Department.CIVIL_AFFAIRS:
                continue
            other = "education" if referral.department is Department.HOUSING else "housing"
            loop.answer(
                referral.referral_id,
                referral.department,
                "TRANSFERRED" if n % 2 else "DECLINED",
                **({"transfer_to": other} if n % 2 else {"reason": "not_covered"}),
            )
    referrals = of_type(loop.chain, "ReferralIssued")
    programs = {e.payload.program for e in referrals}
    assert len(programs) >= 12, programs  # most of the push table, transfers and charity
    assert any(e.payload.transferred_from for e in referrals)
    for event in referrals:
        payload = event.to_document()["payload"]
        extra = disclosed_fields(payload) - ALLOWLIST[Department(payload["department"])]
        assert not extra, (payload["program"], payload["department"], extra)
    assert loop.dead_letters == []
    assert Program.CHARITY_LINKAGE in programs


def test_a_classification_is_read_with_the_facts_it_was_computed_from() -> None:
    # Identification may append two re-identifications before classification has answered the
    # first: the first classification must then be paired with the first facts, not the newest.
    head = member(date(1950, 1, 1), capacity="none", employment="retired", disability_grade=1)
    spouse = member(date(1955, 1, 1), capacity="none", employment="retired", relation="spouse")
    loop = Loop()
    loop.submit(application("HH-X", [head, spouse]))
    assert set(issued(loop.chain)) == {
        "extreme_poverty_support",
        "medical_assistance",
        "disability_nursing_subsidy",
    }
    after = loop.monitor_all(
        [
            signal(K.INCOME_CHANGE, spouse["person_id"], monthly_income=Decimal(100)),
            signal(K.DEATH_OF_MEMBER, head["person_id"]),
        ]
    )
    assert types(after)[:4] == [
        "SignalReceived",
        "HouseholdIdentified",
        "SignalReceived",
        "HouseholdIdentified",
    ]
    assert loop.dead_letters == []
    assert set(withdrawn(after)) == {"disability_nursing_subsidy"}
    assert set(issued(after)) == {"elderly_meal_assistance"}


def test_an_answered_program_is_not_issued_again_while_its_ground_holds(
    loop: Loop, family: list[Any]
) -> None:
    referrals = issued(loop.chain)
    loop.answer(
        referrals["education_assistance"].referral_id,
        "education",
        "DELIVERED",
        delivered={"service": "tuition waived"},
    )
    loop.answer(
        referrals["employment_assistance"].referral_id,
        "human_resources",
        "DECLINED",
        reason="not_eligible",
    )
    after = loop.monitor(signal(K.SCHOOL_ENROLLMENT, family[2]["person_id"]))
    assert types(after) == ["SignalReceived", "HouseholdIdentified", "HouseholdClassified"]
    assert loop.dead_letters == []


def test_an_answered_program_whose_ground_was_lost_and_found_is_a_new_need(
    loop: Loop, family: list[Any]
) -> None:
    first = issued(loop.chain)["minimum_living_allowance"]
    loop.answer(first.referral_id, "civil_affairs", "DELIVERED", delivered={"cash_amount": "740"})
    spouse = family[1]["person_id"]
    assert "minimum_living_allowance" not in withdrawn(
        loop.monitor(signal(K.INCOME_CHANGE, spouse, monthly_income=Decimal(4500)))
    )
    back = issued(loop.monitor(signal(K.INCOME_CHANGE, spouse, monthly_income=Decimal(1500))))
    assert back["minimum_living_allowance"].referral_id != first.referral_id
