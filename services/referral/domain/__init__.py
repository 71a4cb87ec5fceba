"""Pure referral rules: which programs a household needs, what each department may see, and
what a re-screening changes in a household's referrals (`reconcile`)."""

from events.types import Program
from services.referral.domain.disclosure import (
    ALLOWLIST,
    amended_payload,
    disclosed_fields,
    referral_payload,
)
from services.referral.domain.programs import (
    EMERGENCY_GROUNDED,
    PROGRAM_DEPARTMENT,
    Need,
    charity_linkage_need,
    needed_programs,
    referral_due_at,
)
from services.referral.domain.reconcile import (
    Amendment,
    AnsweredGround,
    OpenReferral,
    ReferralPlan,
    reconcile,
)

__all__ = [
    "ALLOWLIST",
    "EMERGENCY_GROUNDED",
    "PROGRAM_DEPARTMENT",
    "Amendment",
    "AnsweredGround",
    "Need",
    "OpenReferral",
    "Program",
    "ReferralPlan",
    "amended_payload",
    "charity_linkage_need",
    "disclosed_fields",
    "needed_programs",
    "reconcile",
    "referral_due_at",
    "referral_payload",
]
