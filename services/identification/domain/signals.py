"""What a monitoring signal changes in a known household's facts (domain.md's table)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from events.household import HouseholdIdentified
from events.monitoring import SignalReceived
from events.types import EMERGENCY_SIGNALS, EmploymentStatus, FactSource, SignalKind

MEMBER_CHANGES: dict[SignalKind, Any] = {
    SignalKind.UNEMPLOYMENT_REGISTERED: lambda s: {
        "employment_status": EmploymentStatus.UNEMPLOYED,
        "monthly_income": Decimal(0),
    },
    SignalKind.DISABILITY_CERTIFIED: lambda s: {"disability_grade": s.grade},
    SignalKind.INCOME_CHANGE: lambda s: {"monthly_income": s.monthly_income},
    SignalKind.SCHOOL_ENROLLMENT: lambda s: {"in_school": True},
}


def apply_signal(
    facts: HouseholdIdentified, signal: SignalReceived, on: date
) -> HouseholdIdentified | None:
    """The household's facts after `signal`, which occurred on `on`; None if no member is left."""
    document = facts.model_dump()
    provenance = document["provenance"]
    if signal.kind is SignalKind.MAJOR_MEDICAL_EXPENSE:
        document["rigid_expenses_12m"]["medical"] += signal.amount or Decimal(0)
        provenance["rigid_expenses_12m.medical"] = FactSource.RECORD
    elif signal.kind is SignalKind.DEATH_OF_MEMBER:
        document["members"] = [m for m in document["members"] if m["person_id"] != signal.person_id]
    elif signal.kind in MEMBER_CHANGES:
        changes = MEMBER_CHANGES[signal.kind](signal)
        for member in document["members"]:
            if member["person_id"] == signal.person_id:
                member.update(changes)
                for name in changes:
                    provenance[f"members[{signal.person_id}].{name}"] = FactSource.RECORD
    if signal.kind in EMERGENCY_SIGNALS:
        document["emergencies"].append({"kind": signal.kind, "on": on})
    if not document["members"]:
        return None
    document["trigger"] = f"signal:{signal.kind.value}"
    return HouseholdIdentified.model_validate(document)
