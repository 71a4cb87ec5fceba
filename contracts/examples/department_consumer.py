"""A department's consumer, from the contract alone: read its referrals, answer each new one.

Needs aiokafka and the standard library, the AsyncAPI document and the department's
credentials; nothing of this repository's code. It reads `<ns>assist.referrals.<department>`
in the group `<ns>department.<department>` (committed transactions only, offsets committed by
hand after each record), answers every ReferralIssued with ACCEPTED on `<ns>assist.feedback`,
and prints the refusals of its answers. Output, one line each:

    answered <referral_id> ACCEPTED
    refused <referral_id or -> <status> <reason>

    python contracts/examples/department_consumer.py [--max-referrals N] [--timeout SECONDS]

Environment: KAFKA_BOOTSTRAP_SERVERS (127.0.0.1:9092), KAFKA_SECURITY_PROTOCOL
(SASL_PLAINTEXT; SASL_SSL on a cluster), KAFKA_SASL_USERNAME (department.<id>),
KAFKA_SASL_PASSWORD, KAFKA_SSL_CAFILE (SASL_SSL: the brokers' CA, else the system's),
ASSIST_DEPARTMENT (<id>, e.g. medical_security), ASSIST_TOPIC_NAMESPACE (""). Exits 0 after N
answers or at the timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"{name}: required (see contracts/examples/README.md)")
    return value


def connection() -> dict[str, Any]:
    """Where the brokers are and how to log in (the AsyncAPI servers and security scheme)."""
    protocol = os.environ.get("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    options: dict[str, Any] = {
        "bootstrap_servers": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        "security_protocol": protocol,
    }
    if protocol.startswith("SASL_"):
        options |= {
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": required("KAFKA_SASL_USERNAME"),
            "sasl_plain_password": required("KAFKA_SASL_PASSWORD"),
        }
    if protocol == "SASL_SSL":
        options["ssl_context"] = ssl.create_default_context(
            cafile=os.environ.get("KAFKA_SSL_CAFILE") or None
        )
    return options


def feedback_id(referral_id: str, outcome: str) -> uuid.UUID:
    """One id per answer, the same after a restart: a re-sent answer is taken once."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"assist-feedback:{referral_id}/{outcome}")


async def run(max_referrals: int | None, timeout: float) -> int:
    department = required("ASSIST_DEPARTMENT")
    namespace = os.environ.get("ASSIST_TOPIC_NAMESPACE", "")
    consumer = AIOKafkaConsumer(
        f"{namespace}assist.referrals.{department}",
        group_id=f"{namespace}department.{department}",
        isolation_level="read_committed",  # never the records of aborted transactions
        enable_auto_commit=False,  # commit after handling: a crash re-delivers, never skips
        auto_offset_reset="earliest",  # a new group misses no referral issued before it
        **connection(),
    )
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **connection())
    deadline = asyncio.get_running_loop().time() + timeout
    answered = 0
    try:
        await consumer.start()
        await producer.start()
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            batches = await consumer.getmany(timeout_ms=int(min(left, 1.0) * 1000))
            for partition, records in batches.items():
                for record in records:
                    answered += await handle(json.loads(record.value), producer, namespace)
                    await consumer.commit({partition: record.offset + 1})
                    if answered == max_referrals:
                        return 0  # what is not committed is read again at the next start
    finally:
        await producer.stop()
        await consumer.stop()
    return 0


async def handle(document: dict[str, Any], producer: AIOKafkaProducer, namespace: str) -> int:
    """Answer a new referral (1), print a refusal, leave the rest (0)."""
    if document["event_type"] == "FeedbackRefused":
        reason = " ".join(str(document["reason"]).split())
        print(f"refused {document['referral_id'] or '-'} {document['status']} {reason}", flush=True)
        return 0
    if document["event_type"] != "ReferralIssued":
        return 0  # ReferralAmended, ReferralWithdrawn, ReferralOverdue: a real one acts on them
    referral = document["payload"]
    answer = {
        "referral_id": referral["referral_id"],
        "department": referral["department"],
        "outcome": "ACCEPTED",
        "feedback_id": str(feedback_id(referral["referral_id"], "ACCEPTED")),
        "note": "taken on by the example consumer",
    }
    await producer.send_and_wait(
        f"{namespace}assist.feedback",
        json.dumps(answer, sort_keys=True, separators=(",", ":")).encode(),
        key=referral["referral_id"].encode(),
    )
    print(f"answered {referral['referral_id']} ACCEPTED", flush=True)
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--max-referrals", type=int, help="stop after answering this many")
    parser.add_argument("--timeout", type=float, default=float("inf"), help="stop after this")
    args = parser.parse_args()
    try:
        return asyncio.run(run(args.max_referrals, args.timeout))
    except KafkaError as error:  # e.g. a wrong password, another department's topic
        print(f"kafka: {error!r}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
