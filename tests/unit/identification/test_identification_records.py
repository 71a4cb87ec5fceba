"""Reference records: the newest value of each fact wins, whatever order records arrive in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from support.loop import new_person

from events.monitoring import RecordReported
from services.identification.domain.records import FACTS, PersonRecord, merge_record

T0 = datetime(2026, 5, 1, tzinfo=UTC)
PERSON = new_person()


def reported(days: int, **facts: Any) -> RecordReported:
    return RecordReported(
        person_id=PERSON,
        source_department="human_resources",
        reported_at=T0 + timedelta(days=days),
        **facts,
    )


def merged(*records: RecordReported) -> PersonRecord:
    current: PersonRecord | None = None
    for record in records:
        current = merge_record(current, record)
    assert current is not None
    return current


def values(record: PersonRecord) -> dict[str, object]:
    return {f: getattr(record, f) for f in FACTS}


def test_a_first_record_states_what_it_knows_and_nothing_else() -> None:
    result = merged(reported(0, monthly_income=Decimal(2100), vehicles=0))
    assert values(result) == {
        "monthly_income": Decimal(2100),
        "deposits": None,
        "vehicles": 0,
        "residential_properties": None,
    }
    assert result.as_of == T0


def test_a_newer_record_replaces_the_facts_it_states_and_keeps_the_rest() -> None:
    result = merged(
        reported(0, monthly_income=Decimal(2100), deposits=Decimal(500)),
        reported(5, monthly_income=Decimal(3000)),
    )
    assert (result.monthly_income, result.deposits) == (Decimal(3000), Decimal(500))
    assert result.as_of == T0 + timedelta(days=5)


def test_an_older_record_fills_only_unknown_facts() -> None:
    result = merged(
        reported(5, monthly_income=Decimal(3000)),
        reported(0, monthly_income=Decimal(2100), deposits=Decimal(500)),
    )
    assert (result.monthly_income, result.deposits) == (Decimal(3000), Decimal(500))
    assert result.as_of == T0 + timedelta(days=5)


def test_each_fact_keeps_its_own_newest_value() -> None:
    # Income from day 9; deposits first from day 1 then from day 4: day 4 is the newer deposits,
    # although it arrives after a record (day 9) that is newer as a whole.
    result = merged(
        reported(9, monthly_income=Decimal(3000)),
        reported(1, deposits=Decimal(100)),
        reported(4, deposits=Decimal(400)),
    )
    assert (result.monthly_income, result.deposits) == (Decimal(3000), Decimal(400))


def test_a_record_of_the_same_instant_arriving_later_wins() -> None:
    result = merged(reported(3, vehicles=1), reported(3, vehicles=0))
    assert result.vehicles == 0


fact_values = {
    "monthly_income": st.integers(0, 10_000).map(Decimal),
    "deposits": st.integers(0, 10_000).map(Decimal),
    "vehicles": st.integers(0, 3),
    "residential_properties": st.integers(0, 3),
}
records = st.lists(
    st.tuples(
        st.integers(0, 60),  # day reported
        st.fixed_dictionaries({}, optional=fact_values).filter(bool),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda r: r[0],
)


@given(records=records, order=st.randoms(use_true_random=False))
def test_merge_keeps_the_newest_value_per_fact_in_any_arrival_order(
    records: list[tuple[int, dict[str, Any]]], order: Any
) -> None:
    arrival = list(records)
    order.shuffle(arrival)
    result = merged(*(reported(day, **facts) for day, facts in arrival))
    for fact in FACTS:
        stating = sorted((day, facts[fact]) for day, facts in records if fact in facts)
        expected = stating[-1][1] if stating else None
        assert getattr(result, fact) == expected, fact
    assert result.as_of == T0 + timedelta(days=max(day for day, _ in records))
