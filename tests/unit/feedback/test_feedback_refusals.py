"""Refused answers on assist.feedback are told back on the department's own topic."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from support.loop import ON, TOPICS, Loop, event, of_type

from events.canonical import canonical_json
from events.envelope import derived_event_id
from events.feedback import FeedbackRefused
from events.referral import ReferralIssued
from events.types import Department, Program
from services.feedback.handler import FeedbackHandler
from services.feedback.ledger import Status
from services.runtime.messages import Inbound, Rejected

DELIVERED: dict[str, Any] = {"delivered": {"cash_amount": "740", "service": "paid"}}
FEEDBACK_ID = "6f1c2a34-8e0b-4d52-9a77-3c1d5e8f0b21"


@pytest.fixture
def loop() -> Loop:
    """The chain writer and the feedback handler only: referrals are issued by hand."""
    loop = Loop()
    loop.chain_consumers = [("feedback", loop.feedback)]
    return loop


def issue(loop: Loop, referral_id: str, department: str = "education") -> None:
    program = {"education": "education_assistance", "housing": "housing_assistance"}[department]
    payload = ReferralIssued(
        referral_id=referral_id,
        program=Program(program),
        department=Department(department),
        due_at=ON + timedelta(days=10),
        region_code="330100",
        tier="DIBAO",
    )
    loop.submit(event(payload, "HH-1", producer="referral"))


def refused(loop: Loop, department: str) -> FeedbackRefused:
    """The one refusal told back, and nothing else went wrong: no dead letter, no outcome."""
    [refusal] = loop.refusals(department)
    assert loop.dead_letters == []
    assert of_type(loop.chain, "ReferralOutcomeReported") == []
    return refusal


def test_an_answer_for_an_unknown_referral_is_told_back_404(loop: Loop) -> None:
    assert loop.answer("R-nope", "education", "ACCEPTED", feedback_id=FEEDBACK_ID) == []
    refusal = refused(loop, "education")
    assert (refusal.status, refusal.field, refusal.reason) == (
        404,
        None,
        "unknown referral 'R-nope'",
    )
    assert (refusal.department, refusal.referral_id, str(refusal.feedback_id)) == (
        Department.EDUCATION,
        "R-nope",
        FEEDBACK_ID,
    )
    assert (refusal.source_partition, refusal.source_offset) == (0, 0)
    assert refusal.event_type == "FeedbackRefused" and refusal.schema_version == 1


def test_an_answer_to_another_departments_referral_is_told_to_the_sender_403(loop: Loop) -> None:
    issue(loop, "R-1")
    assert loop.answer("R-1", "housing", "DELIVERED", **DELIVERED) == []
    refusal = refused(loop, "housing")
    assert refusal.status == 403 and refusal.field is None
    assert refusal.reason == "referral 'R-1' belongs to education, not to housing"
    # The referral's own department is not told of another's answer.
    assert loop.refusals("education") == []
    assert loop.feedback.ledger.referrals["R-1"].status is Status.OPEN


def test_a_second_final_answer_is_told_back_409(loop: Loop) -> None:
    issue(loop, "R-1")
    loop.answer("R-1", "education", "DECLINED", reason="not_eligible")
    assert loop.answer("R-1", "education", "DELIVERED", **DELIVERED) == []
    [refusal] = loop.refusals("education")
    assert (refusal.status, refusal.field) == (409, None)
    assert refusal.reason == "referral 'R-1' already has a final answer (declined)"
    assert len(of_type(loop.chain, "ReferralOutcomeReported")) == 1


def test_a_transfer_to_the_same_department_is_told_back_422_naming_transfer_to(
    loop: Loop,
) -> None:
    issue(loop, "R-1")
    assert loop.answer("R-1", "education", "TRANSFERRED", transfer_to="education") == []
    refusal = refused(loop, "education")
    assert (refusal.status, refusal.field) == (422, "transfer_to")
    assert refusal.reason == (
        "referral 'R-1' is already with education; a transfer names another department"
    )
    assert loop.feedback.ledger.referrals["R-1"].status is Status.OPEN
    after = loop.answer("R-1", "education", "TRANSFERRED", transfer_to="housing")
    assert types(after) == ["ReferralOutcomeReported"]


def test_an_answer_without_feedback_id_is_told_back_422_naming_it(loop: Loop) -> None:
    issue(loop, "R-1")
    body = {"referral_id": "R-1", "department": "education", "outcome": "ACCEPTED"}
    assert loop.answer_raw(canonical_json(body), b"R-1") == []
    refusal = refused(loop, "education")
    assert (refusal.status, refusal.field, refusal.referral_id) == (422, "feedback_id", "R-1")
    assert refusal.feedback_id is None
    assert refusal.reason.startswith("feedback_id: Field required")
    assert loop.feedback.ledger.referrals["R-1"].status is Status.OPEN


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"outcome": "MAYBE"}, "outcome", "outcome: Input should be"),
        ({"outcome": "DECLINED"}, "reason", "reason: required when outcome is DECLINED"),
        ({"transfer_to": "housing"}, "transfer_to", "transfer_to: only for outcome TRANSFERRED"),
        ({"x": 1}, "x", "x: Extra inputs are not permitted"),
        ({"feedback_id": "not-a-uuid"}, "feedback_id", "feedback_id: Input should be a valid"),
        ({"referral_id": ""}, "referral_id", "referral_id: String should have at least 1"),
        ({"outcome": "DELIVERED", "delivered": {"cash_amount": "x"}}, "delivered.", "delivered."),
    ],
)
def test_an_invalid_answer_is_told_back_422_naming_the_field(
    loop: Loop, fields: dict[str, Any], field: str, reason: str
) -> None:
    issue(loop, "R-1")
    body = {"referral_id": "R-1", "department": "education", "outcome": "ACCEPTED"}
    body |= {"feedback_id": FEEDBACK_ID} | fields
    assert loop.answer_raw(canonical_json(body), b"R-1") == []
    refusal = refused(loop, "education")
    assert refusal.status == 422
    assert refusal.field is not None and refusal.field.startswith(field)
    assert reason in refusal.reason
    # What could be read of it is quoted.
    assert refusal.referral_id == (body["referral_id"] or None)
    expected_id = None if fields.get("feedback_id") else uuid.UUID(FEEDBACK_ID)
    assert refusal.feedback_id == expected_id


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not json", "value: not JSON"),
        (b"\xff\xfe", "value: not JSON"),
        (b"[1, 2]", "Input should be a valid dictionary"),
        (b'{"referral_id":"R-1","outcome":"ACCEPTED"}', "department: Field required"),
        (b'{"referral_id":"R-1","department":"mars","outcome":"ACCEPTED"}', "department: "),
        (b'{"referral_id":"R-1","department":["education"],"outcome":"ACCEPTED"}', "department"),
    ],
)
def test_a_message_naming_no_department_is_a_dead_letter_as_before(
    loop: Loop, value: bytes, reason: str
) -> None:
    issue(loop, "R-1")
    assert loop.answer_raw(value, b"R-1") == []
    [dead] = loop.dead_letters
    assert (dead.service, dead.topic) == ("feedback", TOPICS.feedback)
    assert reason in dead.reason
    assert all(loop.refusals(d) == [] for d in Department)


def test_a_repeated_answer_is_dropped_not_refused(loop: Loop) -> None:
    issue(loop, "R-1")
    loop.answer("R-1", "education", "DECLINED", reason="duplicate", feedback_id=FEEDBACK_ID)
    # The producer's retry of a final answer: not a second final answer (409), the same one.
    again = loop.answer("R-1", "education", "DECLINED", reason="duplicate", feedback_id=FEEDBACK_ID)
    assert again == []
    assert loop.refusals("education") == [] and loop.dead_letters == []
    assert len(of_type(loop.chain, "ReferralOutcomeReported")) == 1


def _inbound(body: dict[str, Any], offset: int = 7, key: bytes | None = b"R-1") -> Inbound:
    return Inbound(TOPICS.feedback, 2, offset, key, canonical_json(body))


def test_a_refusal_is_keyed_by_the_referral_id_else_by_the_position() -> None:
    handler = FeedbackHandler(TOPICS)
    answer = {"department": "housing", "outcome": "ACCEPTED", "feedback_id": FEEDBACK_ID}
    [named] = handler.handle(_inbound(answer | {"referral_id": "R-9"}), replaying=False)
    [unnamed] = handler.handle(_inbound(answer, offset=8), replaying=False)
    assert (named.topic, named.key, named.label) == (
        TOPICS.referrals("housing"),
        b"R-9",
        "FeedbackRefused",
    )
    assert (unnamed.topic, unnamed.key) == (TOPICS.referrals("housing"), b"assist.feedback/2/8")
    refusal = FeedbackRefused.model_validate_json(unnamed.value)
    assert (refusal.referral_id, refusal.field) == (None, "referral_id")
    assert (refusal.source_partition, refusal.source_offset) == (2, 8)
    assert unnamed.value == canonical_json(json.loads(unnamed.value))  # canonical JSON


def test_a_replay_tells_the_same_refusal_with_the_same_id() -> None:
    answer = {"referral_id": "R-9", "department": "housing", "outcome": "ACCEPTED"}

    def refusal_id(offset: int) -> uuid.UUID:
        """As a fresh handler (after a restart) tells the message at `offset`."""
        [out] = FeedbackHandler(TOPICS).handle(_inbound(answer, offset), replaying=False)
        return FeedbackRefused.model_validate_json(out.value).refusal_id

    assert refusal_id(7) == refusal_id(7) == derived_event_id("refused", TOPICS.feedback, 2, 7)
    assert refusal_id(8) != refusal_id(7)


def test_a_refusal_is_dated_on_the_systems_clock(loop: Loop) -> None:
    at = ON + timedelta(days=3)
    loop.advance_clock(at)
    loop.answer("R-nope", "education", "ACCEPTED")
    [refusal] = loop.refusals("education")
    assert refusal.refused_at == at


def test_a_refusal_stays_small_whatever_the_message_names() -> None:
    long_name = "y" * 500_000
    answer = {"referral_id": "R-1" * 100, "department": "housing", "outcome": "ACCEPTED"}
    [out] = FeedbackHandler(TOPICS).handle(_inbound(answer | {long_name: 1}), replaying=False)
    refusal = FeedbackRefused.model_validate_json(out.value)
    assert refusal.referral_id is None  # too long to be a referral id: not quoted
    assert refusal.field is not None and len(refusal.field) <= 200
    assert len(refusal.reason) <= 2000 and len(out.value) < 4000
    assert out.key == b"assist.feedback/2/7"


def test_the_department_topic_carries_refusals_beside_referral_events(loop: Loop) -> None:
    issue(loop, "R-1")
    loop.answer("R-1", "education", "ACCEPTED", feedback_id=FEEDBACK_ID)
    loop.answer("R-1", "education", "ACCEPTED")  # already accepted: 409
    values = loop.log[TOPICS.referrals("education")]
    assert [json.loads(v)["event_type"] for v in values] == ["ReferralIssued", "FeedbackRefused"]
    assert [json.loads(v)["event_type"] for v in loop.department_topic("education")] == [
        "ReferralIssued"
    ]


def test_a_handler_raises_rejected_only_when_no_department_can_be_told() -> None:
    with pytest.raises(Rejected, match="department: Field required"):
        FeedbackHandler(TOPICS).handle(_inbound({"referral_id": "R-1"}), replaying=False)


def types(outputs: list[Any]) -> list[str]:
    return [e.event_type.value for e in outputs]
