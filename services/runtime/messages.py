"""What a stream processor consumes and produces, independent of the Kafka client."""

from __future__ import annotations

from dataclasses import dataclass

from events.envelope import Envelope
from services.runtime.peek import event_type_header, event_type_of_record


@dataclass(frozen=True, slots=True)
class Inbound:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int = 0
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def event_type(self) -> str:
        """Its event type, from the record header (peek.EVENT_TYPE_HEADER) where it has one."""
        return event_type_of_record(self.value, self.headers)


@dataclass(frozen=True, slots=True)
class Outbound:
    topic: str
    key: bytes | None
    value: bytes
    label: str = ""  # event type, for metrics and logs
    headers: tuple[tuple[str, bytes], ...] = ()  # e.g. the chain writer's signature

    @classmethod
    def event(cls, topic: str, event: Envelope) -> Outbound:
        label = event.event_type.value
        return cls(topic, event.key, event.to_bytes(), label, (event_type_header(label),))


class Rejected(Exception):  # noqa: N818 - a verdict on a message, not a program error
    """A message the processor cannot take: it goes to the dead-letter topic with this reason."""
