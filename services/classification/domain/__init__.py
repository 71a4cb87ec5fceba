"""Pure classification rules: facts in, tier, tags and trace out (no I/O, no clock)."""

from services.classification.domain.classify import Classification, RuleTrace, classify
from services.classification.domain.facts import (
    EMERGENCY_KINDS,
    Emergency,
    HouseholdFacts,
    Member,
    age_on,
)
from services.classification.domain.tags import Tag, tag_members, tags_of
from services.classification.domain.tiers import RuleCheck, Tier, check_tiers, tier_of

__all__ = [
    "EMERGENCY_KINDS",
    "Classification",
    "Emergency",
    "HouseholdFacts",
    "Member",
    "RuleCheck",
    "RuleTrace",
    "Tag",
    "Tier",
    "age_on",
    "check_tiers",
    "classify",
    "tag_members",
    "tags_of",
    "tier_of",
]
