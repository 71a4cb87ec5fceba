"""One household as identification keeps it between events, and how each event changes it.

Every change returns the payload to append to the household's chain: its facts as identified
(`HouseholdIdentified`), `HouseholdClosed` when no member is left, or None when nothing is
identified yet (a household waiting for its first home visit).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date

from events.household import (
    Assets,
    DatedExpense,
    HouseholdDeclaration,
    HouseholdIdentified,
    RigidExpenses,
)
from events.schedule import HouseholdClosed
from events.types import ClosureReason, FactSource, SignalKind
from services.identification.domain.comparison import Comparison, household_assets
from services.identification.domain.expenses import declared_expenses, evaluated, still_counting
from services.identification.domain.pending import KeptSignal, usable
from services.identification.domain.records import PersonRecord
from services.identification.domain.signals import apply_signal, bill_of

Records = Mapping[str, PersonRecord]
Outcome = HouseholdIdentified | HouseholdClosed


@dataclass(slots=True)
class HouseholdFile:
    """What identification knows of one household."""

    region_code: str
    # Its members: as identified; as declared while a visit is due; the warned person.
    persons: list[str]
    facts: HouseholdIdentified | None = None  # None until first identified, and once closed
    declared_assets: Assets = field(default_factory=Assets)
    asset_source: FactSource = FactSource.DECLARED
    # Medical bills from signals, also in facts.expenses: a new declaration keeps them.
    bills: list[DatedExpense] = field(default_factory=list)
    visit_id: str | None = None
    pending: list[KeptSignal] = field(default_factory=list)  # applied when next identified
    closed: bool = False

    def declared(
        self,
        declaration: HouseholdDeclaration,
        comparison: Comparison,
        source: FactSource,
        on: date,
        records: Records,
    ) -> Outcome:
        """Identified on a declaration dated `on`, then on the kept signals in order."""
        trigger = "visit" if source is FactSource.VISIT else "application"
        previous = self.facts
        day = max(on, previous.evaluated_on or on) if previous else on
        kept = usable(self.pending, day)
        self.pending, self.visit_id = [], None
        self.declared_assets, self.asset_source = declaration.assets, source
        arriving = [b for k in kept if (b := bill_of(k.signal, k.on)) is not None]
        expenses = declared_expenses(declaration.rigid_expenses_12m, on, [*self.bills, *arriving])
        provenance = dict(comparison.provenance)
        if self.bills:
            provenance["rigid_expenses_12m.medical"] = FactSource.RECORD
        facts = HouseholdIdentified(
            region_code=declaration.region_code,
            trigger=trigger,
            members=comparison.members,
            assets=comparison.assets,
            rigid_expenses_12m=RigidExpenses(),
            dwelling_unsafe=declaration.dwelling_unsafe,
            legal_supporter_able=declaration.legal_supporter_able,
            emergencies=list(previous.emergencies) if previous else [],
            provenance=provenance,
            evaluated_on=day,
        )
        facts = evaluated(facts, day, [*expenses, *self.bills])
        for signal in kept:
            applied = self._applied(facts, signal)
            if applied is None:
                return self._closed(ClosureReason.LAST_MEMBER_DIED, signal)
            facts = applied
        return self._settled(facts.model_copy(update={"trigger": trigger}), records)

    def signal(self, kept: KeptSignal, records: Records) -> Outcome | None:
        """A signal about one of its members: applied now, or kept while the visit is due."""
        if kept.signal.kind is SignalKind.DEATH_OF_MEMBER:
            self.persons = [p for p in self.persons if p != kept.signal.person_id]
        if self.facts is None:
            self.pending.append(kept)
            if not self.persons:
                return self._closed(ClosureReason.LAST_MEMBER_DIED, kept)
            return None
        facts = self._applied(self.facts, kept)
        if facts is None and self.persons:  # others declared since: their visit decides
            self.facts = None
            self.pending.append(kept)
            return None
        if facts is None:
            return self._closed(ClosureReason.LAST_MEMBER_DIED, kept)
        return self._settled(facts, records)

    def rescreened(self, on: date, trigger: str, records: Records) -> HouseholdIdentified | None:
        """Its latest facts again, at the later of `on` and its previous evaluation."""
        if self.facts is None:
            return None
        return self._settled(
            evaluated(self.facts, on).model_copy(update={"trigger": trigger}), records
        )

    def released(self, persons: Collection[str]) -> list[KeptSignal]:
        """The kept signals about `persons`, who leave: they go with them."""
        leaving = [k for k in self.pending if k.signal.person_id in persons]
        self.pending = [k for k in self.pending if k.signal.person_id not in persons]
        return leaving

    def without(self, persons: list[str], on: date, records: Records) -> Outcome | None:
        """Re-screened without `persons`, who moved to another household on `on`."""
        self.persons = [p for p in self.persons if p not in persons]
        if not self.persons:
            return self._close(ClosureReason.LAST_MEMBER_MOVED, on, persons[-1])
        if self.facts is None:
            return None
        members = [m for m in self.facts.members if m.person_id not in persons]
        update = {"members": members, "trigger": "rescreening:member_moved"}
        return self._settled(evaluated(self.facts.model_copy(update=update), on), records)

    def _applied(self, facts: HouseholdIdentified, kept: KeptSignal) -> HouseholdIdentified | None:
        bill = bill_of(kept.signal, kept.on)
        if bill is not None:
            self.bills.append(bill)
        return apply_signal(facts, kept.signal, kept.on)

    def _settled(self, facts: HouseholdIdentified, records: Records) -> HouseholdIdentified:
        """Keep `facts`, with assets from the declaration and the members' latest records."""
        persons = [m.person_id for m in facts.members]
        assets, sources = household_assets(
            self.declared_assets, self.asset_source, persons, records
        )
        facts = facts.model_copy(
            update={"assets": assets, "provenance": facts.provenance | sources}
        )
        self.facts = facts
        if self.visit_id is None:  # else the declaration that asked for the visit says who
            self.persons = persons
        self.bills = still_counting(self.bills, facts.evaluated_on or date.min)
        return facts

    def _closed(self, reason: ClosureReason, kept: KeptSignal) -> HouseholdClosed:
        return self._close(reason, kept.on, kept.signal.person_id)

    def _close(self, reason: ClosureReason, on: date, person_id: str) -> HouseholdClosed:
        self.closed, self.facts, self.persons = True, None, []
        self.pending, self.bills, self.visit_id = [], [], None
        return HouseholdClosed(reason=reason, on=on, person_id=person_id)
