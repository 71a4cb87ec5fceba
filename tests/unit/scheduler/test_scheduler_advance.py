"""Where an advance moves a manual clock, and which advances are refused (naming the field)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.scheduler.domain.advance import AdvanceRefused, advance_target

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


def test_to_a_date_is_its_midnight_in_the_deployment_zone() -> None:
    target = advance_target(NOW, SHANGHAI, to=date(2027, 1, 1))
    assert target == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert target.astimezone(SHANGHAI).isoformat() == "2027-01-01T00:00:00+08:00"


def test_tomorrow_is_after_now_but_today_is_not() -> None:
    assert advance_target(NOW, SHANGHAI, to=date(2026, 6, 2)) > NOW
    with pytest.raises(AdvanceRefused) as refused:
        advance_target(NOW, SHANGHAI, to=date(2026, 6, 1))
    assert refused.value.field == "to"
    assert "2026-06-01 is not after the clock's current time 2026-06-01T09:30:00+08:00" in str(
        refused.value
    )


def test_days_keep_the_time_of_day() -> None:
    target = advance_target(NOW, SHANGHAI, days=365)
    assert target.astimezone(SHANGHAI).isoformat() == "2027-06-01T09:30:00+08:00"


def test_calendar_days_across_a_daylight_saving_change() -> None:
    paris = ZoneInfo("Europe/Paris")
    before = datetime(2026, 3, 28, 9, 0, tzinfo=paris)  # DST starts 2026-03-29
    assert advance_target(before, paris, days=1).astimezone(paris).hour == 9


@pytest.mark.parametrize(
    ("to", "days", "field"),
    [(None, None, "to"), (date(2027, 1, 1), 3, "to"), (None, 0, "days"), (None, -2, "days")],
)
def test_neither_both_or_not_forward_is_refused(
    to: date | None, days: int | None, field: str
) -> None:
    with pytest.raises(AdvanceRefused) as refused:
        advance_target(NOW, SHANGHAI, to=to, days=days)
    assert refused.value.field == field
