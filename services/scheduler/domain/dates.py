"""A household's next date that matters, as the scheduler fires it.

Classification computes the date the household's own facts make matter (birthdays,
emergencies and expenses leaving their windows, periodic review) into
HouseholdClassified.next_rescreening. The scheduler adds the effective date of the first
approved policy version after the evaluation date, and the earlier of the two is due. A date
that a re-screening has already covered (a RescreeningDue on that date or later, seen on the
chain or just emitted) does not fire again: the household then waits for the classification
that re-screening brings, which names the date after it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from events.household import NextRescreening
from events.schedule import RescreeningDue
from events.types import RescreeningReason
from services.rules.standards import PolicyBook


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What a household's latest HouseholdClassified says about its dates."""

    region_code: str
    evaluated_on: date  # HouseholdClassified.effective_date
    next_rescreening: NextRescreening | None
    classified_event_id: uuid.UUID  # the cause of the re-screening it leads to


@dataclass(frozen=True, slots=True)
class DueDate:
    """A date that matters and why; `cause` names the member, emergency or expense."""

    on: date
    reason: RescreeningReason
    cause: NextRescreening | None = None
    policy_version: str | None = None
    also: tuple[RescreeningReason, ...] = ()

    def payload(self) -> RescreeningDue:
        cause = self.cause
        return RescreeningDue(
            reason=self.reason,
            on=self.on,
            person_id=cause.person_id if cause else None,
            age=cause.age if cause else None,
            emergency=cause.emergency if cause else None,
            expense=cause.expense if cause else None,
            policy_version=self.policy_version,
            also=list(self.also),
        )


def next_due(
    evaluation: Evaluation, book: PolicyBook, covered_up_to: date | None = None
) -> DueDate | None:
    """The household's next date that matters, or None when there is none to fire.

    `covered_up_to` is the latest date of a RescreeningDue seen or emitted for it: a date on
    or before it is covered by that re-screening, whose classification is awaited.
    """
    own = evaluation.next_rescreening
    later = book.versions_after(evaluation.evaluated_on)
    version = later[0] if later else None
    due: DueDate | None
    if version is not None and (own is None or version.effective_from <= own.on):
        # A version taking effect names the re-screening (over-time.md: "every open household
        # is re-screened under it"); the household's own reason on that date goes into `also`.
        same_day = own is not None and own.on == version.effective_from
        due = DueDate(
            on=version.effective_from,
            reason=RescreeningReason.POLICY_VERSION,
            cause=own if same_day else None,
            policy_version=version.policy_version,
            also=(own.reason, *own.also) if own is not None and same_day else (),
        )
    elif own is not None:
        due = DueDate(on=own.on, reason=own.reason, cause=own, also=tuple(own.also))
    else:
        due = None
    if due is None or (covered_up_to is not None and due.on <= covered_up_to):
        return None
    return due
