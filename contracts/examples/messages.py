"""The example messages of contracts/asyncapi.json, built from the models.

Every example is a model instance written the way its publisher writes it: a department's
referral is the chain writer's record (the envelope with its sequence and hash link, by the
writer's own `linked_bytes`, the same bytes as on `assist.chain`) with its signature header
(`sign_record`); a refusal is what the feedback service's `told_back` makes of a refused answer;
an answer is a FeedbackSubmitted. An example that stops fitting its model fails
`make contracts`; tests/contract checks each against its committed JSON Schema, and a
referral's record against what the chain writer itself puts on the department's topic.

Not for departments to import: contracts/examples/department_consumer.py needs none of this.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from contracts.topics import TopicNames
from events.chain import linked_bytes
from events.envelope import Payload, derived_event_id, new_event
from events.feedback import FeedbackSubmitted
from events.identity import check_character
from events.referral import (
    Delivered,
    ReferralAmended,
    ReferralIssued,
    ReferralOverdue,
    ReferralWithdrawn,
    ReferredMember,
)
from events.types import Department, Outcome, Program
from services.feedback.ledger import Refusal
from services.feedback.refusals import Said, invalid, told_back, what_it_said
from services.runtime.messages import Inbound
from services.runtime.peek import EVENT_TYPE_HEADER
from services.runtime.writer_signature import HEADER, sign_record

DEPARTMENT = Department.MEDICAL_SECURITY
HOUSEHOLD = "hz-xihu-000417"
REFERRAL = "R-5f0c8e2a9d4b4c1e8a73"
PROGRAM = Program.MEDICAL_ASSISTANCE
ISSUED_AT = datetime(2026, 3, 2, 1, 15, tzinfo=UTC)
POLICY = {
    "tier": "DIBAO",
    "policy_version": "2026-01",
    "rule": "tier EXTREMELY_POOR or DIBAO; or tier MARGINAL / RIGID_EXPENDITURE "
    "with medical expenses > 0 or a chronically ill member",
}


@dataclass(frozen=True, slots=True)
class Example:
    """One AsyncAPI message example, and the record key it travels under."""

    name: str
    summary: str
    payload: dict[str, Any]
    key: str
    headers: dict[str, str] = field(default_factory=dict)

    def as_asyncapi(self) -> dict[str, Any]:
        """The Message Example Object (it has no place for the key: the summary names it)."""
        document: dict[str, Any] = {
            "name": self.name,
            "summary": f"{self.summary} Record key: `{self.key}`.",
            "payload": self.payload,
        }
        if self.headers:
            document["headers"] = self.headers
        return document


def example_writer_key() -> Ed25519PrivateKey:
    """A fixed Ed25519 key standing in for the chain writer's (whose private half never leaves
    it), so the examples' signatures are real and the same at every generation."""
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(b"assist-chain contract examples: not a deployment's key").digest()
    )


def feedback_id_of(referral_id: str, outcome: Outcome) -> uuid.UUID:
    """The department's id for one answer, as contracts/examples/department_consumer.py makes
    it: the same on every retry and restart, and another for each outcome (an id already taken
    is dropped as a repeat, so a DELIVERED under the ACCEPTED's id would be lost)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"assist-feedback:{referral_id}/{outcome.value}")


def _member(birth: str, serial: str, name: str, chronic: bool) -> ReferredMember:
    first17 = f"330106{birth}{serial}"
    return ReferredMember(
        person_id=first17 + check_character(first17), name=name, chronic_illness=chronic
    )


MEMBERS = [
    _member("19580611", "031", "Wang Guilan", True),
    _member("19860923", "054", "Li Jun", False),
]


def _chained(
    name: str, summary: str, payload: Payload, sequence: int, days: int, producer: str
) -> Example:
    """The record the chain writer puts on `assist.referrals.<department>` for `payload`."""
    at = ISSUED_AT + timedelta(days=days)
    event = new_event(
        payload,
        household_id=HOUSEHOLD,
        producer=producer,
        occurred_at=at,
        recorded_at=at + timedelta(milliseconds=420),
        event_id=derived_event_id("contract example", name),
        correlation_id=derived_event_id("contract example", "application"),
        causation_id=derived_event_id("contract example", "cause of", name),
    )
    # The link is to the household's previous event on assist.chain, which need not be a
    # referral: a department sees sequences with gaps, and links it cannot follow.
    previous = hashlib.sha256(f"{HOUSEHOLD}/{sequence - 1}".encode()).hexdigest()
    value, digest = linked_bytes(event, sequence, previous)
    _, signature = sign_record(example_writer_key(), digest)
    return Example(
        name,
        summary,
        json.loads(value),
        HOUSEHOLD,
        # Header values as the document shows them: the type as text, the signature in base64.
        {EVENT_TYPE_HEADER: event.event_type.value, HEADER: base64.b64encode(signature).decode()},
    )


def referral_examples() -> list[tuple[str, Example]]:
    """(message name, example) of every chain event a department receives on its topic."""
    common = {"referral_id": REFERRAL, "program": PROGRAM, "department": DEPARTMENT}
    grounds = {**POLICY, "medical_expenses_12m": "18650.00", "chronically_ill_members": "1"}
    issued = ReferralIssued(
        **common,
        due_at=ISSUED_AT + timedelta(days=10),
        region_code="330106",
        tier="DIBAO",
        members=MEMBERS,
        grounds=grounds,
    )
    amended = ReferralAmended(
        **common,
        members=MEMBERS[:1],
        grounds={**grounds, "medical_expenses_12m": "21300.00"},
        reason="re-screening on 2026-03-05: members concerned: 0 in, 1 out",
    )
    overdue = ReferralOverdue(
        **common, due_at=ISSUED_AT + timedelta(days=10), escalated_to="civil_affairs"
    )
    withdrawn = ReferralWithdrawn(
        **common,
        reason="re-screening on 2026-03-20: tier NONE no longer grounds medical_assistance",
    )
    return [
        (
            "ReferralIssued",
            _chained(
                "medical-assistance-issued",
                "A medical assistance referral for a DIBAO household: each member the program "
                "concerns, with only the fields medical_security may see, and the grounds.",
                issued,
                4,
                0,
                "referral",
            ),
        ),
        (
            "ReferralAmended",
            _chained(
                "members-amended",
                "Re-screening changed whom the open referral concerns: the same referral_id, "
                "told anew with the members and grounds that now hold.",
                amended,
                9,
                3,
                "referral",
            ),
        ),
        (
            "ReferralOverdue",
            _chained(
                "no-final-answer-by-due-date",
                "No final answer by due_at: the referral is escalated to civil_affairs; an "
                "answer is still taken.",
                overdue,
                12,
                10,
                "feedback",
            ),
        ),
        (
            "ReferralWithdrawn",
            _chained(
                "ground-removed",
                "Re-screening removed the ground for the open referral: stop working on it; "
                "answers to it are refused from now on.",
                withdrawn,
                15,
                18,
                "referral",
            ),
        ),
    ]


def feedback_examples() -> list[tuple[str, Example]]:
    """What a department sends on `assist.feedback`, and the refusals it may get back."""
    accepted = FeedbackSubmitted(
        referral_id=REFERRAL,
        department=DEPARTMENT,
        outcome=Outcome.ACCEPTED,
        feedback_id=feedback_id_of(REFERRAL, Outcome.ACCEPTED),
        note="case opened at the Xihu medical insurance office",
    )
    delivered = FeedbackSubmitted(
        referral_id=REFERRAL,
        department=DEPARTMENT,
        outcome=Outcome.DELIVERED,
        feedback_id=feedback_id_of(REFERRAL, Outcome.DELIVERED),
        delivered=Delivered(cash_amount=Decimal("3200.00"), service="inpatient co-payment"),
    )
    refused_at = ISSUED_AT + timedelta(days=1, hours=2)
    again = uuid.uuid5(uuid.NAMESPACE_URL, "assist-feedback:the same answer from another app")
    already = _refusal(
        118,
        Said(DEPARTMENT, REFERRAL, again),
        Refusal(409, f"referral {REFERRAL!r} is already accepted"),
        refused_at,
    )
    old_client = {"referral_id": REFERRAL, "department": DEPARTMENT.value, "outcome": "ACCEPTED"}
    missing_id = _refusal(
        131, what_it_said(old_client), _invalid(old_client), refused_at + timedelta(hours=3)
    )
    return [
        (
            "FeedbackSubmitted",
            Example(
                "accepted",
                "The department took the referral on. feedback_id is chosen once per answer "
                "and re-sent unchanged on every retry.",
                accepted.model_dump(mode="json", exclude_none=True),
                REFERRAL,
            ),
        ),
        (
            "FeedbackSubmitted",
            Example(
                "delivered",
                "Assistance delivered: a final answer, with the amount as a decimal string.",
                delivered.model_dump(mode="json", exclude_none=True),
                REFERRAL,
            ),
        ),
        (
            "FeedbackRefused",
            Example(
                "already-accepted",
                "An ACCEPTED answer under another feedback_id after the referral was "
                "accepted: HTTP would have said 409.",
                *already,
            ),
        ),
        (
            "FeedbackRefused",
            Example(
                "feedback-id-missing",
                "An answer without feedback_id (required: a retry re-sends it): 422, naming "
                "the field at fault.",
                *missing_id,
            ),
        ),
    ]


def _refusal(offset: int, said: Said, refusal: Refusal, at: datetime) -> tuple[dict[str, Any], str]:
    """(value, key) of the FeedbackRefused the feedback service tells back for the answer at
    assist.feedback partition 2, `offset`: its own function writes it."""
    answer = Inbound(TopicNames().feedback, 2, offset, REFERRAL.encode(), b"{}")
    refused = told_back(answer, DEPARTMENT, said, refusal, TopicNames(), at)
    assert refused.key is not None
    return json.loads(refused.value), refused.key.decode()


def _invalid(answer: dict[str, Any]) -> Refusal:
    try:
        FeedbackSubmitted.model_validate(answer)
    except ValidationError as error:
        return invalid(error)
    raise ValueError(f"{answer} is a valid answer: it is not refused")


def message_examples() -> dict[str, list[Example]]:
    """Message name -> its examples, in the order a department meets them."""
    found: dict[str, list[Example]] = {}
    for name, example in (*referral_examples(), *feedback_examples()):
        found.setdefault(name, []).append(example)
    return found
