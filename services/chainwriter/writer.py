"""The chain writer: the one owner of every household's order.

It takes proposed events from `assist.events`, drops any event_id it has already chained,
and appends the rest to `assist.chain` with the next sequence and the hash link, each signed
with its own key in a record header (services/runtime/writer_signature.py). A chained
referral event (issued, amended, withdrawn, overdue) also goes, the same bytes, to its
department's topic `assist.referrals.<department>`: in the same transaction, so a department
receives each exactly once, and a hop sooner than if another processor copied it from the chain.
Its state (each chain's head and every chained event_id) is rebuilt from `assist.chain`
itself at start, and chained events are committed in the same transaction as the consumed
offsets, so a crash at any point neither loses an event nor writes one twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from aiokafka import AIOKafkaConsumer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.topics import TopicNames
from events.chain import ChainHead, linked_bytes
from events.codec import DecodeError, decode_event
from events.referral import ReferralAmended, ReferralIssued, ReferralOverdue, ReferralWithdrawn
from services.runtime import metrics
from services.runtime.kafka import read_to_end
from services.runtime.logging import get_logger
from services.runtime.messages import Inbound, Outbound, Rejected
from services.runtime.peek import event_type_header
from services.runtime.writer_signature import sign_record, signed_by_writer

log = get_logger()
FOR_DEPARTMENTS = (ReferralIssued, ReferralAmended, ReferralWithdrawn, ReferralOverdue)


class ChainWriter:
    """Sequencing and hash-linking, with de-duplication on event_id."""

    service = "chainwriter"

    def __init__(self, topics: TopicNames, key: Ed25519PrivateKey | None = None) -> None:
        self.topics = topics
        self.heads: dict[str, ChainHead] = {}
        self.chained: set[uuid.UUID] = set()
        # Signs every append (services/runtime/writer_signature.py); without a key (tests of
        # the ordering alone) appends go unsigned and every record on the chain is taken.
        self._key = key

    def observe_chained(
        self, document: dict[str, object], headers: Iterable[tuple[str, bytes]] = ()
    ) -> None:
        """Fold one event already on the chain into the heads and the seen ids; a record this
        writer did not sign (written to the topic by someone else) is not its own: ignored."""
        if self._key is not None and not signed_by_writer(
            self._key.public_key(), str(document.get("hash")), headers
        ):
            log.warning(
                "record on the chain not appended by the chain writer: ignored",
                household_id=str(document.get("household_id")),
                sequence=document.get("sequence"),
            )
            return
        household = str(document["household_id"])
        self.heads[household] = ChainHead(int(str(document["sequence"])), str(document["hash"]))
        self.chained.add(uuid.UUID(str(document["event_id"])))

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        try:
            event = decode_event(message.value)
        except DecodeError as error:
            raise Rejected(str(error)) from None
        if event.household_id is None:
            raise Rejected("household_id: required for an event of a household's chain")
        if event.sequence is not None or event.hash is not None:
            raise Rejected("sequence: only the chain writer sets sequence and hashes")
        if event.event_id in self.chained:
            metrics.DUPLICATES.labels(self.service).inc()
            log.info(
                "duplicate event dropped",
                event_id=str(event.event_id),
                household_id=event.household_id,
                event_type=event.event_type.value,
            )
            return []
        head = self.heads.get(event.household_id, ChainHead())
        sequence = head.sequence + 1
        value, digest = linked_bytes(event, sequence, head.hash)
        self.heads[event.household_id] = ChainHead(sequence, digest)
        self.chained.add(event.event_id)
        log.info(
            "event chained",
            household_id=event.household_id,
            sequence=sequence,
            event_type=event.event_type.value,
            correlation_id=str(event.correlation_id),
            producer=event.producer,
        )
        label = event.event_type.value
        signature = (sign_record(self._key, digest),) if self._key is not None else ()
        headers = (event_type_header(label), *signature)
        chained = [Outbound(self.topics.chain, event.key, value, label, headers)]
        if isinstance(event.payload, FOR_DEPARTMENTS):
            department = self.topics.referrals(event.payload.department)
            chained.append(Outbound(department, event.key, value, label, headers))
        return chained

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []

    async def bootstrap(self, consumer_factory: Callable[[], AIOKafkaConsumer]) -> None:
        """Read `assist.chain` (committed transactions only) from the start to its end."""
        consumer = consumer_factory()
        await consumer.start()
        try:
            count = await read_to_end(
                consumer,
                self.topics.chain,
                lambda r: self.observe_chained(json.loads(r.value), r.headers or ()),
            )
            log.info("chain heads rebuilt", events=count, households=len(self.heads))
        finally:
            await consumer.stop()
