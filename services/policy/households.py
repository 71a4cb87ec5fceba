"""Every open household as the impact needs it, folded from `assist.chain`.

Per household: its latest facts (HouseholdIdentified), its last evaluation date, and its
referrals as the referral service holds them: the shared referral ledger
(services/rules/referral_ledger.py), applied to the same chain, decides them as referral does,
so they are not a second reading of the rules (STATE_SCHEMA names its kept shape beside ours).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

from pydantic import TypeAdapter

from events.codec import DecodeError, decode_event
from events.envelope import Envelope
from events.household import HouseholdIdentified
from events.schedule import HouseholdClosed
from events.types import EventType
from services.policy.domain.impact import HouseholdSnapshot
from services.policy.domain.referrals import ReferralState
from services.rules import referral_ledger
from services.rules.facts import HouseholdFacts
from services.rules.referral_ledger import READS as LEDGER_READS
from services.rules.referral_ledger import LedgerRefused, ReferralLedger
from services.rules.standards import PolicyBook
from services.rules.translation import facts_from_identified
from services.runtime.kept_state import PartitionMembers, schema_id
from services.runtime.logging import get_logger
from services.runtime.messages import Inbound

log = get_logger()
# The chain events that change what the impact reads of a household (besides its referrals).
# A classification is made at its identification's evaluated_on, so it adds no date to read
# (and its rule trace is the longest decode of the chain).
_FOLDED = frozenset({EventType.HOUSEHOLD_IDENTIFIED.value, EventType.HOUSEHOLD_CLOSED.value})
# Every other event type is skipped undecoded (by its header); garbage is decoded.
_SKIPPED = frozenset(EventType) - _FOLDED - LEDGER_READS
_NO_REFERRALS = ReferralState()


def _referral_state(referrals: ReferralLedger, household_id: str) -> ReferralState:
    household = referrals.households.get(household_id)
    if household is None:
        return _NO_REFERRALS
    return ReferralState.of(household.open_by_program, household.answered)


@dataclasses.dataclass(frozen=True)
class _Kept:
    """One open household as kept on disk: its referrals come from referral's own state."""

    region_code: str
    evaluated_on: date
    facts: HouseholdFacts


@dataclasses.dataclass(frozen=True)
class _KeptPartition:
    open: dict[str, _Kept]
    closed: list[str]


_PARTITION = TypeAdapter(_KeptPartition)
STATE_VERSION = 1  # bump when what a field means changes (the referrals' part has its own)
STATE_SCHEMA = (
    f"{schema_id(_PARTITION, STATE_VERSION)}"
    f"-{schema_id(referral_ledger.KEPT, referral_ledger.STATE_VERSION)}"
)


class HouseholdIndex:
    """The open households of the chain, each a frozen snapshot replaced on every change."""

    def __init__(self, book: Callable[[], PolicyBook]) -> None:
        self._book = book
        self._referrals = ReferralLedger()
        self.open: dict[str, HouseholdSnapshot] = {}
        self.closed: set[str] = set()  # for good, as referral and identification hold them
        self._members = PartitionMembers()  # the households of each chain partition

    def dump_partition(self, partition: int) -> bytes:
        """This partition's households, as the policy service keeps them on disk."""
        mine = self._members.of(partition)
        kept = _KeptPartition(
            {
                h: _Kept(s.region_code, s.evaluated_on, s.facts)
                for h in mine
                if (s := self.open.get(h)) is not None
            },
            [h for h in mine if h in self.closed],
        )
        return _PARTITION.dump_json(kept) + b"\n" + self._referrals.dump_partition(partition)

    def load_partition(self, partition: int, data: bytes) -> None:
        own, _, referrals = data.partition(b"\n")
        self._referrals.load_partition(partition, referrals)
        kept = _PARTITION.validate_json(own)
        for household_id, household in kept.open.items():
            self.open[household_id] = HouseholdSnapshot(
                household_id=household_id,
                region_code=household.region_code,
                evaluated_on=household.evaluated_on,
                facts=household.facts,
                referrals=_referral_state(self._referrals, household_id),
            )
        self.closed.update(kept.closed)
        self._members.update(partition, kept.open, kept.closed)

    def fold(self, message: Inbound) -> None:
        """A message of `assist.chain`."""
        household_id = message.key.decode() if message.key else None
        if household_id is not None:
            self._members.add(message.partition, household_id)
        if message.event_type not in _SKIPPED:
            try:
                event = decode_event(message.value)
            except DecodeError:
                return  # the chain writer let it through; referral dead-letters it, not us
            self._apply_to_referrals(event, message)
            household_id = event.household_id
            if household_id is not None and event.event_type in _FOLDED:
                self._fold_event(household_id, event)
        if household_id is not None and household_id in self.open:
            current = self.open[household_id]
            state = _referral_state(self._referrals, household_id)
            if state != current.referrals:
                self.open[household_id] = dataclasses.replace(current, referrals=state)

    def snapshot(self) -> list[HouseholdSnapshot]:
        """The open households as they stand: frozen records, safe to read from any thread."""
        return list(self.open.values())

    def _apply_to_referrals(self, event: Envelope, message: Inbound) -> None:
        try:
            self._referrals.apply(event, message.partition)
        except LedgerRefused:
            pass  # referral refuses it in its own service too: the ledger kept nothing of it
        except Exception as error:  # noqa: BLE001 - one household's trouble must not stop us
            log.warning(
                "referral state not updated",
                topic=message.topic,
                offset=message.offset,
                error=f"{type(error).__name__}: {error}",
            )

    def _fold_event(self, household_id: str, event: Envelope) -> None:
        payload, current = event.payload, self.open.get(household_id)
        if household_id in self.closed:
            return
        if isinstance(payload, HouseholdIdentified):
            # Evaluated at the date identification chose; older events: occurred_at's date.
            on = payload.evaluated_on or self._book().local_date(
                payload.region_code, event.occurred_at
            )
            self.open[household_id] = HouseholdSnapshot(
                household_id=household_id,
                region_code=payload.region_code,
                evaluated_on=max(on, current.evaluated_on) if current else on,
                facts=facts_from_identified(household_id, payload, on),
                referrals=current.referrals if current else _NO_REFERRALS,
            )
        elif isinstance(payload, HouseholdClosed):
            self.open.pop(household_id, None)  # no more re-screening: not in any impact
            self.closed.add(household_id)
