"""Pure referral rules of this service alone: what each department may see of a household
(`need_to_know`, `disclosure`). Which programs it needs and what a re-screening changes in its
referrals are shared with the policy service's impact, in services/rules/."""

from services.referral.domain.disclosure import (
    ALLOWLIST,
    amended_payload,
    disclosed_fields,
    referral_payload,
)

__all__ = ["ALLOWLIST", "amended_payload", "disclosed_fields", "referral_payload"]
