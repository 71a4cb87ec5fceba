"""Intake's transactional producers: one lane each, and how one is dropped when the broker
does not answer."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError


@dataclass(eq=False)
class Lane:
    """One transactional producer, and the commit it may be busy with."""

    transactional_id: str
    producer: AIOKafkaProducer | None = None
    committing: asyncio.Task[None] | None = None


async def idle(lane: Lane) -> None:
    """Wait for the lane's commit to end (it answers its requests and never raises)."""
    if lane.committing is not None:
        with contextlib.suppress(Exception):
            await lane.committing
        lane.committing = None


async def replace(lane: Lane) -> None:
    """Drop the lane's producer; the next one's init fences it and aborts what it left open."""
    producer, lane.producer = lane.producer, None
    if producer is not None:
        await discard(producer)


async def discard(producer: AIOKafkaProducer) -> None:
    """Stop a producer without waiting for a broker that does not answer.

    A producer stopped normally first flushes what it holds, which against an absent broker
    takes until its batches expire; this one may not keep anything anyway (its transaction is
    to be aborted), so past a short wait its sender is cancelled and its batches failed.
    """
    try:
        await asyncio.wait_for(producer.stop(), timeout=2.0)
        return
    except Exception:  # noqa: BLE001, S110 - closed by force below
        pass
    sender = producer._sender  # noqa: SLF001 - aiokafka has no public forced close
    task = sender.sender_task
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, timeout=2.0)
    producer._message_accumulator.fail_all(KafkaError("producer discarded"))  # noqa: SLF001
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.client.close(), timeout=2.0)
