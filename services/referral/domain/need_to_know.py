"""Need-to-know, per program: which members and which fields each program's department receives,
and why. One table, `NEED_TO_KNOW`; `disclosure.py` enforces it on every referral (issued,
amended, transferred), and the README prints it.

A row names:
* `members`: which of the members a need concerns are disclosed at all (`Who`). A member not
  chosen never appears; the rest of the household is one number, `members_concerned`, where
  the row allows it;
* `member_fields`: the attributes disclosed of each chosen member (`person_id` and `name`
  identify a member; a row without them discloses no member);
* `grounds`: the facts of the need the department may read (beyond `BASE_GROUNDS`);
* `reason`: why the department needs exactly that.

charity_linkage discloses no member: a charitable organisation is not a government body
(PIPL Art. 23), so it gets an anonymised reference of the household (`household_ref`, a keyed
pseudonym) and the facts of the need, never a resident id, a name or a birth date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from events.types import Department, EmploymentStatus, Program, Relation
from services.rules.facts import HouseholdFacts, Member
from services.rules.programs import PROGRAM_DEPARTMENT, WORKING_AGE
from services.rules.tags import ADULT_AGE, LEFT_BEHIND_AGE
from services.rules.tiers import ELDERLY_AGE

# Every referral says under which tier, policy version and rule it was issued.
BASE_GROUNDS: Final = frozenset({"tier", "policy_version", "rule"})
# How many members the need concerns: computed at disclosure, for the rows that list it.
MEMBERS_CONCERNED: Final = "members_concerned"
# What identifies a disclosed member; a row that discloses members lists both.
IDENTITY: Final = frozenset({"person_id", "name"})
# The member attributes a referral can carry at all (events.referral.ReferredMember).
MEMBER_ATTRIBUTES: Final = IDENTITY | frozenset(
    {
        "birth_date",
        "in_school",
        "disability_grade",
        "chronic_illness",
        "employment_status",
        "labour_capacity",
        "monthly_income",
        "orphan",
        "parents_unable_to_support",
        "left_behind",
    }
)
# The figures of a need, as the push table grounds them: what charity may read of any need.
NEED_FIGURES: Final = frozenset(
    {
        "per_capita_income",
        "dibao_standard",
        "household_size",
        "medical_expenses_12m",
        "chronically_ill_members",
        "education_expenses_12m",
        "dwelling_unsafe",
        "emergency_kind",
        "emergency_on",
        "disaster_on",
        "tag",
    }
)


CHILD_AGES: Final = range(ADULT_AGE)  # "under 18"
YOUNG_CHILD_AGES: Final = range(LEFT_BEHIND_AGE)  # "under 16"
ELDER_AGES: Final = range(ELDERLY_AGE, 200)  # "aged 60 or more"


class Who(StrEnum):
    """Which of the members a need concerns its department sees (the value says so in words)."""

    EVERY_MEMBER = "every member"
    CONTACT = "the head of household (if none is recorded, the eldest member)"
    PUPILS = "members in school"
    JOBSEEKERS = "unemployed members aged 16-59 with labour capacity"
    SEVERELY_DISABLED = "members with disability grade 1 or 2"
    DISABLED = "members with a disability grade"
    ORPHANS = "members under 18 flagged orphan"
    UNSUPPORTED_CHILDREN = "members under 18 whose parents cannot support them"
    LEFT_BEHIND_CHILDREN = "members under 16 whose parents both work away"
    ELDER_ALONE = "the only member of the household, aged 60 or more"
    NOBODY = "no member: an anonymised reference of the household"

    def select(
        self, members: Sequence[Member], facts: HouseholdFacts, on: date | None = None
    ) -> list[Member]:
        """The members of `members` (those a need concerns) this rule discloses, in order.
        Ages are judged at `on` (the evaluation date the need was grounded on); without it,
        only the other conditions are."""
        if self is Who.NOBODY:
            return []
        if self is Who.EVERY_MEMBER:
            return list(members)
        if self is Who.CONTACT:
            return _contact(members)
        if self is Who.ELDER_ALONE and len(facts.members) != 1:
            return []
        test, ages = _MEMBER_RULES[self]
        return [m for m in members if test(m) and (on is None or m.age_on(on) in ages)]


def _contact(members: Sequence[Member]) -> list[Member]:
    """The head of household (the first one listed); if none is head, the eldest member."""
    heads = [m for m in members if m.relation is Relation.HEAD]
    if heads or not members:
        return heads[:1]
    eldest = min(m.birth_date for m in members)
    return [next(m for m in members if m.birth_date == eldest)]


def _jobless(m: Member) -> bool:
    return m.employment_status is EmploymentStatus.UNEMPLOYED and m.has_labour_capacity


_ANY_AGE: Final = range(200)

# The rules that judge each member on their own: a condition, and the ages it applies at.
_MEMBER_RULES: Final[Mapping[Who, tuple[Callable[[Member], bool], range]]] = MappingProxyType(
    {
        Who.PUPILS: (lambda m: m.in_school, _ANY_AGE),
        Who.JOBSEEKERS: (_jobless, WORKING_AGE),
        Who.SEVERELY_DISABLED: (lambda m: m.disability_grade in (1, 2), _ANY_AGE),
        Who.DISABLED: (lambda m: m.disabled, _ANY_AGE),
        Who.ORPHANS: (lambda m: m.orphan, CHILD_AGES),
        Who.UNSUPPORTED_CHILDREN: (lambda m: m.parents_unable_to_support, CHILD_AGES),
        Who.LEFT_BEHIND_CHILDREN: (lambda m: m.left_behind, YOUNG_CHILD_AGES),
        Who.ELDER_ALONE: (lambda m: True, ELDER_AGES),
    }
)


@dataclass(frozen=True)
class NeedToKnow:
    """What one program's department receives of a household, and why."""

    department: Department
    members: Who
    member_fields: frozenset[str]
    grounds: frozenset[str]  # beyond BASE_GROUNDS
    reason: str

    @property
    def all_grounds(self) -> frozenset[str]:
        return BASE_GROUNDS | self.grounds


def _row(
    program: Program, members: Who, member_fields: set[str], grounds: set[str], reason: str
) -> tuple[Program, NeedToKnow]:
    fields = frozenset(member_fields) | (IDENTITY if members is not Who.NOBODY else frozenset())
    return program, NeedToKnow(
        PROGRAM_DEPARTMENT[program], members, fields, frozenset(grounds), " ".join(reason.split())
    )


_INCOME_TEST = {"per_capita_income", "dibao_standard", "household_size"}

NEED_TO_KNOW: Final[Mapping[Program, NeedToKnow]] = MappingProxyType(
    dict(
        [
            _row(
                Program.EXTREME_POVERTY_SUPPORT,
                Who.EVERY_MEMBER,
                {"birth_date", "monthly_income", "labour_capacity", "disability_grade"},
                _INCOME_TEST,
                """Support is paid to each member, and the program's test is per person: aged 60
                or more, under 16 or disabled, without labour capacity, without income. Civil
                affairs enrols each supported person by resident id and confirms exactly those
                four facts; employment, schooling and health records are not part of it.""",
            ),
            _row(
                Program.MINIMUM_LIVING_ALLOWANCE,
                Who.EVERY_MEMBER,
                {"birth_date", "monthly_income"},
                _INCOME_TEST,
                """The allowance is (D - pci) x N: every member is counted and paid for, each
                verified by resident id; the means test sums each member's income, and age
                decides the review (working age) and the supplements for children and the
                elderly. Labour capacity, employment, disability, illness and schooling are
                not part of the test (pci < D and assets).""",
            ),
            _row(
                Program.MEDICAL_ASSISTANCE,
                Who.EVERY_MEMBER,
                {"chronic_illness"},
                {"medical_expenses_12m", "chronically_ill_members"},
                """Medical assistance subsidises each member's basic medical insurance and
                reimburses self-paid costs per insured person: the medical insurance office
                finds each member by resident id in its own enrolment and claims records (which
                also hold the birth date). A chronic illness is the program's own ground. Income,
                deposits, disability grade, schooling and employment are not its concern.""",
            ),
            _row(
                Program.EDUCATION_ASSISTANCE,
                Who.PUPILS,
                {"birth_date", "in_school"},
                {"education_expenses_12m"},
                """Aid is per pupil and by school stage: the education bureau finds the pupil in
                the student register by resident id, and the birth date gives the stage. The
                other members and the household's incomes are not its concern.""",
            ),
            _row(
                Program.HOUSING_ASSISTANCE,
                Who.CONTACT,
                set(),
                {"dwelling_unsafe", MEMBERS_CONCERNED},
                """The program concerns the dwelling: its case file is opened on one applicant,
                the head of household (the eldest member if none is recorded as head), who is
                the contact for the inspection and the works; how many people live there sets
                the area and subsidy standard. The other members' names, ids and
                circumstances are not needed.""",
            ),
            _row(
                Program.EMPLOYMENT_ASSISTANCE,
                Who.JOBSEEKERS,
                {"birth_date", "labour_capacity", "employment_status"},
                set(),
                """Job placement, training and public-welfare posts are for the person: the
                unemployed members of working age with labour capacity, found in the employment
                register by resident id; age and capacity (full or partial) decide which posts
                fit. The other members and the household's money are not its concern.""",
            ),
            _row(
                Program.TEMPORARY_ASSISTANCE,
                Who.CONTACT,
                set(),
                {"emergency_kind", "emergency_on", MEMBERS_CONCERNED},
                """One payment to the household for an emergency: civil affairs contacts the
                head of household, and the amount is scaled by the number of people. The
                emergency's kind and date are the ground; no member's details are needed.""",
            ),
            _row(
                Program.DISASTER_RELIEF,
                Who.CONTACT,
                set(),
                {"disaster_on", MEMBERS_CONCERNED},
                """Shelter and supplies go to the household: the head is the contact, the
                number of people sizes the supplies, the disaster's date is the ground. No
                member's details, incomes or health are needed.""",
            ),
            _row(
                Program.DISABILITY_NURSING_SUBSIDY,
                Who.SEVERELY_DISABLED,
                {"disability_grade"},
                {"tag"},
                """Paid to the severely disabled person (grade 1 or 2), whom the federation
                finds in the disability certificate register by resident id; the grade decides
                the subsidy. Other members, incomes and age are not its concern.""",
            ),
            _row(
                Program.DISABILITY_LIVING_SUBSIDY,
                Who.DISABLED,
                {"disability_grade"},
                {"tag"},
                """Paid to each disabled member of a DIBAO or MARGINAL household (the tier is in
                the referral), found in the certificate register by resident id; the grade
                decides it. Other members and incomes are not its concern.""",
            ),
            _row(
                Program.ORPHAN_BASIC_LIVING,
                Who.ORPHANS,
                {"birth_date", "orphan"},
                {"tag"},
                """Paid for each orphaned child until 18: the child, their age and the orphan
                status, nothing of the rest of the household.""",
            ),
            _row(
                Program.UNSUPPORTED_CHILD_ALLOWANCE,
                Who.UNSUPPORTED_CHILDREN,
                {"birth_date", "parents_unable_to_support"},
                {"tag"},
                """Paid for each child under 18 whose parents cannot support them: the child,
                their age and that status. The parents' circumstances stay with the case
                officer's own assessment.""",
            ),
            _row(
                Program.CHILD_CARE_SERVICE,
                Who.LEFT_BEHIND_CHILDREN,
                {"birth_date", "left_behind", "in_school"},
                {"tag"},
                """Care visits for each left-behind child under 16: the child, their age, and
                whether they are in school (the care officer works through the school, or brings
                a child who left back to it).""",
            ),
            _row(
                Program.ELDERLY_MEAL_ASSISTANCE,
                Who.ELDER_ALONE,
                {"birth_date"},
                {"tag"},
                """Meals for the elder who lives alone: the person and their age. Income,
                health and disability are not needed to serve a meal.""",
            ),
            _row(
                Program.CHARITY_LINKAGE,
                Who.NOBODY,
                set(),
                {"declined_program", "declined_by", "decline_reason", MEMBERS_CONCERNED}
                | NEED_FIGURES,
                """A charitable organisation is not a government body (PIPL Art. 23): without
                the household's separate consent it gets no resident id, name or birth date of
                anyone. It gets an anonymised reference (household_ref, a keyed pseudonym it
                cannot reverse, the same for each of the household's referrals), the region,
                the tier, how many people the need concerns, the program a department declined
                and that need's figures: enough to decide what it can give. It answers by
                referral id; civil affairs, who can re-identify the household, brings them
                together once the household consents.""",
            ),
        ]
    )
)
