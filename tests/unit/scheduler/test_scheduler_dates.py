"""A household's next date that matters: its own, or a policy version's when earlier."""

from __future__ import annotations

import uuid
from datetime import date

from hypothesis import given
from hypothesis import strategies as st
from unit.scheduler.scheduler_events import CHILD, next_date

from events.types import RescreeningReason
from services.rules.standards import PolicyBook, shipped_proposal
from services.scheduler.domain.dates import Evaluation, next_due

BOOK = PolicyBook.load_default()


def with_version(on: date, name: str = "next") -> PolicyBook:
    proposal = shipped_proposal().model_copy(update={"policy_version": name, "effective_from": on})
    return BOOK.with_version(proposal)


def evaluation(evaluated: date, own: date | None) -> Evaluation:
    return Evaluation("330100", evaluated, next_date(own) if own else None, uuid.uuid4())


def test_the_households_own_date_without_versions() -> None:
    due = next_due(evaluation(date(2026, 9, 1), date(2027, 3, 10)), BOOK)
    assert due is not None
    assert (due.on, due.reason, due.policy_version) == (
        date(2027, 3, 10),
        RescreeningReason.BIRTHDAY,
        None,
    )
    assert due.payload().person_id == CHILD


def test_no_date_at_all() -> None:
    assert next_due(evaluation(date(2026, 9, 1), None), BOOK) is None


def test_a_date_covered_by_a_rescreening_is_not_due() -> None:
    household = evaluation(date(2026, 9, 1), date(2027, 3, 10))
    assert next_due(household, BOOK, covered_up_to=date(2027, 3, 10)) is None
    assert next_due(household, BOOK, covered_up_to=date(2027, 3, 9)) is not None


@given(
    evaluated=st.dates(date(2026, 1, 1), date(2028, 12, 31)),
    own=st.none() | st.dates(date(2026, 1, 1), date(2029, 12, 31)),
    version=st.dates(date(2026, 1, 2), date(2029, 12, 31)),
)
def test_the_earlier_of_the_own_date_and_the_first_version_after_the_evaluation(
    evaluated: date, own: date | None, version: date
) -> None:
    if own is not None and own <= evaluated:
        own = None  # classification names dates strictly after the evaluation
    due = next_due(evaluation(evaluated, own), with_version(version))
    candidates = [d for d in (own, version if version > evaluated else None) if d is not None]
    if not candidates:
        assert due is None
        return
    assert due is not None
    assert due.on == min(candidates)
    if version == due.on:
        assert (due.reason, due.policy_version) == (RescreeningReason.POLICY_VERSION, "next")
        assert due.also == ((RescreeningReason.BIRTHDAY,) if own == version else ())
    else:
        assert due.reason is RescreeningReason.BIRTHDAY


def test_only_the_first_version_after_the_evaluation_counts() -> None:
    book = with_version(date(2027, 1, 1), "a").with_version(
        shipped_proposal().model_copy(
            update={"policy_version": "b", "effective_from": date(2027, 2, 1)}
        )
    )
    due = next_due(evaluation(date(2026, 9, 1), None), book)
    assert due is not None and due.policy_version == "a"
    due = next_due(evaluation(date(2027, 1, 1), None), book)
    assert due is not None and due.policy_version == "b"
