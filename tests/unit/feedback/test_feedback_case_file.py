"""What the feedback ledger keeps for a department's referral page: the facts the department was
sent (no more), and the referral's history, folded from the chain in the whole loop."""

from __future__ import annotations

from datetime import timedelta

from support.loop import ON, TOPICS, Loop, application, dibao_members, signal
from test_feedback_handler import DELIVERED, issue, withdraw

from events.codec import decode_event
from events.referral import ReferralAmended, ReferralIssued
from events.types import Department, SignalKind
from services.feedback.case_file import REFUSED, Step
from services.feedback.handler import FeedbackHandler
from services.feedback.ledger import REFUSALS_KEPT, Referral, Status
from services.runtime.messages import Inbound


def as_sent(payload: ReferralIssued | ReferralAmended) -> tuple[object, ...]:
    return (
        [m.model_dump(mode="json", exclude_none=True) for m in payload.members],
        dict(payload.grounds),
        payload.household_ref,
    )


def as_kept(referral: Referral) -> tuple[object, ...]:
    kept = referral.disclosed
    assert kept is not None
    return (
        [m.model_dump(mode="json", exclude_none=True) for m in kept.members],
        dict(kept.grounds),
        kept.household_ref,
    )


def received(loop: Loop, department: Department) -> dict[str, ReferralIssued | ReferralAmended]:
    """The latest referral event of each referral on the department's own topic."""
    latest: dict[str, ReferralIssued | ReferralAmended] = {}
    for value in loop.department_topic(department):
        payload = decode_event(value).payload
        if isinstance(payload, ReferralIssued | ReferralAmended):
            latest[payload.referral_id] = payload
    return latest


def test_each_referral_keeps_exactly_what_its_department_received() -> None:
    loop = Loop()
    loop.submit(application("HH-1", dibao_members()))
    ledger = loop.feedback.ledger
    assert len(ledger.referrals) >= 4
    for referral in ledger.referrals.values():
        sent = received(loop, referral.department)[referral.referral_id]
        assert isinstance(sent, ReferralIssued)  # nothing amended yet
        assert as_kept(referral) == as_sent(sent), referral.program
        kept = referral.disclosed
        assert kept is not None and (kept.region_code, kept.tier) == (sent.region_code, sent.tier)
    # The allowlist narrows what each department is sent: education never a parent's income.
    education = next(r for r in ledger.referrals.values() if r.department is Department.EDUCATION)
    members = as_kept(education)[0]
    assert isinstance(members, list) and all("monthly_income" not in m for m in members)


def test_an_amendment_replaces_the_facts_kept_and_joins_the_history() -> None:
    family = dibao_members()
    loop = Loop()
    loop.submit(application("HH-A", family))
    loop.monitor(signal(SignalKind.UNEMPLOYMENT_REGISTERED, family[1]["person_id"]))
    employment = next(
        r
        for r in loop.feedback.ledger.referrals.values()
        if r.department is Department.HUMAN_RESOURCES
    )
    sent = received(loop, Department.HUMAN_RESOURCES)[employment.referral_id]
    assert isinstance(sent, ReferralAmended)
    assert as_kept(employment) == as_sent(sent)
    assert [s.what for s in employment.history] == ["issued", "amended"]
    assert dict(employment.history[1].details)["reason"] == sent.reason


def history_loop() -> Loop:
    loop = Loop()
    loop.chain_consumers = [("feedback", loop.feedback)]
    return loop


def test_the_history_names_each_step_its_time_and_who_answered() -> None:
    loop = history_loop()
    issue(loop, "R-1")
    loop.answer("R-1", "education", "ACCEPTED", answered_by="teacher.sun")
    loop.tick(ON + timedelta(days=11))  # overdue although accepted: no final answer yet
    loop.answer("R-1", "education", "DELIVERED", answered_by="teacher.wu", **DELIVERED)
    referral = loop.feedback.ledger.referrals["R-1"]
    assert [(s.what, s.by) for s in referral.history] == [
        ("issued", "referral"),
        ("accepted", "teacher.sun"),
        ("overdue", "feedback"),
        ("delivered", "teacher.wu"),
    ]
    assert referral.history[2].at == ON + timedelta(days=10)  # overdue from its due date
    assert dict(referral.history[3].details) == {"amount": "740", "service": "paid"}
    # Final: its facts are no longer held (the department's topic keeps them).
    assert referral.status is Status.DELIVERED and referral.disclosed is None


def test_a_withdrawal_and_a_transfer_are_told_with_their_particulars() -> None:
    loop = history_loop()
    issue(loop, "R-1")
    issue(loop, "R-2", "housing")
    loop.answer("R-1", "education", "TRANSFERRED", transfer_to="housing", note="wrong desk")
    withdraw(loop, "R-2", "housing")
    transferred = loop.feedback.ledger.referrals["R-1"].history[-1]
    assert transferred == Step(
        transferred.at, "transferred", None, (("transferred to", "housing"), ("note", "wrong desk"))
    )
    withdrawn = loop.feedback.ledger.referrals["R-2"].history[-1]
    assert (withdrawn.what, withdrawn.by, withdrawn.details) == (
        "withdrawn",
        "referral",
        (("reason", "re-screening"),),
    )


def test_a_refused_answer_joins_its_own_departments_referral_history_only() -> None:
    loop = history_loop()
    issue(loop, "R-1")
    loop.answer("R-1", "education", "DELIVERED", answered_by="teacher.sun", **DELIVERED)
    loop.answer("R-1", "education", "ACCEPTED", answered_by="teacher.sun")  # 409: final
    loop.answer("R-1", "housing", "ACCEPTED", answered_by="clerk.zhao")  # 403: not housing's
    history = loop.feedback.ledger.referrals["R-1"].history
    refused = [s for s in history if s.what == REFUSED]
    assert [(s.by, dict(s.details)["status"]) for s in refused] == [("teacher.sun", "409")]
    assert "clerk.zhao" not in {s.by for s in history}
    assert [r.status for r in loop.refusals("housing")] == [403]  # told back, not shown


def test_refusals_past_the_first_few_are_only_counted() -> None:
    loop = history_loop()
    issue(loop, "R-1")
    loop.answer("R-1", "education", "DELIVERED", **DELIVERED)
    for _ in range(REFUSALS_KEPT + 3):
        loop.answer("R-1", "education", "ACCEPTED")
    referral = loop.feedback.ledger.referrals["R-1"]
    assert sum(s.what == REFUSED for s in referral.history) == REFUSALS_KEPT
    assert referral.refusals_not_kept == 3


def test_a_restarted_handler_rebuilds_the_same_history() -> None:
    loop = history_loop()
    issue(loop, "R-1")
    loop.answer("R-1", "education", "ACCEPTED", answered_by="teacher.sun")
    restarted = FeedbackHandler(TOPICS)
    for offset, value in enumerate(loop.log[TOPICS.chain]):
        restarted.handle(Inbound(TOPICS.chain, 0, offset, b"HH-1", value), replaying=True)
    before = loop.feedback.ledger.referrals["R-1"]
    after = restarted.ledger.referrals["R-1"]
    assert after.history == before.history
    assert after.disclosed == before.disclosed
