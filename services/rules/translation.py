"""Between events and the pure domain: facts and classifications as the rules see them."""

from __future__ import annotations

from datetime import date

from events.household import (
    DatedExpense,
    HouseholdClassified,
    HouseholdIdentified,
    NextRescreening,
)
from events.household import Emergency as EmergencyPart
from services.rules.classify import Classification, RuleTrace
from services.rules.dates import NextDate
from services.rules.facts import (
    Emergency,
    Expense,
    HouseholdFacts,
    Member,
    expense_sums,
)
from services.rules.tags import Tag
from services.rules.tiers import Tier


def facts_from_identified(
    household_id: str, identified: HouseholdIdentified, on: date | None = None
) -> HouseholdFacts:
    """The facts of a HouseholdIdentified event, in the domain's terms, at the date `on`.

    With dated expenses, the 12-month sums are those at `on` (by default the event's
    evaluated_on); an event without them, or without any date, keeps the sums it states.
    """
    expenses = (
        None
        if identified.expenses is None
        else tuple(Expense(kind=e.kind, amount=e.amount, on=e.on) for e in identified.expenses)
    )
    stated = identified.rigid_expenses_12m
    medical, education = stated.medical, stated.education
    at = on or identified.evaluated_on
    if expenses is not None and at is not None:
        medical, education = expense_sums(expenses, at)
    return HouseholdFacts(
        household_id=household_id,
        region_code=identified.region_code,
        members=tuple(
            Member(
                person_id=m.person_id,
                name=m.name,
                birth_date=m.birth_date,
                relation=m.relation,
                monthly_income=m.monthly_income,
                labour_capacity=m.labour_capacity,
                employment_status=m.employment_status,
                disability_grade=m.disability_grade,
                in_school=m.in_school,
                chronic_illness=m.chronic_illness,
                orphan=m.orphan,
                parents_unable_to_support=m.parents_unable_to_support,
                left_behind=m.left_behind,
            )
            for m in identified.members
        ),
        deposits=identified.assets.deposits,
        vehicles=identified.assets.vehicles,
        residential_properties=identified.assets.residential_properties,
        medical_expenses_12m=medical,
        education_expenses_12m=education,
        dwelling_unsafe=identified.dwelling_unsafe,
        legal_supporter_able=identified.legal_supporter_able,
        emergencies=tuple(Emergency(kind=e.kind, on=e.on) for e in identified.emergencies),
        expenses=expenses,
    )


def next_rescreening(next_date: NextDate | None) -> NextRescreening | None:
    """A date that matters as the HouseholdClassified payload names it."""
    if next_date is None:
        return None
    e, x = next_date.emergency, next_date.expense
    return NextRescreening(
        on=next_date.on,
        reason=next_date.reason,
        person_id=next_date.person_id,
        age=next_date.age,
        emergency=None if e is None else EmergencyPart(kind=e.kind, on=e.on),
        expense=None if x is None else DatedExpense(kind=x.kind, amount=x.amount, on=x.on),
        also=list(next_date.also),
    )


def classified_payload(
    classification: Classification,
    region_code: str,
    on: date,
    next_date: NextDate | None = None,
) -> HouseholdClassified:
    return HouseholdClassified.model_validate(
        {
            "region_code": region_code,
            "effective_date": on,
            "tier": classification.tier.value,
            "tags": [t.value for t in classification.tags],
            "policy_version": classification.policy_version,
            "rule_trace": classification.trace.as_dict(),
            "next_rescreening": next_rescreening(next_date),
        }
    )


def classification_from_event(event: HouseholdClassified) -> Classification:
    """A classification as read back from the chain (the trace keeps its numbers, not checks)."""
    trace = event.rule_trace
    return Classification(
        tier=Tier(event.tier),
        tags=tuple(sorted(Tag(t) for t in event.tags)),
        policy_version=event.policy_version,
        trace=RuleTrace(
            decided_by=str(trace.get("decided_by", "")),
            numbers={str(k): str(v) for k, v in trace.get("numbers", {}).items()},
            checks=(),
        ),
    )
