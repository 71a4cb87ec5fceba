"""Calendar arithmetic the rules over time share (windows, reviews, kept signals)."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, clamped to the month's last day
    (31 Aug + 6 = 28 Feb; 29 Feb + 12 = 28 Feb)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
