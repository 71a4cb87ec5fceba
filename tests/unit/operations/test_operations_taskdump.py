"""The task dump names where a task waits, however deep the awaits go."""

from __future__ import annotations

import asyncio

from services.runtime.taskdump import await_chain


async def test_the_await_chain_reaches_the_innermost_coroutine() -> None:
    release = asyncio.Event()

    async def innermost_wait() -> None:
        await release.wait()

    async def middle() -> None:
        await innermost_wait()

    task = asyncio.create_task(middle())
    await asyncio.sleep(0)
    chain = await_chain(task.get_coro())
    names = [line.rsplit(" in ", 1)[-1] for line in chain]
    assert names[:3] == ["middle", "innermost_wait", "wait"]
    release.set()
    await task
