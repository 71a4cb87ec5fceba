"""Policy data: regional standards by version, departments and their service levels."""

from events.types import Department
from services.policy.standards import NoStandardInForce, PolicyBook, RegionStandard, UnknownRegion

__all__ = ["Department", "NoStandardInForce", "PolicyBook", "RegionStandard", "UnknownRegion"]
