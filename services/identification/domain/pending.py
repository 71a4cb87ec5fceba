"""Signals kept until their person's household is identified (over-time.md).

Two kinds are kept: a signal about a member of a household that waits for its first home
visit (every kind, applied in order once the visit identifies it), and a signal that raised no
warning about a person of no known household (kept 12 months from its date, applied when the
person's household is identified within them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from events.envelope import Envelope
from events.monitoring import SignalReceived
from services.identification.domain.expenses import WINDOW_MONTHS
from services.rules.calendar import add_months


@dataclass(frozen=True, slots=True)
class KeptSignal:
    """A signal held back, the event that brought it, and its effective date."""

    event: Envelope
    signal: SignalReceived
    on: date
    until: date | None = None  # the last date it may still be applied on; None: no limit

    def usable_on(self, day: date) -> bool:
        return self.until is None or day <= self.until


def stray(event: Envelope, signal: SignalReceived, on: date) -> KeptSignal:
    """A quiet signal about a person of no known household: kept for 12 months."""
    return KeptSignal(event, signal, on, add_months(on, WINDOW_MONTHS))


def kept_with(kept: Sequence[KeptSignal], new: KeptSignal) -> list[KeptSignal]:
    """A person's kept signals with `new` added, less those whose time ran out before the
    newest date seen (time only moves forward, so they could never be applied)."""
    latest = max([new.on, *(k.on for k in kept)])
    return [k for k in [*kept, new] if k.usable_on(latest)]


def usable(kept: Iterable[KeptSignal], day: date) -> list[KeptSignal]:
    return [k for k in kept if k.usable_on(day)]
