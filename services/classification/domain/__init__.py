"""Pure classification rules: facts in, tier, tags and trace out (no I/O, no clock)."""

from services.classification.domain.classify import Classification, RuleTrace, classify
from services.classification.domain.dates import (
    NextDate,
    birthday_crossing,
    next_date_that_matters,
)
from services.classification.domain.facts import (
    EMERGENCY_KINDS,
    Emergency,
    Expense,
    HouseholdFacts,
    Member,
    age_on,
    expense_sums,
)
from services.classification.domain.tags import Tag, tag_members, tags_of
from services.classification.domain.tiers import RuleCheck, Tier, check_tiers, tier_of

__all__ = [
    "EMERGENCY_KINDS",
    "Classification",
    "Emergency",
    "Expense",
    "HouseholdFacts",
    "Member",
    "NextDate",
    "RuleCheck",
    "RuleTrace",
    "Tag",
    "Tier",
    "age_on",
    "birthday_crossing",
    "check_tiers",
    "classify",
    "expense_sums",
    "next_date_that_matters",
    "tag_members",
    "tags_of",
    "tier_of",
]
