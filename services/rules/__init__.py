"""The assistance rules every service judges by (spec/domain.md, spec/over-time.md).

Pure: no Kafka, no HTTP, no clock, no I/O. Several services apply the same rules (the
classification service classifies, referral plans referrals, policy re-screens every household
under a proposed version, identification and the scheduler date what they watch), so the rules
live here, once, and no service imports another's modules.

* `standards`, `versions`, `calendar`: the policy book, its versions in force, month arithmetic;
* `facts`, `tiers`, `tags`, `classify`, `dates`: a household's facts, tier, tags, and the next
  date that changes its judgment;
* `programs`, `reconcile`, `referral_ledger`: the programs it needs, what a re-screening changes
  in its referrals, and the referrals it holds as the chain tells them;
* `translation`: between the events and these terms.
"""

from services.rules.classify import Classification, RuleTrace, classify
from services.rules.dates import NextDate, birthday_crossing, next_date_that_matters
from services.rules.facts import (
    EMERGENCY_KINDS,
    Emergency,
    Expense,
    HouseholdFacts,
    Member,
    age_on,
    expense_sums,
)
from services.rules.standards import NoStandardInForce, PolicyBook, RegionStandard, UnknownRegion
from services.rules.tags import Tag, tag_members, tags_of
from services.rules.tiers import RuleCheck, Tier, check_tiers, tier_of

__all__ = [
    "EMERGENCY_KINDS",
    "Classification",
    "Emergency",
    "Expense",
    "HouseholdFacts",
    "Member",
    "NextDate",
    "NoStandardInForce",
    "PolicyBook",
    "RegionStandard",
    "RuleCheck",
    "RuleTrace",
    "Tag",
    "Tier",
    "UnknownRegion",
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
