"""Skipping a message that stops a processor: an operator's order, and the processor's record of
carrying it out. Both are on `assist.deadletter.skips`, keyed by the processor.

Neither is a chain event: they are about a processor's input, not about a household.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SKIP_NAMESPACE = uuid.UUID("5d0f3b8e-7f0c-4e0a-9a57-0b1f6a8e2c41")


def skip_id(processor: str, topic: str, partition: int, offset: int) -> uuid.UUID:
    """One id per processor and input position: an order given twice is one order."""
    return uuid.uuid5(SKIP_NAMESPACE, f"{processor}:{topic}/{partition}/{offset}")


class SkipOrdered(BaseModel):
    """An operator tells a processor to dead-letter the message at one input position and go
    on past it, instead of handling it (`assist deadletter skip`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["SkipOrdered"] = "SkipOrdered"
    skip_id: uuid.UUID
    processor: str = Field(min_length=1, max_length=200)  # its consumer group
    topic: str = Field(min_length=1, max_length=249)
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    reason: str = Field(min_length=1, max_length=2000)  # why, in the operator's words
    operator: str = Field(min_length=1, max_length=120)
    ordered_at: AwareDatetime


class MessageSkipped(BaseModel):
    """The processor carried an order out: the message went to the dead letters, and this record,
    the dead letter and its input offset past the message were committed in one transaction."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["MessageSkipped"] = "MessageSkipped"
    skip_id: uuid.UUID
    processor: str
    topic: str
    partition: int
    offset: int
    dead_letter_id: uuid.UUID
    skipped_at: AwareDatetime
