"""Data comparison before classification: records win, large income gaps need a visit."""

from __future__ import annotations

from collections.abc import Mapping
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
    """Resolve declared facts against records. A visit's facts are verified: records do not
    override them, and they raise no discrepancy."""
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
    assets = _assets(declaration, records, source, provenance)
    return Comparison(members, assets, provenance, discrepancies)


def _assets(
    declaration: HouseholdDeclaration,
    records: Mapping[str, PersonRecord],
    source: FactSource,
    provenance: dict[str, FactSource],
) -> Assets:
    """Household assets: the declaration, raised to what the members' records show.

    Records are per person and the declaration is per household, so a record can show that a
    declaration left something out, but cannot prove that a member without a record has nothing:
    the larger of the two is kept."""
    declared = declaration.assets
    values: dict[str, Decimal | int] = {}
    for fact in ("deposits", "vehicles", "residential_properties"):
        stated = [
            getattr(records[m.person_id], fact)
            for m in declaration.members
            if m.person_id in records and getattr(records[m.person_id], fact) is not None
        ]
        declared_value = getattr(declared, fact)
        if source is FactSource.VISIT or not stated or sum(stated) <= declared_value:
            values[fact] = declared_value
            provenance[f"assets.{fact}"] = source
        else:
            values[fact] = sum(stated)
            provenance[f"assets.{fact}"] = FactSource.RECORD
    return Assets.model_validate(values)
