"""Policies finding people: when a signal about an unknown person raises a risk warning."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from events.monitoring import SignalReceived
from events.types import EMERGENCY_SIGNALS, SignalKind
from services.rules.standards import RegionStandard


@dataclass(frozen=True, slots=True)
class Warning:
    reason: str
    threshold: Decimal | None = None


def risk_warning(signal: SignalReceived, standard: RegionStandard) -> Warning | None:
    """The warning this signal raises in its region, or None when it stays below the threshold."""
    if signal.kind in EMERGENCY_SIGNALS:
        return Warning(f"{signal.kind.value}: an emergency always raises a warning")
    if signal.kind is SignalKind.MAJOR_MEDICAL_EXPENSE and signal.amount is not None:
        threshold = standard.medical_warning_amount
        if signal.amount >= threshold:
            return Warning(
                f"major_medical_expense {signal.amount} >= the region's warning amount {threshold}",
                threshold,
            )
    return None
