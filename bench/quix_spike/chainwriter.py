"""The chain writer on Quix Streams: a spike, measured by `make bench` (bench/engines.py).

It sequences, hash-links, signs and de-duplicates the events of `assist.events` onto a chain
topic exactly as services/chainwriter does, with the project's own functions for the bytes
(events.chain.linked_bytes, the writer's signature), but on Quix Streams 3: a consumer group on
librdkafka, per-household state in RocksDB with a changelog topic, and exactly-once
(transactions fenced by the group's metadata). It runs in an environment of its own
(bench/quix_spike/requirements.lock: Quix Streams pins pydantic below the project's), with the
repository on its path. Not a service: no HTTP, no dead letters (an event it cannot decode is
logged and passed over), no copies to the departments' topics.

    python -m bench.quix_spike.chainwriter --input NS.assist.events --output NS.spike.chain \
        --group NS.spike.chainwriter --state-dir DIR --key PEM   (login: KAFKA_* variables)
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from quixstreams import Application, State
from quixstreams.kafka.configuration import ConnectionConfig

from events.chain import GENESIS_HASH, linked_bytes
from events.codec import DecodeError, decode_event
from services.runtime.peek import event_type_header
from services.runtime.writer_signature import sign_record

log = logging.getLogger("quix-spike")


def _connection() -> ConnectionConfig:
    """The same login the project's clients take from KAFKA_* (services/runtime/settings.py)."""
    username = os.environ.get("KAFKA_SASL_USERNAME")
    return ConnectionConfig(
        bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        security_protocol=os.environ.get(
            "KAFKA_SECURITY_PROTOCOL", "sasl_plaintext" if username else "plaintext"
        ),
        sasl_mechanism=os.environ.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
        if username
        else None,
        sasl_username=username,
        sasl_password=os.environ.get("KAFKA_SASL_PASSWORD"),
    )


def build(arguments: argparse.Namespace) -> Application:
    key = load_pem_private_key(open(arguments.key, "rb").read(), password=None)
    app = Application(
        broker_address=_connection(),
        consumer_group=arguments.group,
        auto_offset_reset="earliest",
        processing_guarantee="exactly-once",
        state_dir=arguments.state_dir,
        commit_interval=arguments.commit_interval,
        # Java's partitioner, as aiokafka's: a household lands on the same partition number
        # whichever client wrote it (librdkafka's default hashes differently).
        producer_extra_config={"partitioner": "murmur2_random"},
        loglevel="INFO",  # its own log file: what a start spends its time on
    )
    events = app.topic(arguments.input, key_deserializer="bytes", value_deserializer="bytes")
    chain = app.topic(arguments.output, key_serializer="bytes", value_serializer="bytes")

    def append(
        value: bytes, _key: bytes, _timestamp: int, _headers: Any, state: State
    ) -> list[tuple[bytes, list[tuple[str, bytes]]]]:
        """What ChainWriter.handle does, with the household's head and seen ids in `state`
        (scoped to the household: the record key)."""
        try:
            event = decode_event(value)
        except DecodeError as error:
            log.warning("not an event, passed over: %s", error)
            return []
        seen = f"id:{event.event_id}"
        if event.household_id is None or event.sequence is not None or state.exists(seen):
            return []
        sequence, previous = state.get("head", [0, GENESIS_HASH])
        chained, digest = linked_bytes(event, sequence + 1, previous)
        state.set("head", [sequence + 1, digest])
        state.set(seen, 1)
        headers = [event_type_header(event.event_type.value), sign_record(key, digest)]
        return [(chained, headers)]

    sdf = app.dataframe(events)
    sdf = sdf.apply(append, stateful=True, metadata=True, expand=True)
    sdf = sdf.set_headers(lambda value, _key, _timestamp, _headers: value[1])
    sdf = sdf.apply(lambda value: value[0])
    sdf.to_topic(chain)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--key", required=True, help="the chain writer's private key (PEM)")
    parser.add_argument("--commit-interval", type=float, default=0.2)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    build(arguments).run()


if __name__ == "__main__":
    main()
