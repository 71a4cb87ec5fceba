"""What the audit service answers, as JSON models (and what `assist ... --json` prints)."""

from __future__ import annotations

import base64
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from events.chain import Verification
from services.audit.domain.records import parse_record
from services.audit.domain.state import ClassificationState, HouseholdState


class ChainView(BaseModel):
    """A household's events in chain order, each exactly as stored."""

    household_id: str
    length: int
    events: list[dict[str, Any]]
    # Places (1-based) of records on the topic the chain writer did not append (no valid
    # signature): shown as stored, never folded into the household's state.
    unsigned_records: list[int] = []
    # The chain writer's Ed25519 signature that came with each record (base64, in the order of
    # `events`; null where none came), for an auditor to check on their own side with the
    # writer's public key: `unsigned_records` is only what the service found.
    writer_signatures: list[str | None] = []


class VerificationView(BaseModel):
    household_id: str
    valid: bool
    length: int
    head_hash: str | None
    first_bad_sequence: int | None
    reason: str | None = None


class ClassificationView(BaseModel):
    sequence: int
    recorded_at: datetime
    tier: str
    tags: list[str]
    policy_version: str
    effective_date: date
    decided_by: str
    numbers: dict[str, str]
    next_rescreening_on: date | None = None
    next_rescreening_reason: str | None = None


class RescreeningView(BaseModel):
    sequence: int
    on: date
    reason: str
    cause: str | None


class ClosureView(BaseModel):
    sequence: int
    on: date
    reason: str


class ReferralView(BaseModel):
    referral_id: str
    program: str
    department: str
    status: str
    overdue: bool
    issued_sequence: int
    issued_at: datetime
    due_at: datetime
    transferred_from: str | None
    answered_sequence: int | None
    answered_at: datetime | None
    reason: str | None
    members: list[str] = []
    amended_sequences: list[int] = []


class DeliveredView(BaseModel):
    referral_id: str
    program: str
    department: str
    cash_amount: Decimal | None
    service: str | None
    sequence: int
    delivered_at: datetime
    note: str | None


class StateView(BaseModel):
    """The household as of `as_of`: the fold of its chain up to `sequence` (see domain/state)."""

    household_id: str
    as_of: datetime | None
    as_of_compares: str = "recorded_at"
    sequence: int
    head_hash: str | None
    recorded_at: datetime | None
    region_code: str | None
    tier: str | None
    tags: list[str]
    policy_version: str | None
    classification: ClassificationView | None
    classifications: list[ClassificationView]
    referrals: list[ReferralView]
    delivered: list[DeliveredView]
    settled: bool
    closed: ClosureView | None = None
    rescreenings: list[RescreeningView] = []
    unreadable_sequence: int | None
    unreadable_reason: str | None
    # Sequences of outcomes naming another program or department than their referral's
    mismatched_outcomes: list[int] = []


def chain_view(
    household_id: str,
    values: list[bytes | None],
    unsigned: list[int] | None = None,
    signatures: list[bytes | None] | None = None,
) -> ChainView:
    """Stored records as documents, with the chain writer's signatures that came with them; a
    record that is not JSON is shown as its bytes."""
    events: list[dict[str, Any]] = []
    for value in values:
        document, problem = parse_record(value)
        if document is None:
            document = {
                "unreadable": problem,
                "raw_base64": base64.b64encode(value or b"").decode(),
            }
        events.append(document)
    return ChainView(
        household_id=household_id,
        length=len(values),
        events=events,
        unsigned_records=unsigned or [],
        writer_signatures=[
            base64.b64encode(signature).decode() if signature else None
            for signature in signatures or []
        ],
    )


def verification_view(household_id: str, verification: Verification) -> VerificationView:
    return VerificationView(
        household_id=household_id,
        valid=verification.valid,
        length=verification.length,
        head_hash=verification.head_hash,
        first_bad_sequence=verification.first_bad_sequence,
        reason=verification.reason,
    )


def state_view(state: HouseholdState) -> StateView:
    classification = state.classification
    return StateView(
        household_id=state.household_id,
        as_of=state.as_of,
        sequence=state.sequence,
        head_hash=state.head_hash,
        recorded_at=state.recorded_at,
        region_code=state.region_code,
        tier=classification.tier if classification else None,
        tags=list(classification.tags) if classification else [],
        policy_version=classification.policy_version if classification else None,
        classification=_classification(classification) if classification else None,
        classifications=[_classification(c) for c in state.classifications],
        referrals=[
            ReferralView(
                referral_id=r.referral_id,
                program=r.program,
                department=r.department,
                status=r.status.value,
                overdue=r.overdue,
                issued_sequence=r.issued_sequence,
                issued_at=r.issued_at,
                due_at=r.due_at,
                transferred_from=r.transferred_from,
                answered_sequence=r.answered_sequence,
                answered_at=r.answered_at,
                reason=r.reason,
                members=list(r.members),
                amended_sequences=list(r.amended_sequences),
            )
            for r in state.referrals.values()
        ],
        delivered=[
            DeliveredView(
                referral_id=d.referral_id,
                program=d.program,
                department=d.department,
                cash_amount=d.cash_amount,
                service=d.service,
                sequence=d.sequence,
                delivered_at=d.delivered_at,
                note=d.note,
            )
            for d in state.delivered
        ],
        settled=state.settled,
        closed=(
            ClosureView(
                sequence=state.closed.sequence, on=state.closed.on, reason=state.closed.reason
            )
            if state.closed
            else None
        ),
        rescreenings=[
            RescreeningView(sequence=r.sequence, on=r.on, reason=r.reason, cause=r.cause)
            for r in state.rescreenings
        ],
        unreadable_sequence=state.unreadable_sequence,
        unreadable_reason=state.unreadable_reason,
        mismatched_outcomes=state.mismatched_outcomes,
    )


def _classification(c: ClassificationState) -> ClassificationView:
    return ClassificationView(
        sequence=c.sequence,
        recorded_at=c.recorded_at,
        tier=c.tier,
        tags=list(c.tags),
        policy_version=c.policy_version,
        effective_date=c.effective_date,
        decided_by=c.decided_by,
        numbers=dict(c.numbers),
        next_rescreening_on=c.next_rescreening_on,
        next_rescreening_reason=c.next_rescreening_reason,
    )


class ConsistencyView(BaseModel):
    """RFC 6962 consistency proof: the partition's tree of `new_size` extends that of
    `old_size` (hex hashes; check with verify_consistency against two signed tree heads)."""

    partition: int
    old_size: int
    new_size: int
    proof: list[str]


class InclusionEntry(BaseModel):
    sequence: int  # the event's place in the household's chain (1-based)
    partition: int
    leaf_index: int
    tree_size: int  # of the tree the proof is for
    # RFC 6962 audit path (hex), or None for an event after the asked tree size
    proof: list[str] | None


class InclusionView(BaseModel):
    household_id: str
    events: list[InclusionEntry]
