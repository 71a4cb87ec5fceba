"""Refused answers told back: an answer on assist.feedback that cannot be taken becomes a
FeedbackRefused on the department's own topic, the one topic a department reads.

A department that answers over Kafka has no HTTP response to read its 404, 403, 409 or 422
from, and the dead-letter topic is for operators. So the refusal goes back with what HTTP would
have said: the status, the field at fault, the reason. It is the department that the message
named that is told (never the referral's own department: another's answer is not its news);
a message naming no department it could be told on stays a dead letter, as before.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contracts.topics import TopicNames
from events.canonical import canonical_json
from events.codec import describe_validation_error
from events.envelope import derived_event_id
from events.feedback import (
    REFERRAL_ID_MAX_CHARS,
    REFUSAL_FIELD_MAX_CHARS,
    REFUSAL_REASON_MAX_CHARS,
    FeedbackRefused,
)
from events.types import Department
from services.feedback.ledger import Refusal
from services.runtime.messages import Inbound, Outbound

# A rule over the whole body (FeedbackBody._fields_fit_the_outcome) names its field first.
_NAMED_IN_MESSAGE = re.compile(r"(?:Value error, )?([a-z_]+): ")
_DEPARTMENTS = frozenset(d.value for d in Department)


@dataclass(frozen=True)
class Said:
    """What a message on assist.feedback said, as far as it could be read."""

    department: Department | None
    referral_id: str | None
    feedback_id: uuid.UUID | None


def what_it_said(document: Any) -> Said:
    """Whom to tell and about what, read leniently from a message that did not validate."""
    if not isinstance(document, dict):
        return Said(None, None, None)
    department, referral_id = document.get("department"), document.get("referral_id")
    if not (isinstance(department, str) and department in _DEPARTMENTS):
        department = None
    if not (isinstance(referral_id, str) and 0 < len(referral_id) <= REFERRAL_ID_MAX_CHARS):
        referral_id = None
    return Said(
        Department(department) if department else None,
        referral_id,
        _uuid(document.get("feedback_id")),
    )


def invalid(error: ValidationError) -> Refusal:
    """422 naming the field of the first problem; the reason names every one (both cut to
    what a refusal holds: a message may carry names of any length, e.g. an extra field's)."""
    reason = describe_validation_error(error)
    if any(p["loc"] == ("feedback_id",) and p["type"] == "missing" for p in error.errors()):
        reason += " (each answer carries a feedback_id of its own, a UUID, the same on a retry)"
    field = _field_at_fault(error)
    return Refusal(
        422,
        _cut(reason, REFUSAL_REASON_MAX_CHARS),
        field=_cut(field, REFUSAL_FIELD_MAX_CHARS) if field else None,
    )


def told_back(
    message: Inbound,
    department: Department,
    said: Said,
    refusal: Refusal,
    topics: TopicNames,
    now: datetime,
) -> Outbound:
    """The FeedbackRefused for `message`, on `department`'s topic, keyed by the referral_id it
    named (else by its own position)."""
    refused = FeedbackRefused(
        refusal_id=derived_event_id("refused", message.topic, message.partition, message.offset),
        department=department,
        referral_id=said.referral_id,
        feedback_id=said.feedback_id,
        status=refusal.status_code,
        field=_cut(refusal.field, REFUSAL_FIELD_MAX_CHARS) if refusal.field else None,
        reason=_cut(refusal.reason, REFUSAL_REASON_MAX_CHARS),
        refused_at=now,
        source_partition=message.partition,
        source_offset=message.offset,
    )
    key = said.referral_id or f"{message.topic}/{message.partition}/{message.offset}"
    return Outbound(
        topics.referrals(department),
        key.encode(),
        canonical_json(refused.model_dump(mode="json")),
        refused.event_type,
    )


def _field_at_fault(error: ValidationError) -> str | None:
    problem = error.errors()[0]
    if problem["loc"]:
        return ".".join(str(part) for part in problem["loc"])
    named = _NAMED_IN_MESSAGE.match(problem["msg"])
    return named.group(1) if named else None


def _uuid(value: Any) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
