"""Between events and the pure domain: facts and classifications as the rules see them."""

from __future__ import annotations

from events.household import HouseholdClassified, HouseholdIdentified
from services.classification.domain.classify import Classification, RuleTrace
from services.classification.domain.facts import Emergency, HouseholdFacts, Member
from services.classification.domain.tags import Tag
from services.classification.domain.tiers import Tier


def facts_from_identified(household_id: str, identified: HouseholdIdentified) -> HouseholdFacts:
    """The facts of a HouseholdIdentified event, in the domain's terms."""
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
        medical_expenses_12m=identified.rigid_expenses_12m.medical,
        education_expenses_12m=identified.rigid_expenses_12m.education,
        dwelling_unsafe=identified.dwelling_unsafe,
        legal_supporter_able=identified.legal_supporter_able,
        emergencies=tuple(Emergency(kind=e.kind, on=e.on) for e in identified.emergencies),
    )


def classified_payload(
    classification: Classification, region_code: str, on: object
) -> HouseholdClassified:
    return HouseholdClassified.model_validate(
        {
            "region_code": region_code,
            "effective_date": on,
            "tier": classification.tier.value,
            "tags": [t.value for t in classification.tags],
            "policy_version": classification.policy_version,
            "rule_trace": classification.trace.as_dict(),
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
