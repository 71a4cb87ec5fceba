"""Every size limit of the system, in one place, set together.

A message is bounded at every hop: an HTTP body at the service's edge, a record at the broker,
a record at the producer that writes it and at the consumer that reads it, and a dead letter
(which quotes the message it is about, so it would otherwise be larger than any message). The
broker's template (deploy/kafka), the topic catalog's configs (topic_admin), the clients
(kafka.py), the HTTP middleware (http.py) and the dead letters (deadletter.py) all read them
from here, so they cannot drift apart:

* `MAX_MESSAGE_BYTES`, 1 MiB: the largest message (key + value) a topic takes from anyone.
  Kafka's own default; an application is a few kB (50 members, the most one may name, with
  the longest names: about 30 KB), so this is there to bound, not to fit.
* `MAX_RECORD_BATCH_BYTES`: that message in a record batch of its own (61 bytes of batch header,
  at most 21 of record header, the length varints): the broker's `message.max.bytes` and every
  topic's `max.message.bytes`. The producer's `max_request_size` is the same figure: aiokafka
  checks each record against it with the same estimate before sending, so the producer refuses
  at once, with the size named, what the broker would refuse after a round trip.
* `HTTP_MAX_BODY_BYTES`, 256 KiB: the largest request body a service reads (413 beyond it).
  Eight times the largest application, a quarter of a message: an event made from a request
  (the envelope adds well under 1 KiB) and everything derived from it stay far below the
  producer's limit. Up to `HTTP_DISCARD_BYTES` more of a refused body is thrown away unread,
  so that the client, still sending, gets to read its 413.
* `DEADLETTER_MAX_BYTES`, 512 KiB: the largest dead letter. A dead letter quotes the original
  bytes in base64 (4/3 of their size), so it keeps the whole of anything that came in through
  HTTP; beyond that it keeps `DEADLETTER_PREFIX_BYTES` (4 KiB, enough to see the event type,
  ids and the start of the payload), the original's SHA-256 and size, and says `truncated`:
  the original itself stays at its source offset, where a re-drive reads it. Half the
  producer's limit, so a dead letter is always written.
* What a processor writes is derived from what it reads, and may be larger (the chain writer
  adds sequence and hashes; identification gathers a household's facts). From anything that
  came in through HTTP that stays far below the limit. From a message written to Kafka
  directly, close to the limit, it may not: the processor refuses such an output before the
  transaction (processor.OutputTooLarge), reports itself stuck at that input, and an operator
  skips the message (services/runtime/skips.py).
* Consumers fetch up to 4 messages' worth per partition and 32 MiB per fetch: replays read
  whole topics, and fewer, larger fetches make them faster; a single record larger than the
  fetch size is still returned on its own (KIP-74), so no message can wedge a consumer.
"""

from __future__ import annotations

from typing import Final

KIB: Final = 1024
MIB: Final = 1024 * KIB

MAX_MESSAGE_BYTES: Final = 1 * MIB
# A record batch holding one record: 61-byte batch header, at most 21 bytes of record header,
# key and value length varints; rounded up.
RECORD_FRAMING_BYTES: Final = 512
MAX_RECORD_BATCH_BYTES: Final = MAX_MESSAGE_BYTES + RECORD_FRAMING_BYTES

PRODUCER_MAX_REQUEST_BYTES: Final = MAX_RECORD_BATCH_BYTES
# A producer's batches; a record larger than this travels in a batch of its own.
PRODUCER_BATCH_BYTES: Final = 256 * KIB
CONSUMER_MAX_PARTITION_FETCH_BYTES: Final = 4 * MAX_MESSAGE_BYTES
CONSUMER_FETCH_MAX_BYTES: Final = 32 * MIB

HTTP_MAX_BODY_BYTES: Final = 256 * KIB
# A refused body is read on and thrown away (never held) up to this much, for this long, before
# the 413 goes out: an HTTP/1.1 client sends its whole body before it reads the answer, and a
# connection closed under it while it sends resets, so it would never see the 413. A body
# larger still gets its 413 at once, and the connection is closed.
HTTP_DISCARD_BYTES: Final = 4 * MIB
HTTP_DISCARD_SECONDS: Final = 5.0

DEADLETTER_MAX_BYTES: Final = 512 * KIB
DEADLETTER_PREFIX_BYTES: Final = 4 * KIB
# A key longer than this is kept as a prefix with its digest, like a value (keys are ids).
DEADLETTER_MAX_KEY_BYTES: Final = 1 * KIB
# Exception messages can quote their input; a reason longer than this is cut.
DEADLETTER_MAX_REASON_CHARS: Final = 2000


def record_bytes(key: bytes | None, value: bytes | None) -> int:
    """What one record takes in a batch of its own: the estimate aiokafka's producer checks
    against `max_request_size` before it sends anything."""
    # Imported here: the broker's own tooling (deploy/kafka, run by the system's Python before
    # any virtual environment exists) reads these limits without aiokafka installed.
    from aiokafka.record.default_records import DefaultRecordBatchBuilder

    size: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, [])
    return size


def fits_a_record(key: bytes | None, value: bytes | None) -> bool:
    """Whether the producer (and so the broker) takes this key and value as one record."""
    return record_bytes(key, value) <= PRODUCER_MAX_REQUEST_BYTES


def broker_properties() -> dict[str, str]:
    """The broker's settings that follow from these limits (server.properties.template)."""
    return {
        "message_max_bytes": str(MAX_RECORD_BATCH_BYTES),
        # Followers fetch at least one whole batch anyway (KIP-74); kept in step for clarity.
        "replica_fetch_max_bytes": str(CONSUMER_MAX_PARTITION_FETCH_BYTES),
    }


def topic_properties() -> dict[str, str]:
    """Every catalog topic's size limit, set per topic so that a cluster whose brokers keep
    other defaults still bounds our topics the same way."""
    return {"max.message.bytes": str(MAX_RECORD_BATCH_BYTES)}
