"""Messages that are not chain events: a department's feedback and its refusal, a dead letter."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from events.referral import Delivered
from events.types import DeclineReason, Department, Outcome

REFERRAL_ID_MAX_CHARS = 120
# A refusal quotes what it can of the refused message; these bound it, whatever that said.
REFUSAL_FIELD_MAX_CHARS = 200
REFUSAL_REASON_MAX_CHARS = 2000


def _given_for(outcome: str, field: str, only_then: bool) -> dict[str, Any]:
    """JSON Schema: `field` is given when the outcome is `outcome` (and, if `only_then`, null or
    absent otherwise), as _fields_fit_the_outcome checks: the schema and the validation agree."""
    rule: dict[str, Any] = {
        "if": {"properties": {"outcome": {"const": outcome}}, "required": ["outcome"]},
        "then": {"properties": {field: {"not": {"type": "null"}}}, "required": [field]},
    }
    if only_then:
        rule["else"] = {"properties": {field: {"type": "null"}}}
    return rule


class FeedbackBody(BaseModel):
    """The feedback body of interfaces.md, as a department sends it over HTTP."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "allOf": [
                _given_for("DECLINED", "reason", only_then=True),
                _given_for("TRANSFERRED", "transfer_to", only_then=True),
                _given_for("DELIVERED", "delivered", only_then=False),
            ]
        },
    )
    outcome: Outcome
    reason: DeclineReason | None = None
    delivered: Delivered | None = None
    transfer_to: Department | None = None
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _fields_fit_the_outcome(self) -> FeedbackBody:
        if self.outcome == Outcome.DECLINED and self.reason is None:
            raise ValueError("reason: required when outcome is DECLINED")
        if self.outcome != Outcome.DECLINED and self.reason is not None:
            raise ValueError("reason: only for outcome DECLINED")
        if self.outcome == Outcome.TRANSFERRED and self.transfer_to is None:
            raise ValueError("transfer_to: required when outcome is TRANSFERRED")
        if self.outcome != Outcome.TRANSFERRED and self.transfer_to is not None:
            raise ValueError("transfer_to: only for outcome TRANSFERRED")
        if self.outcome == Outcome.DELIVERED and self.delivered is None:
            raise ValueError("delivered: required when outcome is DELIVERED")
        return self


class FeedbackSubmitted(FeedbackBody):
    """A feedback message on `assist.feedback` (keyed by referral_id)."""

    referral_id: str = Field(min_length=1, max_length=REFERRAL_ID_MAX_CHARS)
    department: Department
    # Required: a producer's retry re-sends the same id and is recognised as the same answer
    # (taken once). The HTTP route derives it from the Idempotency-Key, or makes a new one.
    feedback_id: uuid.UUID
    submitted_at: AwareDatetime | None = None
    # The person who answered (their user id); set by the HTTP route from the token.
    answered_by: str | None = Field(default=None, max_length=120)


class FeedbackRefused(BaseModel):
    """An answer on assist.feedback that was not taken, told back on the department's own topic.

    Keyed by referral_id when the answer named one, else by the refused message's position."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_type: Literal["FeedbackRefused"] = "FeedbackRefused"
    schema_version: Literal[1] = 1
    # Derived from the refused message's topic, partition and offset: a replay writes the same.
    refusal_id: uuid.UUID
    department: Department
    # As the message said, when it said one.
    referral_id: str | None = Field(min_length=1, max_length=REFERRAL_ID_MAX_CHARS)
    feedback_id: uuid.UUID | None
    # What HTTP would have answered: 404 unknown referral, 403 another department's referral,
    # 409 a conflict (already final, already accepted), 422 invalid.
    status: int = Field(ge=400, le=499)
    field: str | None = Field(max_length=REFUSAL_FIELD_MAX_CHARS)  # the field at fault, if one
    # Human readable; names the field.
    reason: str = Field(min_length=1, max_length=REFUSAL_REASON_MAX_CHARS)
    refused_at: AwareDatetime  # on the system's clock
    source_partition: int = Field(ge=0)
    source_offset: int = Field(ge=0)


class DeadLetterSource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    topic: str
    partition: int
    offset: int
    key_base64: str | None  # None: no key, or one too long to keep (see key_prefix_base64)
    # A key too long to quote (services/runtime/limits.py): its size, digest and first bytes.
    key_bytes: int | None = None
    key_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    key_prefix_base64: str | None = None


class DeadLetter(BaseModel):
    """A message that could not be processed, on `assist.deadletter`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    dead_letter_id: uuid.UUID
    service: str
    reason: str
    failed_at: AwareDatetime
    source: DeadLetterSource
    value_base64: str | None  # the original bytes; None when truncated (or none at all)
    # Size and SHA-256 of the original value (dead letters written before these have neither).
    value_bytes: int | None = None
    value_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    # True when the original (value or key) was too large to quote whole: the dead letter
    # keeps its first bytes, and the original stays at its source offset.
    truncated: bool = False
    value_prefix_base64: str | None = None

    def as_document(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class DeadLetterRedriven(BaseModel):
    """One re-drive, on `assist.deadletter.redriven` (keyed by dead_letter_id)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    dead_letter_id: uuid.UUID
    redriven_at: AwareDatetime
    topic: str
    partition: int
    offset: int
    value_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    fixed: bool  # a corrected value, not the original bytes
    forced: bool  # a repeated re-drive the operator insisted on
    operator: str
