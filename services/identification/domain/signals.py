"""What a monitoring signal changes in a known household's facts (domain.md's table)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from events.household import DatedExpense, HouseholdIdentified
from events.monitoring import SignalReceived
from events.types import EMERGENCY_SIGNALS, EmploymentStatus, ExpenseKind, FactSource, SignalKind
from services.identification.domain.expenses import evaluated, expenses_of

MEMBER_CHANGES: dict[SignalKind, Any] = {
    SignalKind.UNEMPLOYMENT_REGISTERED: lambda s: {
        "employment_status": EmploymentStatus.UNEMPLOYED,
        "monthly_income": Decimal(0),
    },
    SignalKind.DISABILITY_CERTIFIED: lambda s: {"disability_grade": s.grade},
    SignalKind.INCOME_CHANGE: lambda s: {"monthly_income": s.monthly_income},
    SignalKind.SCHOOL_ENROLLMENT: lambda s: {"in_school": True},
}


def bill_of(signal: SignalReceived, on: date) -> DatedExpense | None:
    """The medical bill a signal reports, dated on the signal's effective date."""
    if signal.kind is not SignalKind.MAJOR_MEDICAL_EXPENSE or not signal.amount:
        return None
    return DatedExpense(kind=ExpenseKind.MEDICAL, amount=signal.amount, on=on)


def apply_signal(
    facts: HouseholdIdentified, signal: SignalReceived, on: date
) -> HouseholdIdentified | None:
    """The household's facts after `signal`, which occurred on `on`; None if no member is left.

    They are evaluated at the later of `on` and the previous evaluation: a back-dated fact still
    counts where its window reaches that date (a bill for 12 months, an emergency for 90 days).
    """
    document = facts.model_dump()
    provenance = document["provenance"]
    expenses = expenses_of(facts, on)
    bill = bill_of(signal, on)
    if bill is not None:
        expenses.append(bill)
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
    return evaluated(HouseholdIdentified.model_validate(document), on, expenses)
