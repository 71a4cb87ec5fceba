"""`kill -USR1 <pid>`: every asyncio task's await chain to the log, for a service that seems stuck.

A wedged processor shows nothing in its log by definition; this shows where each of its
coroutines waits, without stopping the service. (A task's own stack shows only its outermost
coroutine; the chain of awaits below it is what tells where it hangs.)
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from services.runtime.logging import get_logger


def install_task_dump(loop: asyncio.AbstractEventLoop) -> None:
    loop.add_signal_handler(signal.SIGUSR1, log_task_stacks)


def log_task_stacks() -> None:
    log = get_logger()
    for task in asyncio.all_tasks():
        log.warning("task stack", task=task.get_name(), stack=await_chain(task.get_coro()))


def await_chain(coro: Any, depth: int = 40) -> list[str]:
    """`file:line in function` of each coroutine from `coro` down to what it waits on."""
    frames: list[str] = []
    while coro is not None and len(frames) < depth:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            code = frame.f_code
            frames.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        awaited = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        if awaited is None and frame is None:
            frames.append(repr(coro)[:200])  # a future or another awaitable: the bottom
        coro = awaited
    return frames
