"""Open and overdue referrals per department, folded from the chain.

The console folds assist.chain itself rather than asking feedback, so that "which department is
late" is answered even while feedback is down. Only the four referral events are read; the rest
of the chain is skipped without decoding, by the event type its record header names. Pure:
`now` is passed in by whoever shows the board.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from events.types import FINAL_OUTCOMES, Department, EventType
from services.runtime.messages import Inbound, Outbound

_WANTED = {
    EventType.REFERRAL_ISSUED.value,
    EventType.REFERRAL_WITHDRAWN.value,
    EventType.REFERRAL_OUTCOME_REPORTED.value,
    EventType.REFERRAL_OVERDUE.value,
}
_FINAL = {outcome.value for outcome in FINAL_OUTCOMES}


@dataclass
class ReferralState:
    department: str
    due_at: datetime
    final: bool = False
    overdue: bool = False  # feedback said so (ReferralOverdue on the chain)

    def late(self, now: datetime) -> bool:
        """Past its due date without a final answer, whether or not feedback has said so yet."""
        return not self.final and (self.overdue or self.due_at < now)


@dataclass(frozen=True)
class DepartmentLoad:
    department: str
    open: int
    overdue: int


class ReferralBoard:
    """A stream handler over assist.chain; it produces nothing."""

    def __init__(self) -> None:
        self.referrals: dict[str, ReferralState] = {}
        self.unreadable = 0

    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        if message.event_type in _WANTED:  # the header's (an older record: found in its bytes)
            self._observe(message.value)
        return []

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []

    def _observe(self, value: bytes | None) -> None:
        try:
            document = json.loads(value or b"")
            if document["event_type"] in _WANTED:
                self._fold(str(document["event_type"]), document["payload"])
        except (ValueError, KeyError, TypeError):
            # The chain writer validated every chain event; a bad one is not ours to refuse.
            self.unreadable += 1

    def _fold(self, event_type: str, payload: dict[str, object]) -> None:
        referral_id = str(payload["referral_id"])
        if event_type == EventType.REFERRAL_ISSUED.value:
            if referral_id not in self.referrals:
                self.referrals[referral_id] = ReferralState(
                    department=Department(str(payload["department"])).value,
                    due_at=datetime.fromisoformat(str(payload["due_at"])),
                )
            return
        state = self.referrals.get(referral_id)
        if state is None:
            return
        if event_type == EventType.REFERRAL_WITHDRAWN.value:
            state.final = True
        elif event_type == EventType.REFERRAL_OUTCOME_REPORTED.value:
            state.final = state.final or str(payload["outcome"]) in _FINAL
        elif event_type == EventType.REFERRAL_OVERDUE.value:
            state.overdue = True

    def by_department(self, now: datetime) -> list[DepartmentLoad]:
        """Every department, in the order of the catalog, with its open and late referrals."""
        open_: dict[str, int] = {d.value: 0 for d in Department}
        late: dict[str, int] = {d.value: 0 for d in Department}
        for state in self.referrals.values():
            if not state.final:
                open_[state.department] += 1
                late[state.department] += state.late(now)
        return [DepartmentLoad(d, open_[d], late[d]) for d in open_]
