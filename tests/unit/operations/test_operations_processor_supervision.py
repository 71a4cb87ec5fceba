"""A processor restarts after any failure of a run, including a CancelledError that a Kafka
client raised from one of its own futures; only a real cancellation of its task ends it."""

from __future__ import annotations

import asyncio

import pytest

from services.runtime.processor import Processor, ProcessorConfig
from services.runtime.settings import KafkaSettings


class ScriptedRuns(Processor):
    """A processor whose runs raise the given errors in turn, then stop the processor."""

    def __init__(self, failures: list[BaseException]) -> None:
        super().__init__(
            ProcessorConfig("p", ("t",), "dl"),
            lambda: None,  # type: ignore[arg-type,return-value]
            KafkaSettings(),
        )
        self.failures = failures
        self.runs = 0

    async def _run_once(self) -> None:
        self.runs += 1
        if self.failures:
            raise self.failures.pop(0)
        self.stop()

    async def _restart_after(self, error: BaseException, backoff: float) -> None:
        await super()._restart_after(error, backoff=0)


async def test_a_stray_cancelled_error_restarts_the_processor_instead_of_ending_it() -> None:
    processor = ScriptedRuns([asyncio.CancelledError(), ConnectionError("broker gone")])
    await asyncio.wait_for(processor.run(), timeout=5)
    assert processor.runs == 3
    assert processor.status.restarts == 2
    assert processor.status.last_error == "ConnectionError: broker gone"


async def test_cancelling_the_processor_task_still_ends_it() -> None:
    started = asyncio.Event()

    class Forever(Processor):
        async def _run_once(self) -> None:
            started.set()
            await asyncio.sleep(3600)

    processor = Forever(ProcessorConfig("p", ("t",), "dl"), lambda: None, KafkaSettings())  # type: ignore[arg-type,return-value]
    task = asyncio.create_task(processor.run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert processor.status.restarts == 0


async def test_a_step_that_waits_on_the_broker_for_good_is_given_up() -> None:
    class Hanging(Processor):
        _step_limit = 0.05

        async def _step(self, *_: object) -> None:
            await asyncio.sleep(3600)  # e.g. a position aiokafka never gets back

    processor = Hanging(ProcessorConfig("p", ("t",), "dl"), lambda: None, KafkaSettings())  # type: ignore[arg-type,return-value]
    with pytest.raises(TimeoutError, match="a step waited over 0.05 s"):
        await processor._step_within_limit(None, None, None, {})  # type: ignore[arg-type]
