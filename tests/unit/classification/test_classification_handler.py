"""The classification handler: every HouseholdIdentified becomes a HouseholdClassified."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from support.fake_topic import FakeTopic
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

from events.envelope import Envelope, Payload, derived_event_id
from events.household import (
    DatedExpense,
    HouseholdClassified,
    HouseholdIdentified,
    NextRescreening,
)
from events.policy import PolicyVersionApproved, PolicyVersionProposed, PolicyVersionWithdrawn
from events.types import ExpenseKind, RescreeningReason, SignalKind
from services.classification.handler import ClassificationHandler
from services.rules.standards import PolicyBook, shipped_proposal
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
    early = datetime(2025, 12, 31, 15, 59, tzinfo=UTC)  # 23:59 in Hangzhou
    with pytest.raises(Rejected, match="no standard in force for region '330100' on 2025-12-31"):
        classify(identified(occurred_at=early))


def test_a_broken_household_identified_is_rejected_naming_the_field() -> None:
    document = identified().to_bytes().replace(b'"region_code":"330100"', b'"region_code":"33"')
    with pytest.raises(Rejected, match="payload.region_code"):
        classify(document)


def classified_payload_of(
    cause: Envelope, handler: ClassificationHandler | None = None
) -> HouseholdClassified:
    outputs = (handler or HANDLER).handle(
        Inbound(TOPICS.chain, 0, 7, b"HH-1", cause.to_bytes()), False
    )
    [classified] = decode_all(outputs)
    assert isinstance(classified.payload, HouseholdClassified)
    return classified.payload


def test_without_an_evaluation_date_the_local_date_of_the_region_is_used() -> None:
    morning = datetime(2026, 5, 31, 23, 0, tzinfo=UTC)  # 07:00 on 1 June in Hangzhou
    assert classified_payload_of(identified(occurred_at=morning)).effective_date == date(2026, 6, 1)


def test_the_household_is_evaluated_at_evaluated_on() -> None:
    child = member(date(2010, 9, 15), relation="child", capacity="none", left_behind=True)
    members = [member(date(1980, 1, 1), 800, "employed"), child]
    cause = identified(members, evaluated_on=date(2026, 9, 14))
    day_before = classified_payload_of(cause)
    assert (day_before.effective_date, day_before.tags) == (
        date(2026, 9, 14),
        ["LEFT_BEHIND_CHILD"],
    )
    on_the_day = classified_payload_of(identified(members, evaluated_on=date(2026, 9, 15)))
    assert (on_the_day.effective_date, on_the_day.tags) == (date(2026, 9, 15), [])
    assert on_the_day.rule_trace["numbers"]["effective_date"] == "2026-09-15"


def test_the_classification_names_the_next_date_that_matters() -> None:
    child = member(date(2010, 9, 15), relation="child", capacity="none", left_behind=True)
    members = [member(date(1980, 1, 1), 800, "employed"), child]
    payload = classified_payload_of(identified(members, evaluated_on=date(2026, 6, 1)))
    assert payload.tier == "DIBAO"
    assert payload.next_rescreening == NextRescreening(
        on=date(2026, 9, 15),
        reason=RescreeningReason.BIRTHDAY,
        person_id=child["person_id"],
        age=16,
    )
    after = classified_payload_of(identified(members, evaluated_on=date(2026, 9, 15)))
    assert after.next_rescreening == NextRescreening(
        on=date(2027, 3, 15), reason=RescreeningReason.PERIODIC_REVIEW
    )


def test_r_is_taken_at_the_evaluation_date_from_the_dated_expenses() -> None:
    # pci 2000 >= M 1860: only R can make it RIGID_EXPENDITURE.
    members = [member(date(1980, 1, 1), 2000, "employed")]
    bill = {"kind": "medical", "amount": "30000", "on": "2025-08-31"}
    last_day = classified_payload_of(
        identified(members, evaluated_on=date(2026, 8, 31), expenses=[bill])
    )
    assert last_day.tier == "RIGID_EXPENDITURE"
    assert last_day.next_rescreening == NextRescreening(
        on=date(2026, 9, 1),
        reason=RescreeningReason.EXPENSE_EXPIRED,
        expense=DatedExpense(kind=ExpenseKind.MEDICAL, amount=Decimal(30000), on=date(2025, 8, 31)),
    )
    gone = classified_payload_of(
        identified(members, evaluated_on=date(2026, 9, 1), expenses=[bill])
    )
    assert gone.tier == "NONE"


# -- policy versions ---------------------------------------------------------------------------

RAISED = "2026-07-hz"


def policy_event(payload: Payload) -> bytes:
    return event(payload, None, datetime(2026, 6, 10, tzinfo=UTC), producer="policy").to_bytes()


def proposal(name: str = RAISED, dibao: str = "1400") -> bytes:
    shipped = shipped_proposal()
    regions = [
        r.model_copy(update={"dibao_standard": Decimal(dibao)}) if r.region_code == HANGZHOU else r
        for r in shipped.regions
    ]
    return policy_event(
        PolicyVersionProposed(
            policy_version=name,
            effective_from=date(2026, 7, 1),
            regions=regions,
            service_level_days=shipped.service_level_days,
            proposed_by="policy.chen",
            based_on=shipped.policy_version,
        )
    )


def feed_policy(handler: ClassificationHandler, *values: bytes) -> None:
    for offset, value in enumerate(values):
        assert handler.handle(Inbound(TOPICS.policy, 0, offset, None, value), replaying=False) == []


def marginal_household(evaluated_on: date) -> Envelope:
    """pci 1300: MARGINAL under D = 1240 (M = 1860), DIBAO under D = 1400."""
    return identified([member(date(1980, 1, 1), 1300, "employed")], evaluated_on=evaluated_on)


def test_an_approved_version_is_the_standard_from_its_effective_date() -> None:
    handler = ClassificationHandler(TOPICS)
    feed_policy(handler, proposal())
    assert classified_payload_of(marginal_household(date(2026, 7, 1)), handler).tier == "MARGINAL"
    feed_policy(
        handler,
        policy_event(PolicyVersionApproved(policy_version=RAISED, approved_by="policy.liu")),
    )
    before = classified_payload_of(marginal_household(date(2026, 6, 30)), handler)
    on = classified_payload_of(marginal_household(date(2026, 7, 1)), handler)
    assert (before.tier, before.policy_version) == ("MARGINAL", "2026-01")
    assert (on.tier, on.policy_version, on.rule_trace["numbers"]["D"]) == ("DIBAO", RAISED, "1400")


def test_a_withdrawn_version_is_no_standard() -> None:
    handler = ClassificationHandler(TOPICS)
    feed_policy(
        handler,
        proposal(),
        policy_event(PolicyVersionApproved(policy_version=RAISED, approved_by="policy.liu")),
        policy_event(PolicyVersionWithdrawn(policy_version=RAISED, withdrawn_by="policy.liu")),
    )
    payload = classified_payload_of(marginal_household(date(2026, 7, 2)), handler)
    assert (payload.tier, payload.policy_version) == ("MARGINAL", "2026-01")


def test_policy_events_read_again_change_nothing() -> None:
    handler = ClassificationHandler(TOPICS)
    approve = policy_event(PolicyVersionApproved(policy_version=RAISED, approved_by="policy.liu"))
    withdraw = policy_event(
        PolicyVersionWithdrawn(policy_version=RAISED, withdrawn_by="policy.liu")
    )
    feed_policy(handler, proposal(), approve, withdraw, proposal(), approve)  # a restart's re-read
    assert [v.policy_version for v in handler.policy.versions] == ["2026-01"]


def test_a_broken_policy_message_is_rejected() -> None:
    with pytest.raises(Rejected, match="policy message"):
        feed_policy(ClassificationHandler(TOPICS), b"{not json")


def test_bootstrap_reads_the_whole_policy_topic_before_anything_is_classified() -> None:
    approve = policy_event(PolicyVersionApproved(policy_version=RAISED, approved_by="policy.liu"))
    topic = FakeTopic(TOPICS.policy, [proposal(), b"{broken", approve])
    handler = ClassificationHandler(TOPICS)
    asyncio.run(handler.bootstrap(lambda: topic))
    assert topic.stopped and topic.at == 3
    assert classified_payload_of(marginal_household(date(2026, 7, 1)), handler).tier == "DIBAO"
