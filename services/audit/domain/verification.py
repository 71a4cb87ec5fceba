"""Verifying chains as stored: one household from its records, or every household in one pass.

`verify_records` adds to `events.chain.verify_chain` what only a reader of raw records can see:
a record that is not JSON, and an event filed under another household. `ChainsVerifier` gives
the same answers one record at a time for any number of chains, holding only each chain's head,
so that `assist verify --all` runs in memory proportional to households, not to events.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from events.chain import Verification, event_hash, verify_chain
from events.envelope import GENESIS_HASH
from services.audit.domain.records import parse_record


def _misfiled(household_id: str, document: dict[str, Any]) -> str | None:
    filed = document.get("household_id")
    if filed != household_id:
        return f"event of household {filed!r} in the chain of {household_id!r}"
    return None


def verify_records(
    household_id: str, values: Sequence[bytes | None], unsigned: Collection[int] = ()
) -> Verification:
    """Verify one household's stored records, in log order (events.chain.verify_chain + more).

    Records at the places `unsigned` (1-based) were not appended by the chain writer: they are
    named as the first bad record, and the chain is verified without them, so the writer's own
    next event is not blamed for the break a forgery would otherwise make.
    """
    if not unsigned:
        return _verify_records(household_id, values)
    signed = _verify_records(household_id, signed_only(values, unsigned))
    first = min(unsigned)
    document, _ = parse_record(values[first - 1])
    claimed = document.get("sequence") if document else None
    forged = (
        f"record {first} (claiming sequence {claimed}) was not appended by the chain writer "
        "(no valid signature): kept out of the household's state"
    )
    if len(unsigned) > 1:
        forged += f"; {len(unsigned) - 1} more such records"
    if not signed.valid:
        forged += f"; without them: {signed.reason} at {signed.first_bad_sequence}"
    return Verification(False, len(values), signed.head_hash, first, forged)


def signed_only(values: Sequence[bytes | None], unsigned: Collection[int]) -> list[bytes | None]:
    """The records the chain writer appended: what a household's state is folded from."""
    return [v for place, v in enumerate(values, start=1) if place not in unsigned]


def _verify_records(household_id: str, values: Sequence[bytes | None]) -> Verification:
    documents: list[dict[str, Any]] = []
    for position, value in enumerate(values, start=1):
        document, problem = parse_record(value)
        if document is not None:
            problem = _misfiled(household_id, document)
        if problem is not None:
            prefix = verify_chain(documents)
            if not prefix.valid:
                return Verification(
                    False, len(values), prefix.head_hash, prefix.first_bad_sequence, prefix.reason
                )
            return Verification(
                False, len(values), prefix.head_hash or GENESIS_HASH, position, problem
            )
        assert document is not None
        documents.append(document)
    return verify_chain(documents)


@dataclass(slots=True)
class _Progress:
    length: int = 0
    head_hash: str = GENESIS_HASH
    first_bad: int | None = None
    reason: str | None = None


class ChainsVerifier:
    """`verify_records` for every chain of a log read once, in log order."""

    def __init__(self) -> None:
        self._chains: dict[str, _Progress] = {}

    def add(self, household_id: str, value: bytes | None) -> None:
        """Take the next stored record of `household_id`'s chain."""
        self.add_parsed(household_id, *parse_record(value))

    def add_parsed(
        self, household_id: str, document: dict[str, Any] | None, problem: str | None
    ) -> None:
        """`add` for a record already parsed by `parse_record`."""
        progress = self._chains.setdefault(household_id, _Progress())
        progress.length += 1
        if progress.first_bad is not None:
            return
        position = progress.length
        if document is not None:
            problem = _misfiled(household_id, document) or _link_problem(
                document, position, progress.head_hash
            )
        if problem is not None:
            progress.first_bad, progress.reason = position, problem
            return
        assert document is not None
        progress.head_hash = str(document["hash"])

    def result(self, household_id: str) -> Verification | None:
        progress = self._chains.get(household_id)
        if progress is None:
            return None
        if progress.first_bad is None:
            return Verification(True, progress.length, progress.head_hash, None)
        return Verification(
            False, progress.length, progress.head_hash, progress.first_bad, progress.reason
        )

    def households(self) -> list[str]:
        return sorted(self._chains)


def _link_problem(document: dict[str, Any], position: int, prev_hash: str) -> str | None:
    # The checks of events.chain.verify_chain, in its order (a test holds them equal).
    if document.get("sequence") != position:
        return f"sequence {document.get('sequence')} where {position} was expected"
    if document.get("prev_hash") != prev_hash:
        return "prev_hash does not match the previous event's hash"
    if document.get("hash") != event_hash(document):
        return "hash does not match the event's content"
    return None
