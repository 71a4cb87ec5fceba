"""Reference records about persons: the latest verified value of each fact wins."""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    as_of: datetime | None = None


FACTS = ("monthly_income", "deposits", "vehicles", "residential_properties")


def merge_record(current: PersonRecord | None, record: RecordReported) -> PersonRecord:
    """Fold one record in: a fact it states replaces an older value, never a newer one."""
    current = current or PersonRecord()
    if current.as_of is not None and record.reported_at < current.as_of:
        older = {f: getattr(record, f) for f in FACTS if getattr(current, f) is None}
        return replace(current, **{f: v for f, v in older.items() if v is not None})
    stated = {f: getattr(record, f) for f in FACTS if getattr(record, f) is not None}
    return replace(current, **stated, as_of=record.reported_at)
