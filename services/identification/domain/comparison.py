"""Data comparison before classification: records win, large income gaps need a visit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from events.household import Assets, Discrepancy, HouseholdDeclaration, Member
from events.types import FactSource
from services.identification.domain.records import PersonRecord

# A declared income lower than the record by more than this share of the record is a
# discrepancy (domain.md: tolerance 10 %).
INCOME_TOLERANCE = Decimal("0.10")


@dataclass(frozen=True)
class Comparison:
    """The facts to classify on, where each came from, and what needs a visit."""

    members: list[Member]
    assets: Assets
    provenance: dict[str, FactSource]
    discrepancies: list[Discrepancy] = field(default_factory=list)


def income_discrepancy(declared: Decimal, recorded: Decimal) -> bool:
    """True when the declaration is lower than the record by more than the tolerance."""
    return declared < recorded * (1 - INCOME_TOLERANCE)


def compare(
    declaration: HouseholdDeclaration,
    records: Mapping[str, PersonRecord],
    source: FactSource = FactSource.DECLARED,
) -> Comparison:
    """Resolve declared facts against records. A visit's incomes are verified: records do not
    override them, and they raise no discrepancy. Assets follow `household_assets` either way."""
    provenance: dict[str, FactSource] = {}
    members: list[Member] = []
    discrepancies: list[Discrepancy] = []
    for member in declaration.members:
        key = f"members[{member.person_id}].monthly_income"
        record = records.get(member.person_id)
        recorded = record.monthly_income if record else None
        if source is FactSource.VISIT or recorded is None:
            members.append(member)
            provenance[key] = source
            continue
        if income_discrepancy(member.monthly_income, recorded):
            discrepancies.append(
                Discrepancy(
                    person_id=member.person_id,
                    field="monthly_income",
                    declared=str(member.monthly_income),
                    recorded=str(recorded),
                )
            )
        members.append(member.model_copy(update={"monthly_income": recorded}))
        provenance[key] = FactSource.RECORD
    assets, sources = household_assets(
        declaration.assets, source, [m.person_id for m in declaration.members], records
    )
    return Comparison(members, assets, provenance | sources, discrepancies)


ASSET_FACTS = ("deposits", "vehicles", "residential_properties")


def household_assets(
    declared: Assets,
    source: FactSource,
    person_ids: Iterable[str],
    records: Mapping[str, PersonRecord],
) -> tuple[Assets, dict[str, FactSource]]:
    """For each asset, the larger of the household's declared figure and the sum of its
    members' latest records, and where the figure came from.

    A record states one person's assets and the declaration the household's, so a record can
    show that a declaration left something out but cannot prove that a member without a record
    has nothing. The same holds for a visit: a grid worker sees the home, not the bank."""
    stated = [records[p] for p in person_ids if p in records]
    values: dict[str, Decimal | int] = {}
    provenance: dict[str, FactSource] = {}
    for fact in ASSET_FACTS:
        figures = [getattr(r, fact) for r in stated if getattr(r, fact) is not None]
        declared_value = getattr(declared, fact)
        if figures and sum(figures) > declared_value:
            values[fact], provenance[f"assets.{fact}"] = sum(figures), FactSource.RECORD
        else:
            values[fact], provenance[f"assets.{fact}"] = declared_value, source
    return Assets.model_validate(values), provenance
