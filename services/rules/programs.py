"""Push according to needs: which programs a classified household lacks, for whom, and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Final

from events.types import Department, EmploymentStatus, Program, SignalKind
from services.rules.classify import Classification
from services.rules.facts import Emergency, HouseholdFacts
from services.rules.standards import PolicyBook
from services.rules.tags import Tag, tag_members
from services.rules.tiers import Tier, recent_emergencies

WORKING_AGE: Final = range(16, 60)  # "aged 16-59", both ends included


PROGRAM_DEPARTMENT: Final[Mapping[Program, Department]] = MappingProxyType(
    {
        Program.EXTREME_POVERTY_SUPPORT: Department.CIVIL_AFFAIRS,
        Program.MINIMUM_LIVING_ALLOWANCE: Department.CIVIL_AFFAIRS,
        Program.MEDICAL_ASSISTANCE: Department.MEDICAL_SECURITY,
        Program.EDUCATION_ASSISTANCE: Department.EDUCATION,
        Program.HOUSING_ASSISTANCE: Department.HOUSING,
        Program.EMPLOYMENT_ASSISTANCE: Department.HUMAN_RESOURCES,
        Program.TEMPORARY_ASSISTANCE: Department.CIVIL_AFFAIRS,
        Program.DISASTER_RELIEF: Department.EMERGENCY_MANAGEMENT,
        Program.DISABILITY_NURSING_SUBSIDY: Department.DISABLED_PERSONS_FEDERATION,
        Program.DISABILITY_LIVING_SUBSIDY: Department.DISABLED_PERSONS_FEDERATION,
        Program.ORPHAN_BASIC_LIVING: Department.CIVIL_AFFAIRS,
        Program.UNSUPPORTED_CHILD_ALLOWANCE: Department.CIVIL_AFFAIRS,
        Program.CHILD_CARE_SERVICE: Department.CIVIL_AFFAIRS,
        Program.ELDERLY_MEAL_ASSISTANCE: Department.CIVIL_AFFAIRS,
        Program.CHARITY_LINKAGE: Department.CHARITY,
    }
)

ISSUED_WHEN: Final[Mapping[Program, str]] = MappingProxyType(
    {
        Program.EXTREME_POVERTY_SUPPORT: "tier EXTREMELY_POOR",
        Program.MINIMUM_LIVING_ALLOWANCE: "tier DIBAO",
        Program.MEDICAL_ASSISTANCE: (
            "tier EXTREMELY_POOR or DIBAO; or tier MARGINAL / RIGID_EXPENDITURE "
            "with medical expenses > 0 or a chronically ill member"
        ),
        Program.EDUCATION_ASSISTANCE: (
            "tier in {EXTREMELY_POOR, DIBAO, MARGINAL, RIGID_EXPENDITURE} and a member in school"
        ),
        Program.HOUSING_ASSISTANCE: (
            "tier in {EXTREMELY_POOR, DIBAO, MARGINAL} and the dwelling is unsafe"
        ),
        Program.EMPLOYMENT_ASSISTANCE: (
            "tier in {DIBAO, MARGINAL, RIGID_EXPENDITURE} and a member aged 16-59 "
            "with labour capacity who is unemployed"
        ),
        Program.TEMPORARY_ASSISTANCE: "tier TEMPORARY",
        Program.DISASTER_RELIEF: "a disaster in the last 90 days",
        Program.DISABILITY_NURSING_SUBSIDY: "tag SEVERELY_DISABLED",
        Program.DISABILITY_LIVING_SUBSIDY: "tag DISABLED_IN_DIFFICULTY",
        Program.ORPHAN_BASIC_LIVING: "tag ORPHAN",
        Program.UNSUPPORTED_CHILD_ALLOWANCE: "tag UNSUPPORTED_CHILD",
        Program.CHILD_CARE_SERVICE: "tag LEFT_BEHIND_CHILD",
        Program.ELDERLY_MEAL_ASSISTANCE: "tag ELDERLY_ALONE",
        Program.CHARITY_LINKAGE: "a department declined a referral as not_covered",
    }
)

TAG_PROGRAM: Final[Mapping[Tag, Program]] = MappingProxyType(
    {
        Tag.SEVERELY_DISABLED: Program.DISABILITY_NURSING_SUBSIDY,
        Tag.DISABLED_IN_DIFFICULTY: Program.DISABILITY_LIVING_SUBSIDY,
        Tag.ORPHAN: Program.ORPHAN_BASIC_LIVING,
        Tag.UNSUPPORTED_CHILD: Program.UNSUPPORTED_CHILD_ALLOWANCE,
        Tag.LEFT_BEHIND_CHILD: Program.CHILD_CARE_SERVICE,
        Tag.ELDERLY_ALONE: Program.ELDERLY_MEAL_ASSISTANCE,
    }
)

MEDICAL_ALWAYS: Final = frozenset({Tier.EXTREMELY_POOR, Tier.DIBAO})
MEDICAL_IF_COSTS: Final = frozenset({Tier.MARGINAL, Tier.RIGID_EXPENDITURE})
EDUCATION_TIERS: Final = frozenset(
    {Tier.EXTREMELY_POOR, Tier.DIBAO, Tier.MARGINAL, Tier.RIGID_EXPENDITURE}
)
HOUSING_TIERS: Final = frozenset({Tier.EXTREMELY_POOR, Tier.DIBAO, Tier.MARGINAL})
EMPLOYMENT_TIERS: Final = frozenset({Tier.DIBAO, Tier.MARGINAL, Tier.RIGID_EXPENDITURE})


# Programs each emergency grounds anew (over-time.md): a second disaster after the first one's
# relief was delivered is a new need, and the referral lives only as long as its emergency.
EMERGENCY_GROUNDED: Final = frozenset({Program.TEMPORARY_ASSISTANCE, Program.DISASTER_RELIEF})


@dataclass(frozen=True)
class Need:
    """A program the household lacks: who it concerns and the facts that justify it."""

    program: Program
    department: Department
    members: tuple[str, ...]  # person ids concerned
    grounds: dict[str, str]
    # The emergency that grounds a program of EMERGENCY_GROUNDED, as `kind@date`; None for
    # the other programs, whose ground is the program itself.
    ground: str | None = None


def emergency_ground(emergency: Emergency) -> str:
    """The identity of an emergency as a ground: `disaster@2026-06-01`."""
    return f"{emergency.kind.value}@{emergency.on.isoformat()}"


def _need(
    program: Program,
    members: tuple[str, ...],
    c: Classification,
    ground: str | None = None,
    **grounds: str,
) -> Need:
    base = {"tier": c.tier.value, "policy_version": c.policy_version, "rule": ISSUED_WHEN[program]}
    return Need(program, PROGRAM_DEPARTMENT[program], members, base | grounds, ground)


def needed_programs(
    facts: HouseholdFacts, classification: Classification, on: date
) -> dict[Program, Need]:
    """Every program of the push table the classification grounds, except charity_linkage."""
    c, tier = classification, classification.tier
    everyone = tuple(m.person_id for m in facts.members)
    numbers = c.trace.numbers
    needs: list[Need] = []

    income_grounds = {
        "per_capita_income": numbers["pci"],
        "dibao_standard": numbers["D"],
        "household_size": numbers["N"],
    }
    if tier is Tier.EXTREMELY_POOR:
        needs.append(_need(Program.EXTREME_POVERTY_SUPPORT, everyone, c, **income_grounds))
    if tier is Tier.DIBAO:
        needs.append(_need(Program.MINIMUM_LIVING_ALLOWANCE, everyone, c, **income_grounds))

    chronic = tuple(m.person_id for m in facts.members if m.chronic_illness)
    medical_costs = facts.medical_expenses_12m > 0
    if tier in MEDICAL_ALWAYS or (tier in MEDICAL_IF_COSTS and (medical_costs or chronic)):
        needs.append(
            _need(
                Program.MEDICAL_ASSISTANCE,
                everyone,
                c,
                medical_expenses_12m=numbers["medical_expenses_12m"],
                chronically_ill_members=str(len(chronic)),
            )
        )

    pupils = tuple(m.person_id for m in facts.members if m.in_school)
    if tier in EDUCATION_TIERS and pupils:
        needs.append(
            _need(
                Program.EDUCATION_ASSISTANCE,
                pupils,
                c,
                education_expenses_12m=numbers["education_expenses_12m"],
            )
        )

    if tier in HOUSING_TIERS and facts.dwelling_unsafe:
        needs.append(_need(Program.HOUSING_ASSISTANCE, everyone, c, dwelling_unsafe="true"))

    jobless = tuple(
        m.person_id
        for m in facts.members
        if m.age_on(on) in WORKING_AGE
        and m.has_labour_capacity
        and m.employment_status is EmploymentStatus.UNEMPLOYED
    )
    if tier in EMPLOYMENT_TIERS and jobless:
        needs.append(_need(Program.EMPLOYMENT_ASSISTANCE, jobless, c))

    recent = recent_emergencies(facts, on)
    if tier is Tier.TEMPORARY:
        if not recent:
            raise ValueError(f"tier TEMPORARY, but no emergency in the 90 days up to {on}")
        # The latest emergency grounds it: one that happens while the referral is open amends
        # it, one after its final answer is a new need.
        latest = recent[0]
        needs.append(
            _need(
                Program.TEMPORARY_ASSISTANCE,
                everyone,
                c,
                emergency_ground(latest),
                emergency_kind=latest.kind.value,
                emergency_on=latest.on.isoformat(),
            )
        )
    disasters = [e for e in recent if e.kind is SignalKind.DISASTER]
    if disasters:
        latest = disasters[0]
        needs.append(
            _need(
                Program.DISASTER_RELIEF,
                everyone,
                c,
                emergency_ground(latest),
                disaster_on=latest.on.isoformat(),
            )
        )

    needs += _tag_needs(facts, c, on)
    return {n.program: n for n in needs}


def _tag_needs(facts: HouseholdFacts, c: Classification, on: date) -> list[Need]:
    grounded = tag_members(facts, c.tier, on)
    needs = []
    for tag in c.tags:
        members = grounded.get(tag)
        if not members:
            # The tags were computed from other facts or another date than the ones given here.
            raise ValueError(
                f"classification has tag {tag.value}, but no member of the facts grounds it on {on}"
            )
        needs.append(_need(TAG_PROGRAM[tag], members, c, tag=tag.value))
    return needs


def charity_linkage_need(
    declined_program: Program,
    declined_by: Department,
    members: tuple[str, ...],
    classification: Classification,
) -> Need:
    """The charity referral that follows a department declining a referral as not_covered."""
    return _need(
        Program.CHARITY_LINKAGE,
        members,
        classification,
        declined_program=declined_program.value,
        declined_by=declined_by.value,
        decline_reason="not_covered",
    )


def referral_due_at(
    issued_at: datetime, department: Department, book: PolicyBook, on: date | None = None
) -> datetime:
    """When the referral is issued plus the department's service-level days, under the policy
    version in force on `on` (the issuing date in the household's region; by default the
    date of `issued_at` as given)."""
    if issued_at.utcoffset() is None:
        raise ValueError("the issuing time must be zone-aware")
    days = book.service_level_days(department, issued_at.date() if on is None else on)
    return issued_at + timedelta(days=days)
