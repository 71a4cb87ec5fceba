"""The policy service's processor: versions from `assist.policy`, the system's time from
`assist.clock`, and every open household from `assist.chain`. It emits nothing: proposals and
decisions are published by the HTTP routes, and the impact reads this state. The households
are kept on local disk by partition of the chain (services/runtime/kept_state.py): a start
reads the versions and the clock whole, and of the chain only what came after its files.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime

from contracts.topics import TopicNames
from events.codec import DecodeError, decode_event
from events.envelope import Envelope
from services.policy.households import STATE_SCHEMA, HouseholdIndex
from services.rules.versions import PolicyVersions
from services.runtime.clock import ClockView
from services.runtime.messages import Inbound, Outbound, Rejected


class PolicyHandler:
    state_schema = STATE_SCHEMA  # the shape of what is kept on disk (kept_state.py)

    def __init__(self, topics: TopicNames, clock: ClockView) -> None:
        self.topics = topics
        self.clock = clock
        self.versions = PolicyVersions()
        self.households = HouseholdIndex(lambda: self.versions.book)
        self._chain_positions: dict[int, int] = {}

    @property
    def state_topic(self) -> str:
        return self.topics.chain

    def dump_partition(self, partition: int) -> bytes:
        position = self._chain_positions.get(partition, -1)
        return str(position).encode() + b"\n" + self.households.dump_partition(partition)

    def load_partition(self, partition: int, data: bytes) -> None:
        position, _, households = data.partition(b"\n")
        if int(position) >= 0:
            self._chain_positions[partition] = int(position)
        self.households.load_partition(partition, households)

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        if message.topic == self.topics.chain:
            self._chain_positions[message.partition] = message.offset
            self.households.fold(message)
            return []
        try:
            event = decode_event(message.value)
        except DecodeError as error:
            raise Rejected(str(error)) from None
        if message.topic == self.topics.policy:
            self.fold_policy(event)
        elif message.topic == self.topics.clock:
            self.clock.observe(event)
        return []

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []

    def fold_policy(self, event: Envelope) -> None:
        """An event of `assist.policy`: from the topic, or just published by this service (the
        same event read back later changes nothing)."""
        self.versions.fold(event)

    def fingerprint(self) -> Hashable:
        """Equal fingerprints, equal impacts: where the chain was read to, and every version's
        decisions (the clock does not enter an impact)."""
        decisions = tuple(
            sorted(
                (name, r.approved_by is not None, r.withdrawn_by is not None)
                for name, r in self.versions.records.items()
            )
        )
        return tuple(sorted(self._chain_positions.items())), decisions
