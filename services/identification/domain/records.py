"""Reference records about persons: the latest verified value of each fact wins."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from events.monitoring import RecordReported


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """What the records say about one person; None where no source has said anything."""

    monthly_income: Decimal | None = None
    deposits: Decimal | None = None
    vehicles: int | None = None
    residential_properties: int | None = None
    # When each fact was stated: sources report different facts at different times, so one
    # timestamp for the whole record would let an older value beat a newer one.
    stated_at: dict[str, datetime] = field(default_factory=dict, hash=False)

    @property
    def as_of(self) -> datetime | None:
        """When the newest fact was reported."""
        return max(self.stated_at.values(), default=None)


FACTS = ("monthly_income", "deposits", "vehicles", "residential_properties")


def merge_record(current: PersonRecord | None, record: RecordReported) -> PersonRecord:
    """Fold one record in: a fact it states replaces an older value, never a newer one."""
    current = current or PersonRecord()
    newer = {
        f: getattr(record, f)
        for f in FACTS
        if getattr(record, f) is not None
        and (f not in current.stated_at or record.reported_at >= current.stated_at[f])
    }
    stated_at = current.stated_at | {f: record.reported_at for f in newer}
    return replace(current, **newer, stated_at=stated_at)
