"""The feedback handler: answers become outcomes, late referrals overdue, full chains settled."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from support.loop import ON, TOPICS, Loop, application, event, of_type, signal

from events.canonical import canonical_json
from events.codec import decode_event
from events.envelope import Envelope
from events.referral import (
    ChainSettled,
    ReferralIssued,
    ReferralOutcomeReported,
    ReferralOverdue,
    ReferralWithdrawn,
)
from events.schedule import HouseholdClosed
from events.types import ClosureReason, Department, Outcome, Program, SignalKind
from services.feedback.handler import FeedbackHandler
from services.feedback.ledger import Status
from services.runtime.messages import Inbound

PROGRAM_OF = {
    "education": "education_assistance",
    "housing": "housing_assistance",
    "civil_affairs": "minimum_living_allowance",
    "charity": "charity_linkage",
}
DELIVERED: dict[str, Any] = {"delivered": {"cash_amount": "740", "service": "paid"}}


@pytest.fixture
def loop() -> Loop:
    """The chain writer and the feedback handler only: referrals are issued by hand."""
    loop = Loop()
    loop.chain_consumers = [("feedback", loop.feedback)]
    return loop


def issue(
    loop: Loop,
    referral_id: str,
    department: str = "education",
    household: str = "HH-1",
    days: int = 10,
    transferred_from: str | None = None,
) -> Envelope:
    payload = ReferralIssued(
        referral_id=referral_id,
        program=Program(PROGRAM_OF[department]),
        department=Department(department),
        due_at=ON + timedelta(days=days),
        region_code="330100",
        tier="DIBAO",
        transferred_from=transferred_from,
    )
    [chained] = loop.submit(event(payload, household, producer="referral"))
    return chained


def withdraw(
    loop: Loop, referral_id: str, department: str = "education", household: str = "HH-1"
) -> list[Envelope]:
    payload = ReferralWithdrawn(
        referral_id=referral_id,
        program=Program(PROGRAM_OF[department]),
        department=Department(department),
        reason="re-screening",
    )
    return loop.submit(event(payload, household, producer="referral"))


def types(events: list[Envelope]) -> list[str]:
    return [e.event_type.value for e in events]


def test_an_answer_becomes_a_referral_outcome_in_the_referrals_correlation(loop: Loop) -> None:
    issued = issue(loop, "R-1")
    outcome, _ = loop.answer("R-1", "education", "DELIVERED", note="done", **DELIVERED)
    payload = outcome.payload
    assert isinstance(payload, ReferralOutcomeReported)
    assert (payload.referral_id, payload.program, payload.department, payload.outcome) == (
        "R-1",
        Program.EDUCATION_ASSISTANCE,
        Department.EDUCATION,
        Outcome.DELIVERED,
    )
    assert payload.delivered is not None and str(payload.delivered.cash_amount) == "740"
    assert payload.note == "done"
    assert (outcome.household_id, outcome.causation_id, outcome.correlation_id) == (
        "HH-1",
        issued.event_id,
        issued.correlation_id,
    )
    assert outcome.producer == "feedback"


def test_accepted_then_delivered(loop: Loop) -> None:
    issue(loop, "R-1")
    accepted = loop.answer("R-1", "education", "ACCEPTED")
    assert [e.payload.outcome for e in accepted] == [Outcome.ACCEPTED]
    assert loop.feedback.ledger.referrals["R-1"].status is Status.ACCEPTED
    delivered = loop.answer("R-1", "education", "DELIVERED", **DELIVERED)
    assert types(delivered) == ["ReferralOutcomeReported", "ChainSettled"]
    assert loop.dead_letters == []


def test_the_same_feedback_id_is_taken_once(loop: Loop) -> None:
    issue(loop, "R-1")
    feedback_id = str(uuid.uuid4())
    first = loop.answer("R-1", "education", "DELIVERED", feedback_id=feedback_id, **DELIVERED)
    again = loop.answer("R-1", "education", "DELIVERED", feedback_id=feedback_id, **DELIVERED)
    assert types(first) == ["ReferralOutcomeReported", "ChainSettled"] and again == []
    # A repeat is recognised, not refused as a second answer.
    assert loop.dead_letters == [] and loop.refusals("education") == []


def test_a_replay_reading_the_chain_first_knows_the_answer_taken() -> None:
    """After a restart the handler reads its inputs again, the chain's outcome perhaps before
    the feedback message that caused it: the answer is known taken, not refused as a second."""
    loop = Loop()
    loop.chain_consumers = [("feedback", loop.feedback)]
    issue(loop, "R-1")
    feedback_id = str(uuid.uuid4())
    loop.answer("R-1", "education", "DELIVERED", feedback_id=feedback_id, **DELIVERED)
    [outcome] = of_type(loop.chain, "ReferralOutcomeReported")

    restarted = FeedbackHandler(TOPICS)
    for offset, chained in enumerate(loop.chain):
        restarted.handle(Inbound(TOPICS.chain, 0, offset, None, chained.to_bytes()), True)
    [message] = loop.log[TOPICS.feedback]
    assert restarted.handle(Inbound(TOPICS.feedback, 0, 0, b"R-1", message), True) == []
    taken = restarted.ledger.answers[str(outcome.event_id)]
    assert (taken.referral_id, taken.outcome) == ("R-1", Outcome.DELIVERED)
    # The same content as the answer first taken: a retry with its key is recognised.
    assert taken == loop.feedback.ledger.answers[str(outcome.event_id)]


def test_the_same_message_redelivered_is_taken_once() -> None:
    handler = FeedbackHandler(TOPICS)
    loop = Loop()
    loop.feedback = handler
    loop.chain_consumers = [("feedback", handler)]
    issue(loop, "R-1")
    answer = {"referral_id": "R-1", "department": "education", "outcome": "ACCEPTED"}
    body = canonical_json(answer | {"feedback_id": str(uuid.uuid4())})
    message = Inbound(TOPICS.feedback, 2, 41, b"R-1", body)
    assert len(handler.handle(message, replaying=False)) == 1
    assert handler.handle(message, replaying=True) == []


def test_overdue_only_past_due_and_only_once(loop: Loop) -> None:
    issue(loop, "R-1", days=10)
    issue(loop, "R-2", "housing", days=30)
    due = ON + timedelta(days=10)
    assert loop.tick(due) == []
    [late] = loop.tick(due + timedelta(seconds=1))
    payload = late.payload
    assert isinstance(payload, ReferralOverdue)
    assert (payload.referral_id, payload.department, payload.due_at, payload.escalated_to) == (
        "R-1",
        Department.EDUCATION,
        due,
        "civil_affairs",
    )
    assert late.occurred_at == due
    assert loop.tick(due + timedelta(seconds=2)) == []
    assert loop.tick(due + timedelta(days=5)) == []
    assert loop.feedback.ledger.referrals["R-1"].overdue


def test_an_answered_referral_never_becomes_overdue(loop: Loop) -> None:
    issue(loop, "R-1")
    issue(loop, "R-2", "housing")
    loop.answer("R-1", "education", "DELIVERED", **DELIVERED)
    loop.answer("R-2", "housing", "ACCEPTED")
    overdue = loop.tick(ON + timedelta(days=60))
    assert [e.payload.referral_id for e in overdue] == ["R-2"]  # accepted is late


def test_a_restarted_handler_does_not_repeat_an_overdue(loop: Loop) -> None:
    issue(loop, "R-1")
    [late] = loop.tick(ON + timedelta(days=11))

    def replayed(chain: list[bytes]) -> FeedbackHandler:
        """A new handler that read `chain` and the clock, as after a restart."""
        handler = FeedbackHandler(TOPICS)
        for topic, values in ((TOPICS.chain, chain), (TOPICS.clock, loop.log[TOPICS.clock])):
            for offset, value in enumerate(values):
                handler.handle(Inbound(topic, 0, offset, b"HH-1", value), replaying=True)
        return handler

    assert replayed(loop.log[TOPICS.chain]).tick(ON + timedelta(days=12)) == []
    # Had the overdue not been chained, the new handler would make the very same event.
    [repeat] = replayed(loop.log[TOPICS.chain][:1]).tick(ON + timedelta(days=12))
    assert repeat.key == b"HH-1" and late.event_id == _event_id(repeat.value)
    assert repeat.value == loop.log[TOPICS.events][-1]  # byte for byte


def test_overdue_follows_the_systems_clock_not_the_wall_clock(loop: Loop) -> None:
    issue(loop, "R-1", days=10)
    due = ON + timedelta(days=10)
    far = ON + timedelta(days=1000)
    assert loop.run(loop.feedback.tick(far)) == []  # no clock read yet: nothing fires
    loop.advance_clock(due - timedelta(hours=1))
    assert loop.run(loop.feedback.tick(far)) == []  # the wall is far ahead; the clock is not
    loop.advance_clock(due + timedelta(days=3))
    [late] = loop.run(loop.feedback.tick(ON))  # the wall argument is not read
    assert isinstance(late.payload, ReferralOverdue)
    # It became overdue at its due date, told when the clock was seen past it.
    assert (late.occurred_at, late.recorded_at) == (due, due + timedelta(days=3))


def test_the_clock_never_goes_back(loop: Loop) -> None:
    issue(loop, "R-1", days=10)
    loop.advance_clock(ON + timedelta(days=11))
    loop.advance_clock(ON)
    assert loop.feedback.clock.now == ON + timedelta(days=11)
    assert len(loop.tick(ON + timedelta(days=1))) == 1


def test_timers_fire_in_due_date_order(loop: Loop) -> None:
    issue(loop, "R-late", "housing", days=30)
    issue(loop, "R-soon", days=10)
    issue(loop, "R-mid", "civil_affairs", days=20)
    fired = loop.tick(ON + timedelta(days=31))
    assert [e.payload.referral_id for e in fired] == ["R-soon", "R-mid", "R-late"]


def test_a_message_on_the_clock_topic_that_is_no_tick_is_a_dead_letter(loop: Loop) -> None:
    assert loop.clock_raw(b'{"now":"tomorrow"}') == []
    [dead] = loop.dead_letters
    assert (dead.topic, dead.reason) == (TOPICS.clock, "value: not a ClockAdvanced event")
    assert loop.feedback.clock.now is None


def test_a_closed_households_referrals_never_go_overdue(loop: Loop) -> None:
    # Even on a tick between HouseholdClosed and the withdrawals referral answers it with.
    issue(loop, "R-1")
    issue(loop, "R-2", household="HH-2")
    closing = HouseholdClosed(reason=ClosureReason.LAST_MEMBER_DIED, on=ON.date())
    loop.submit(event(closing, "HH-1", producer="identification"))
    fired = loop.tick(ON + timedelta(days=60))
    assert [e.payload.referral_id for e in fired] == ["R-2"]


def _event_id(value: bytes) -> uuid.UUID:
    return decode_event(value).event_id


def settled(events: list[Envelope]) -> list[ChainSettled]:
    found = []
    for e in of_type(events, "ChainSettled"):
        assert isinstance(e.payload, ChainSettled)
        found.append(e.payload)
    return found


def test_chain_settled_when_every_referral_is_final_withdrawn_included(loop: Loop) -> None:
    issue(loop, "R-1")
    issue(loop, "R-2", "housing")
    issue(loop, "R-9", household="HH-other")
    assert settled(loop.answer("R-1", "education", "DELIVERED", **DELIVERED)) == []
    [done] = settled(withdraw(loop, "R-2", "housing"))
    assert (done.referrals, done.delivered) == (2, ["R-1"])
    assert [e.household_id for e in of_type(loop.chain, "ChainSettled")] == ["HH-1"]


def test_declined_is_final_and_accepted_is_not(loop: Loop) -> None:
    issue(loop, "R-1")
    issue(loop, "R-2", "housing")
    loop.answer("R-1", "education", "DECLINED", reason="duplicate")
    assert settled(loop.answer("R-2", "housing", "ACCEPTED")) == []
    [done] = settled(loop.answer("R-2", "housing", "DELIVERED", **DELIVERED))
    assert (done.referrals, done.delivered) == (2, ["R-2"])


def test_settled_not_again_for_the_same_set_but_again_after_a_new_referral(loop: Loop) -> None:
    issue(loop, "R-1")
    assert len(settled(loop.answer("R-1", "education", "DELIVERED", **DELIVERED))) == 1
    assert settled(withdraw(loop, "R-1")) == []  # a late withdrawal changes nothing
    issue(loop, "R-2", "housing")
    [again] = settled(loop.answer("R-2", "housing", "DELIVERED", **DELIVERED))
    assert (again.referrals, again.delivered) == (2, ["R-1", "R-2"])
    assert len(settled(loop.chain)) == 2


def test_a_transfer_settles_only_when_the_receiving_department_has_answered(loop: Loop) -> None:
    # domain.md: settled when every referral is DELIVERED, DECLINED or withdrawn. A transferred
    # referral lives on in the one the receiving department got.
    issue(loop, "R-1")
    after = loop.answer("R-1", "education", "TRANSFERRED", transfer_to="civil_affairs")
    assert types(after) == ["ReferralOutcomeReported"]
    issue(loop, "R-2", "civil_affairs", transferred_from="R-1")
    [done] = settled(loop.answer("R-2", "civil_affairs", "DELIVERED", **DELIVERED))
    assert (done.referrals, done.delivered) == (2, ["R-2"])


def _inputs() -> list[Envelope]:
    """A DIBAO family's application, a rise in income, later a disaster."""
    applied = application("HH-L")
    head, spouse = (m.person_id for m in applied.payload.members[:2])
    return [
        applied,
        signal(SignalKind.INCOME_CHANGE, spouse, monthly_income=Decimal(4500)),
        signal(SignalKind.DISASTER, head, occurred_at=ON + timedelta(days=20)),
    ]


def _whole_loop(inputs: list[Envelope]) -> Loop:
    """Through the real handlers: applied, re-screened, answered, re-screened, answered."""
    applied, income, disaster = inputs
    loop = Loop()
    loop.submit(applied)
    loop.monitor(income)  # MARGINAL: allowance and medical withdrawn
    for payload in _issued(loop.chain):
        if payload.program.value in {"education_assistance", "employment_assistance"}:
            loop.answer(payload.referral_id, payload.department, "DELIVERED", **DELIVERED)
    loop.monitor(disaster)
    for payload in _issued(loop.chain)[4:]:
        loop.answer(payload.referral_id, payload.department, "DECLINED", reason="unreachable")
    return loop


def _issued(events: list[Envelope]) -> list[ReferralIssued]:
    return [
        e.payload
        for e in of_type(events, "ReferralIssued")
        if isinstance(e.payload, ReferralIssued)
    ]


def test_the_whole_loop_settles_counting_withdrawals_and_settles_again_later() -> None:
    loop = _whole_loop(_inputs())
    assert loop.dead_letters == []
    first, second = settled(loop.chain)
    assert (first.referrals, len(first.delivered)) == (4, 2)  # 2 delivered, 2 withdrawn
    # The disaster re-screens with the same tier: only disaster_relief is new.
    assert [p.program.value for p in _issued(loop.chain)[4:]] == ["disaster_relief"]
    assert (second.referrals, second.delivered) == (5, first.delivered)


def test_the_whole_loop_run_twice_makes_the_same_event_ids() -> None:
    # What restart safety relies on: fresh handlers given the same inputs propose events with
    # the same ids, so the chain writer recognises every repeat.
    inputs = _inputs()
    first, second = _whole_loop(inputs), _whole_loop(inputs)
    assert [e.event_id for e in first.chain] == [e.event_id for e in second.chain]
    assert len(first.chain) > 15
    # The first run's chain writer takes every event the second run proposed as a repeat.
    proposed = second.log[TOPICS.events]
    assert len(proposed) == len(first.chain)
    for offset, value in enumerate(proposed):
        message = Inbound(TOPICS.events, 0, offset, None, value)
        assert first.writer.handle(message, replaying=False) == []
