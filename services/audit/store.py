"""One household's stored records: from memory when its chain is cached, else from the log.

A read takes exactly the household's own events: L records for a chain of length L, from the
cache, or by L targeted fetches at the indexed positions (fewer when neighbours share a record
batch). A chain read from the log is cached for the next read when it fits the budget.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter

from services.audit.chainlog import PositionReader
from services.audit.index import ChainIndex

READS = Counter(
    "assist_audit_chain_reads_total",
    "Household chains read by the audit service, by where they were read from",
    ["source"],
)


class ChainStore:
    def __init__(self, index: Callable[[], ChainIndex | None], reader: PositionReader) -> None:
        self._index = index
        self._reader = reader

    async def records(self, household_id: str) -> list[bytes | None] | None:
        """The household's stored records in chain order, or None if it has no chain."""
        index = self._index()
        if index is None:
            raise RuntimeError("the chain index is not ready")
        entry = index.entries.get(household_id)
        if entry is None:
            return None
        length = entry.length
        cached = index.cache.get(household_id)
        if cached is not None and len(cached) == length:
            READS.labels("memory").inc()
            return list(cached)  # a copy: the live chain may grow while the caller works
        positions = entry.positions()
        values = await self._reader.read(positions)
        READS.labels("log").inc()
        # Cache only a chain still complete: events may have been folded during the read.
        if index is self._index() and entry.length == length:
            index.cache.put(household_id, values)
        return values
