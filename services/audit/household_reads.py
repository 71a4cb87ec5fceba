"""One read of a household's chain, recorded before it is answered: the API's and the pages'.

Every route that shows anything of a household (its chain, its verification, its state, its
inclusion proofs, the auditor's household page) reads through `HouseholdReads.answer`, so that
every read, whatever shows it, is recorded on `assist.audit.access` with the person who read
and a fingerprint of their token, and is answered only once that record is acknowledged.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from fastapi import HTTPException

from events.audit import AccessKind, ChainAccessed
from services.audit.access import AccessRecorder, token_fingerprint
from services.audit.chainlog import ChainGone
from services.audit.indexer import ChainIndexer
from services.audit.store import ChainStore
from services.runtime.auth import Principal
from services.runtime.logging import get_logger

log = get_logger()
T = TypeVar("T")


@dataclass(frozen=True)
class Reader:
    """Who reads: what the access record names."""

    role: str
    token_fingerprint: str
    user: str

    @classmethod
    def of(cls, principal: Principal, token: str) -> Reader:
        return cls(principal.role, token_fingerprint(token), principal.user)


class HouseholdReads:
    """The audit's index, its chain store and its access recorder, read together."""

    def __init__(
        self,
        indexer: Callable[[], ChainIndexer | None],
        store: ChainStore,
        access: AccessRecorder,
    ) -> None:
        self._indexer = indexer
        self._store = store
        self._access = access

    def indexer(self) -> ChainIndexer:
        """The live index; 503 until the chain has been read once."""
        current = self._indexer()
        if current is None:
            raise HTTPException(503, "audit is still reading the chain; try again shortly")
        return current

    def unsigned(self, household_id: str, values: list[bytes | None]) -> list[int]:
        """Places of the household's records the chain writer did not append."""
        return self.indexer().index.unsigned(household_id, values)

    async def answer(
        self,
        household_id: str,
        who: Reader,
        kind: AccessKind,
        compute: Callable[[list[bytes | None]], T],
        as_of: datetime | None = None,
    ) -> T:
        """Read the chain and compute the answer while its access record is being made durable;
        the answer leaves only once the record is acknowledged. 404 without a chain, 409 when
        the log no longer holds an indexed record, 503 when the record could not be made."""
        found = household_id in self.indexer().index.entries
        recording = asyncio.ensure_future(
            self._access.record(
                ChainAccessed(
                    access_id=uuid.uuid4(),
                    household_id=household_id,
                    resource=kind,
                    role=who.role,
                    user=who.user,
                    token_fingerprint=who.token_fingerprint,
                    accessed_at=datetime.now(UTC),
                    as_of=as_of,
                    found=found,
                )
            )
        )
        try:
            values = await self._store.records(household_id)
            result = compute(values) if values is not None else None
        except ChainGone as gone:
            raise HTTPException(
                409,
                f"the log no longer holds a record the index points at ({gone}); rebuild the index",
            ) from None
        finally:
            try:
                await recording
            except Exception as error:  # noqa: BLE001 - whatever it was, the read is not answered
                log.error(
                    "access not recorded; read refused",
                    household_id=household_id,
                    error=f"{type(error).__name__}: {error}",
                )
                raise HTTPException(503, "the access could not be recorded; not answered") from None
        if values is None or result is None:
            raise HTTPException(404, f"no chain for household {household_id!r}")
        return result
