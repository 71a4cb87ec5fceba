"""Pure referral rules: which programs a household needs, and what each department may see."""

from events.types import Program
from services.referral.domain.disclosure import ALLOWLIST, disclosed_fields, referral_payload
from services.referral.domain.programs import (
    PROGRAM_DEPARTMENT,
    Need,
    charity_linkage_need,
    needed_programs,
    referral_due_at,
)

__all__ = [
    "ALLOWLIST",
    "PROGRAM_DEPARTMENT",
    "Need",
    "Program",
    "charity_linkage_need",
    "disclosed_fields",
    "needed_programs",
    "referral_due_at",
    "referral_payload",
]
