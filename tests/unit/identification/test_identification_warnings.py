"""Policies finding people: which signals about an unknown person raise a risk warning."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.loop import CHONGQING, HANGZHOU, new_person

from events.monitoring import SignalReceived
from events.types import EMERGENCY_SIGNALS, SignalKind
from services.identification.domain.warnings import risk_warning
from services.rules.standards import PolicyBook

ON = date(2026, 6, 1)
BOOK = PolicyBook.load_default()
THRESHOLD = {HANGZHOU: Decimal(20000), CHONGQING: Decimal(15000)}
MEDICAL = SignalKind.MAJOR_MEDICAL_EXPENSE
PERSON = new_person()
VALUES: dict[SignalKind, dict[str, Any]] = {
    SignalKind.DISABILITY_CERTIFIED: {"grade": 1},
    SignalKind.INCOME_CHANGE: {"monthly_income": Decimal(0)},
}


def warning_for(kind: SignalKind, region: str, **values: Any) -> Any:
    signal = SignalReceived(
        kind=kind,
        person_id=PERSON,
        region_code=region,
        source_department="medical_security",
        **values,
    )
    return risk_warning(signal, BOOK.in_force(region, ON))


def test_the_regions_warning_amounts() -> None:
    for region, amount in THRESHOLD.items():
        assert BOOK.in_force(region, ON).medical_warning_amount == amount


@pytest.mark.parametrize("region", sorted(THRESHOLD))
@pytest.mark.parametrize(("offset", "warns"), [("-0.01", False), ("0", True), ("0.01", True)])
def test_medical_amount_at_and_around_the_regions_threshold(
    region: str, offset: str, warns: bool
) -> None:
    amount = THRESHOLD[region] + Decimal(offset)
    warning = warning_for(MEDICAL, region, amount=amount)
    assert (warning is not None) is warns
    if warning is not None:
        assert warning.threshold == THRESHOLD[region]
        assert str(amount) in warning.reason and str(THRESHOLD[region]) in warning.reason


def test_an_amount_that_warns_in_chongqing_stays_quiet_in_hangzhou() -> None:
    assert warning_for(MEDICAL, CHONGQING, amount=Decimal(17000)) is not None
    assert warning_for(MEDICAL, HANGZHOU, amount=Decimal(17000)) is None


@given(
    region=st.sampled_from(sorted(THRESHOLD)), cents=st.integers(min_value=0, max_value=10_000_000)
)
def test_medical_warns_exactly_from_the_threshold_up(region: str, cents: int) -> None:
    amount = Decimal(cents) / 100
    assert (warning_for(MEDICAL, region, amount=amount) is not None) is (
        amount >= THRESHOLD[region]
    )


@pytest.mark.parametrize("region", sorted(THRESHOLD))
@pytest.mark.parametrize("kind", sorted(EMERGENCY_SIGNALS))
def test_emergency_kinds_always_warn(kind: SignalKind, region: str) -> None:
    warning = warning_for(kind, region)
    assert warning is not None and kind.value in warning.reason
    assert warning.threshold is None


@pytest.mark.parametrize("region", sorted(THRESHOLD))
@pytest.mark.parametrize("kind", sorted(set(SignalKind) - EMERGENCY_SIGNALS - {MEDICAL}))
def test_other_kinds_never_warn(kind: SignalKind, region: str) -> None:
    assert warning_for(kind, region, **VALUES.get(kind, {})) is None
