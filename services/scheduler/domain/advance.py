"""Where an operator's advance moves a manual clock: to a date's midnight, or N days on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo


class AdvanceRefused(ValueError):
    """An advance that would not move the clock forward, or says neither or both ways."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def advance_target(
    previous: datetime, zone: tzinfo, *, to: date | None = None, days: int | None = None
) -> datetime:
    """The clock's new time (UTC): midnight of `to` in `zone`, or `days` calendar days after
    `previous` (the same time of day in `zone`). Never `previous` or before."""
    if to is not None and days is not None:
        raise AdvanceRefused("to", "give either a date (to) or a number of days (days), not both")
    if to is not None:
        target = datetime(to.year, to.month, to.day, tzinfo=zone)
        if target <= previous:
            now = previous.astimezone(zone).isoformat()
            raise AdvanceRefused(
                "to", f"{to.isoformat()} is not after the clock's current time {now}"
            )
        return target.astimezone(UTC)
    if days is None:
        raise AdvanceRefused("to", "give a date (to) or a number of days (days)")
    if days < 1:
        raise AdvanceRefused("days", "must be at least 1: the clock never goes back")
    # Calendar days in the zone's wall time, so "days: 1" from 09:00 is 09:00 the next day.
    return (previous.astimezone(zone) + timedelta(days=days)).astimezone(UTC)
