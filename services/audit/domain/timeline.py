"""A chain as a timeline an auditor reads: when, which service, which event, what and why.

Pure: works on stored documents. Resident identity numbers are shown masked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from events.codec import DecodeError, decode_document
from events.household import (
    ApplicationReceived,
    HouseholdClassified,
    HouseholdIdentified,
    VisitCompleted,
    VisitRequested,
)
from events.identity import mask_resident_id
from events.monitoring import RecordReported, RiskWarningRaised, SignalReceived
from events.referral import (
    ChainSettled,
    ReferralAmended,
    ReferralIssued,
    ReferralOutcomeReported,
    ReferralOverdue,
    ReferralWithdrawn,
)
from events.schedule import HouseholdClosed, RescreeningDue

# The numbers of a rule trace worth a line on the timeline (all are in the stored trace).
KEY_NUMBERS = (
    "N",
    "I",
    "pci",
    "D",
    "M",
    "Y",
    "R",
    "eff",
    "deposits_per_person",
    "asset_limit",
    "vehicles",
    "residential_properties",
)


@dataclass(frozen=True, slots=True)
class TimelineRow:
    sequence: int | None
    recorded_at: str
    producer: str
    event_type: str
    what: str
    why: str = ""


def timeline(documents: Iterable[dict[str, Any]]) -> list[TimelineRow]:
    return [describe(document) for document in documents]


def describe(document: dict[str, Any]) -> TimelineRow:
    """One stored event as a timeline row; an unreadable one says why it is unreadable."""
    sequence = document.get("sequence")
    try:
        event = decode_document(document)
    except DecodeError as error:
        return TimelineRow(
            sequence if isinstance(sequence, int) else None,
            str(document.get("recorded_at", "?")),
            str(document.get("producer", "?")),
            str(document.get("event_type", "?")),
            "unreadable event",
            str(error),
        )
    what, why = _explain(event.payload)
    return TimelineRow(
        event.sequence,
        event.recorded_at.isoformat(),
        event.producer,
        event.event_type.value,
        what,
        why,
    )


def key_numbers(numbers: dict[str, Any]) -> str:
    return ", ".join(f"{name}={numbers[name]}" for name in KEY_NUMBERS if name in numbers)


def _explain(payload: object) -> tuple[str, str]:
    if isinstance(payload, HouseholdClassified):
        trace = payload.rule_trace
        tags = f" tags {', '.join(payload.tags)}" if payload.tags else ""
        failed = [
            f"{c.get('rule')}: {'; '.join(c.get('reasons', []))}"
            for c in trace.get("checks", [])[:-1]
            if isinstance(c, dict)
        ]
        why = f"decided by {trace.get('decided_by', '?')}: {key_numbers(trace.get('numbers', {}))}"
        if failed:
            why += " | not: " + " | ".join(failed)
        following = payload.next_rescreening
        if following is not None:
            why += f" | next date that matters: {following.on} ({following.reason.value})"
        return (
            f"tier {payload.tier}{tags} (policy {payload.policy_version}, "
            f"effective {payload.effective_date})",
            why,
        )
    if isinstance(payload, ReferralIssued):
        origin = (
            f", transferred from {payload.transferred_from}" if payload.transferred_from else ""
        )
        grounds = ", ".join(f"{k}={v}" for k, v in sorted(payload.grounds.items()))
        return (
            f"referral {payload.referral_id}: {payload.program.value} -> "
            f"{payload.department.value}, due {payload.due_at.isoformat()}{origin}",
            grounds,
        )
    if isinstance(payload, ReferralOutcomeReported):
        return (
            f"referral {payload.referral_id} ({payload.program.value}): "
            f"{payload.outcome.value} by {payload.department.value}",
            _outcome_detail(payload),
        )
    if isinstance(payload, ReferralWithdrawn):
        return (
            f"referral {payload.referral_id} ({payload.program.value}) withdrawn",
            payload.reason,
        )
    if isinstance(payload, ReferralOverdue):
        return (
            f"referral {payload.referral_id} ({payload.program.value}) overdue",
            f"due {payload.due_at.isoformat()}, escalated to {payload.escalated_to}",
        )
    if isinstance(payload, ChainSettled):
        return (
            f"chain settled: {payload.referrals} referrals",
            f"delivered: {', '.join(payload.delivered) or 'none'}",
        )
    return _explain_over_time(payload)


def _explain_over_time(payload: object) -> tuple[str, str]:
    if isinstance(payload, RescreeningDue):
        causes = [
            f"policy version {payload.policy_version}" if payload.policy_version else "",
            f"member {mask_resident_id(payload.person_id)}" if payload.person_id else "",
            f"turns {payload.age}" if payload.age is not None else "",
            f"{payload.emergency.kind.value} of {payload.emergency.on}"
            if payload.emergency
            else "",
            f"{payload.expense.kind.value} expense of {payload.expense.on}"
            if payload.expense
            else "",
            f"also {', '.join(r.value for r in payload.also)}" if payload.also else "",
        ]
        return (
            f"re-screening due on {payload.on}: {payload.reason.value}",
            "; ".join(c for c in causes if c),
        )
    if isinstance(payload, HouseholdClosed):
        return f"household closed on {payload.on}", payload.reason.value
    if isinstance(payload, ReferralAmended):
        return (
            f"referral {payload.referral_id} ({payload.program.value}) amended: "
            f"{len(payload.members)} members",
            payload.reason,
        )
    return _explain_facts(payload)


def _explain_facts(payload: object) -> tuple[str, str]:
    if isinstance(payload, ApplicationReceived | VisitCompleted):
        how = (
            f"visit {payload.visit_id} by {payload.visitor}"
            if isinstance(payload, VisitCompleted)
            else f"application ({payload.channel.value})"
        )
        findings = payload.findings if isinstance(payload, VisitCompleted) else ""
        return (
            f"{how}: {len(payload.members)} members, region {payload.region_code}",
            "; ".join(part for part in (_sender(payload), findings) if part),
        )
    if isinstance(payload, HouseholdIdentified):
        sources: dict[str, int] = {}
        for source in payload.provenance.values():
            sources[source.value] = sources.get(source.value, 0) + 1
        counted = ", ".join(f"{n} from {s}" for s, n in sorted(sources.items()))
        return (
            f"identified ({payload.trigger}): {len(payload.members)} members",
            f"facts: {counted}" if counted else "",
        )
    if isinstance(payload, VisitRequested):
        return f"visit {payload.visit_id} requested", payload.reason
    if isinstance(payload, SignalReceived):
        return (
            f"signal {payload.kind.value} about {mask_resident_id(payload.person_id)}",
            "; ".join(
                p for p in (f"from {payload.source_department.value}", _sender(payload)) if p
            ),
        )
    if isinstance(payload, RecordReported):
        return (
            f"record about {mask_resident_id(payload.person_id)}",
            "; ".join(
                p for p in (f"from {payload.source_department.value}", _sender(payload)) if p
            ),
        )
    if isinstance(payload, RiskWarningRaised):
        return (
            f"risk warning ({payload.signal_kind.value}) about "
            f"{mask_resident_id(payload.person_id)}",
            payload.reason,
        )
    return type(payload).__name__, ""


def _sender(payload: ApplicationReceived | VisitCompleted | SignalReceived | RecordReported) -> str:
    """Who sent it to intake (the token's user and role); nothing for events written before."""
    if payload.submitted_by is None:
        return ""
    role = f" ({payload.submitted_by_role})" if payload.submitted_by_role else ""
    return f"sent by {payload.submitted_by}{role}"


def _outcome_detail(payload: ReferralOutcomeReported) -> str:
    parts = []
    if payload.delivered is not None:
        if payload.delivered.cash_amount is not None:
            parts.append(f"cash {payload.delivered.cash_amount}")
        if payload.delivered.service:
            parts.append(f"service: {payload.delivered.service}")
    if payload.reason is not None:
        parts.append(f"reason {payload.reason.value}")
    if payload.transfer_to is not None:
        parts.append(f"transferred to {payload.transfer_to.value}")
    if payload.note:
        parts.append(f"note: {payload.note}")
    return "; ".join(parts)
