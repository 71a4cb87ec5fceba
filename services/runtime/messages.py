"""What a stream processor consumes and produces, independent of the Kafka client."""

from __future__ import annotations

from dataclasses import dataclass

from events.envelope import Envelope


@dataclass(frozen=True, slots=True)
class Inbound:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int = 0
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class Outbound:
    topic: str
    key: bytes | None
    value: bytes
    label: str = ""  # event type, for metrics and logs
    headers: tuple[tuple[str, bytes], ...] = ()  # e.g. the chain writer's signature

    @classmethod
    def event(cls, topic: str, event: Envelope) -> Outbound:
        return cls(topic, event.key, event.to_bytes(), event.event_type.value)


class Rejected(Exception):  # noqa: N818 - a verdict on a message, not a program error
    """A message the processor cannot take: it goes to the dead-letter topic with this reason."""
