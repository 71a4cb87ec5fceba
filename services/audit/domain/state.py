"""A household's state as of an instant, folded from its chain and from nothing else.

`as_of` is compared with each event's `recorded_at` (when the system recorded it, a field the
hash covers), and the fold takes the longest chain prefix recorded at or before `as_of`: the
state is always that of a real point in the chain, named by `sequence` and `head_hash`, which an
auditor can check against the verified chain. An event recorded later than `as_of` ends the
prefix even if a later event carries an earlier stamp (clocks of services differ): what the
chain had not yet reached, the system did not yet know.

Pure: no Kafka, no HTTP, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from events.codec import DecodeError, decode_document
from events.envelope import Envelope
from events.household import HouseholdClassified
from events.referral import (
    ChainSettled,
    ReferralAmended,
    ReferralIssued,
    ReferralOutcomeReported,
    ReferralOverdue,
    ReferralWithdrawn,
)
from events.schedule import HouseholdClosed, RescreeningDue
from events.types import (
    FINAL_REFERRAL_STATUSES,
    REFERRAL_STATUS_OF_OUTCOME,
    Outcome,
    ReferralStatus,
)
from services.audit.domain.records import parse_record


@dataclass(frozen=True, slots=True)
class ClassificationState:
    sequence: int
    recorded_at: datetime
    tier: str
    tags: tuple[str, ...]
    policy_version: str
    effective_date: date
    decided_by: str
    numbers: dict[str, str]
    next_rescreening_on: date | None = None
    next_rescreening_reason: str | None = None


@dataclass(slots=True)
class ReferralState:
    referral_id: str
    program: str
    department: str
    issued_sequence: int
    issued_at: datetime
    due_at: datetime
    transferred_from: str | None = None
    status: ReferralStatus = ReferralStatus.OPEN
    overdue: bool = False
    answered_sequence: int | None = None
    answered_at: datetime | None = None
    reason: str | None = None  # decline reason, withdrawal reason, or transfer target
    members: tuple[str, ...] = ()  # person ids concerned, as last issued or amended
    amended_sequences: list[int] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return self.status in FINAL_REFERRAL_STATUSES


@dataclass(frozen=True, slots=True)
class RescreeningState:
    """A date that mattered: why the household was re-screened without being asked."""

    sequence: int
    on: date
    reason: str
    cause: str | None  # the member, emergency, expense or policy version


@dataclass(frozen=True, slots=True)
class ClosureState:
    sequence: int
    on: date
    reason: str


@dataclass(frozen=True, slots=True)
class DeliveredItem:
    """One line of the household's "happiness list": what a department delivered."""

    referral_id: str
    program: str
    department: str
    cash_amount: Decimal | None
    service: str | None
    sequence: int
    delivered_at: datetime
    note: str | None = None


@dataclass(slots=True)
class HouseholdState:
    household_id: str
    as_of: datetime | None
    sequence: int = 0  # the last event folded; 0 before the first
    head_hash: str | None = None
    recorded_at: datetime | None = None  # of the last event folded
    region_code: str | None = None
    classification: ClassificationState | None = None
    classifications: list[ClassificationState] = field(default_factory=list)
    referrals: dict[str, ReferralState] = field(default_factory=dict)
    delivered: list[DeliveredItem] = field(default_factory=list)
    settled_sequence: int | None = None  # of the last ChainSettled folded
    rescreenings: list[RescreeningState] = field(default_factory=list)
    closed: ClosureState | None = None
    # Where the fold had to stop on an event that could not be read (first such position).
    unreadable_sequence: int | None = None
    unreadable_reason: str | None = None
    # Outcomes whose program or department is not their referral's: not counted.
    mismatched_outcomes: list[int] = field(default_factory=list)

    @property
    def settled(self) -> bool:
        """Every referral has a final answer (domain.md), and there is at least one."""
        return bool(self.referrals) and all(r.final for r in self.referrals.values())


def fold_state(
    household_id: str, documents: Iterable[dict[str, Any]], as_of: datetime | None = None
) -> HouseholdState:
    """The state after the longest prefix of `documents` recorded at or before `as_of`.

    `documents` are the household's stored events in chain order; `as_of=None` folds them all.
    """
    return _fold(household_id, ((document, None) for document in documents), as_of)


def fold_records(
    household_id: str, values: Iterable[bytes | None], as_of: datetime | None = None
) -> HouseholdState:
    """`fold_state` over the stored records (bytes) of a chain."""
    return _fold(household_id, map(parse_record, values), as_of)


def _fold(
    household_id: str,
    documents: Iterable[tuple[dict[str, Any] | None, str | None]],
    as_of: datetime | None,
) -> HouseholdState:
    state = HouseholdState(household_id, as_of)
    for position, (document, problem) in enumerate(documents, start=1):
        try:
            if document is None:
                raise DecodeError(problem or "unreadable record")
            event = decode_document(document)
        except DecodeError as error:
            # Nothing after an unreadable event can be trusted to follow from what came before.
            state.unreadable_sequence, state.unreadable_reason = position, str(error)
            break
        if as_of is not None and event.recorded_at > as_of:
            break
        apply(state, event, position)
    return state


def apply(state: HouseholdState, event: Envelope, position: int) -> None:
    """Fold one event (at `position` in the chain) into `state`."""
    sequence = event.sequence or position
    state.sequence, state.head_hash, state.recorded_at = sequence, event.hash, event.recorded_at
    payload = event.payload
    region = getattr(payload, "region_code", None)
    if isinstance(region, str):
        state.region_code = region
    if isinstance(payload, HouseholdClassified):
        trace = payload.rule_trace
        classification = ClassificationState(
            sequence=sequence,
            recorded_at=event.recorded_at,
            tier=payload.tier,
            tags=tuple(payload.tags),
            policy_version=payload.policy_version,
            effective_date=payload.effective_date,
            decided_by=str(trace.get("decided_by", "")),
            numbers={str(k): str(v) for k, v in dict(trace.get("numbers", {})).items()},
            next_rescreening_on=payload.next_rescreening.on if payload.next_rescreening else None,
            next_rescreening_reason=(
                payload.next_rescreening.reason.value if payload.next_rescreening else None
            ),
        )
        state.classification = classification
        state.classifications.append(classification)
    elif isinstance(payload, ReferralIssued):
        if payload.referral_id not in state.referrals:
            state.referrals[payload.referral_id] = ReferralState(
                referral_id=payload.referral_id,
                program=payload.program.value,
                department=payload.department.value,
                issued_sequence=sequence,
                issued_at=event.recorded_at,
                due_at=payload.due_at,
                transferred_from=payload.transferred_from,
                members=tuple(m.person_id for m in payload.members),
            )
    elif isinstance(payload, ReferralAmended):
        referral = state.referrals.get(payload.referral_id)
        if referral is not None and not referral.final:
            referral.members = tuple(m.person_id for m in payload.members)
            referral.amended_sequences.append(sequence)
    elif isinstance(payload, RescreeningDue):
        state.rescreenings.append(
            RescreeningState(sequence, payload.on, payload.reason.value, _cause_of(payload))
        )
    elif isinstance(payload, HouseholdClosed):
        state.closed = ClosureState(sequence, payload.on, payload.reason.value)
    elif isinstance(payload, ReferralWithdrawn):
        _answer(
            state, payload.referral_id, ReferralStatus.WITHDRAWN, event, sequence, payload.reason
        )
    elif isinstance(payload, ReferralOutcomeReported):
        _outcome(state, payload, event, sequence)
    elif isinstance(payload, ReferralOverdue):
        referral = state.referrals.get(payload.referral_id)
        if referral is not None and not referral.final:
            referral.overdue = True
    elif isinstance(payload, ChainSettled):
        state.settled_sequence = sequence


def _outcome(
    state: HouseholdState, payload: ReferralOutcomeReported, event: Envelope, sequence: int
) -> None:
    referral = state.referrals.get(payload.referral_id)
    if referral is not None and (referral.program, referral.department) != (
        payload.program.value,
        payload.department.value,
    ):
        # An answer naming another program or department than its referral's is no answer
        # to it: it does not count, and is listed for the auditor.
        state.mismatched_outcomes.append(sequence)
        return
    reason = (
        payload.reason.value
        if payload.reason
        else payload.transfer_to.value
        if payload.transfer_to
        else None
    )
    if not _answer(
        state,
        payload.referral_id,
        REFERRAL_STATUS_OF_OUTCOME[payload.outcome],
        event,
        sequence,
        reason,
    ):
        return
    if payload.outcome is Outcome.DELIVERED:
        delivered = payload.delivered
        state.delivered.append(
            DeliveredItem(
                referral_id=payload.referral_id,
                program=payload.program.value,
                department=payload.department.value,
                cash_amount=delivered.cash_amount if delivered else None,
                service=delivered.service if delivered else None,
                sequence=sequence,
                delivered_at=event.recorded_at,
                note=payload.note,
            )
        )


def _answer(
    state: HouseholdState,
    referral_id: str,
    status: ReferralStatus,
    event: Envelope,
    sequence: int,
    reason: str | None,
) -> bool:
    """Set a referral's status; a final status is never changed again (as the ledger rules)."""
    referral = state.referrals.get(referral_id)
    if referral is None or referral.final:
        return False
    referral.status = status
    referral.answered_sequence, referral.answered_at = sequence, event.recorded_at
    referral.reason = reason
    return True


def _cause_of(due: RescreeningDue) -> str | None:
    if due.policy_version:
        return f"policy version {due.policy_version}"
    if due.person_id:
        return f"member {due.person_id}" + (f" turns {due.age}" if due.age is not None else "")
    if due.emergency:
        return f"{due.emergency.kind.value} on {due.emergency.on.isoformat()}"
    if due.expense:
        return f"{due.expense.kind.value} expense of {due.expense.on.isoformat()}"
    return None
