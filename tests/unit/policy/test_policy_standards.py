"""Versioned regional standards: the packaged sample data and the version in force on a date."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from events.types import Department
from services.rules import NoStandardInForce, PolicyBook, UnknownRegion
from services.rules.standards import RegionStandard

SERVICE_LEVELS = {
    "civil_affairs": 10,
    "medical_security": 10,
    "education": 15,
    "housing": 30,
    "human_resources": 15,
    "emergency_management": 3,
    "disabled_persons_federation": 20,
    "charity": 15,
}


def region(code: str = "330100", d: str = "1240", **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "region_code": code,
        "name": f"region {code}",
        "dibao_standard": d,
        "prior_year_disposable_income": "77000",
        "marginal_multiplier": "1.5",
        "asset_months": 24,
        "medical_warning_amount": "20000",
    }
    return values | overrides


def version(name: str, start: str, *regions: dict[str, Any]) -> dict[str, Any]:
    return {"policy_version": name, "effective_from": start, "regions": list(regions)}


def policy(*versions: dict[str, Any], levels: dict[str, int] | None = None) -> str:
    levels = SERVICE_LEVELS if levels is None else levels
    return json.dumps({"service_level_days": levels, "versions": list(versions)})


# Listed out of order on purpose: the book sorts versions by their effective date.
THREE_VERSIONS = policy(
    version("2027-01", "2027-01-01", region("330100", "1350")),
    version("2026-01", "2026-01-01", region("330100", "1240"), region("500000", "800")),
    version("2026-07", "2026-07-01", region("330100", "1300")),
)


@pytest.fixture(scope="module")
def default() -> PolicyBook:
    return PolicyBook.load_default()


@pytest.mark.parametrize(
    ("code", "name", "d", "income", "warning"),
    [
        ("330100", "Hangzhou", "1240", "77000", "20000"),
        ("500000", "Chongqing", "800", "37000", "15000"),
        ("370100", "Jinan", "1000", "50000", "20000"),
        ("110000", "Beijing", "1450", "85000", "30000"),
    ],
)
def test_default_book_holds_the_sample_regions(
    default: PolicyBook, code: str, name: str, d: str, income: str, warning: str
) -> None:
    standard = default.in_force(code, date(2026, 6, 1))
    assert standard.name == name
    assert standard.dibao_standard == Decimal(d)
    assert standard.prior_year_disposable_income == Decimal(income)
    assert standard.marginal_multiplier == Decimal("1.5")
    assert standard.asset_months == 24
    assert standard.medical_warning_amount == Decimal(warning)
    assert standard.policy_version == "2026-01"
    assert isinstance(standard.dibao_standard, Decimal)


def test_default_book_knows_exactly_the_sample_regions(default: PolicyBook) -> None:
    assert default.region_codes == {"330100", "500000", "370100", "110000"}
    assert default.knows_region("330100")
    assert not default.knows_region("999999")


@pytest.mark.parametrize(("department", "days"), sorted(SERVICE_LEVELS.items()))
def test_default_service_levels(default: PolicyBook, department: str, days: int) -> None:
    assert default.service_level_days(department) == days
    assert default.service_level_days(Department(department)) == days


def test_unknown_department_is_refused(default: PolicyBook) -> None:
    with pytest.raises(ValueError, match="nowhere"):
        default.service_level_days("nowhere")


def test_load_default_is_loaded_once(default: PolicyBook) -> None:
    assert PolicyBook.load_default() is default


def test_department_ids_are_those_of_the_domain() -> None:
    assert {d.value for d in Department} == set(SERVICE_LEVELS)


def test_derived_lines(default: PolicyBook) -> None:
    standard = default.in_force("330100", date(2026, 1, 1))
    assert standard.marginal_line == Decimal("1860")
    assert standard.asset_limit_per_person == Decimal("29760")


def test_unknown_region_is_refused(default: PolicyBook) -> None:
    with pytest.raises(UnknownRegion, match="999999") as caught:
        default.in_force("999999", date(2026, 6, 1))
    assert caught.value.region_code == "999999"


def test_a_date_before_every_version_has_no_standard(default: PolicyBook) -> None:
    with pytest.raises(NoStandardInForce, match="2026-01-01") as caught:
        default.in_force("330100", date(2025, 12, 31))
    assert caught.value.earliest == date(2026, 1, 1)
    assert caught.value.on == date(2025, 12, 31)


@pytest.mark.parametrize(
    ("on", "expected_version", "d"),
    [
        (date(2026, 1, 1), "2026-01", "1240"),
        (date(2026, 6, 30), "2026-01", "1240"),
        (date(2026, 7, 1), "2026-07", "1300"),
        (date(2026, 12, 31), "2026-07", "1300"),
        (date(2027, 1, 1), "2027-01", "1350"),
        (date(2040, 1, 1), "2027-01", "1350"),
    ],
)
def test_the_version_in_force_at_the_date_wins(on: date, expected_version: str, d: str) -> None:
    standard = PolicyBook.from_json(THREE_VERSIONS).in_force("330100", on)
    assert standard.policy_version == expected_version
    assert standard.effective_from <= on
    assert standard.dibao_standard == Decimal(d)


def test_a_region_absent_from_later_versions_keeps_its_last_version() -> None:
    standard = PolicyBook.from_json(THREE_VERSIONS).in_force("500000", date(2030, 1, 1))
    assert standard.policy_version == "2026-01"


def test_a_region_added_later_has_no_standard_before_it() -> None:
    book = PolicyBook.from_json(
        policy(
            version("v1", "2026-01-01", region("330100")),
            version("v2", "2026-07-01", region("110000")),
        )
    )
    with pytest.raises(NoStandardInForce):
        book.in_force("110000", date(2026, 6, 30))
    assert book.in_force("110000", date(2026, 7, 1)).policy_version == "v2"


def test_standards_are_frozen(default: PolicyBook) -> None:
    standard = default.in_force("330100", date(2026, 6, 1))
    with pytest.raises(ValidationError):
        standard.dibao_standard = Decimal(1)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (policy(version("v", "2026-01-01", region(dibao_standard=1240.5))), "strings"),
        (policy(version("v", "2026-01-01", region(d="-1"))), "greater than 0"),
        (policy(version("v", "2026-01-01", region(d="NaN"))), "finite"),
        (policy(version("v", "2026-01-01", region(marginal_multiplier="0.9"))), "greater than"),
        (policy(version("v", "2026-01-01", region(asset_months=-1))), "greater than"),
        (policy(version("v", "2026-01-01", region("33010"))), "pattern"),
        (policy(version("v", "2026-01-01", region(), region())), "listed twice"),
        (policy(version("v", "2026-01-01")), "at least 1"),
        (policy(), "at least 1"),
        (
            policy(version("v", "2026-01-01", region()), version("v", "2026-02-01", region())),
            "unique",
        ),
        (
            policy(version("a", "2026-01-01", region()), version("b", "2026-01-01", region())),
            "same date",
        ),
        (
            policy(version("v", "2026-01-01", region()), levels={"civil_affairs": 10}),
            "lacks departments",
        ),
        (
            policy(version("v", "2026-01-01", region()), levels=SERVICE_LEVELS | {"police": 3}),
            "police",
        ),
        (
            policy(version("v", "2026-01-01", region()), levels=SERVICE_LEVELS | {"housing": 0}),
            "greater than 0",
        ),
        (policy(version("v", "2026-01-01", region(extra="x"))), "Extra inputs"),
    ],
)
def test_bad_policy_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PolicyBook.from_json(text)


def test_amounts_keep_their_cents() -> None:
    book = PolicyBook.from_json(policy(version("v", "2026-01-01", region(d="1240.35"))))
    assert book.in_force("330100", date(2026, 1, 1)).dibao_standard == Decimal("1240.35")


STARTS = [date(2026, 1, 1), date(2026, 7, 1), date(2027, 1, 1)]


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_in_force_is_the_latest_version_started_on_or_before_the_date(on: date) -> None:
    book = PolicyBook.from_json(THREE_VERSIONS)
    started = [s for s in STARTS if s <= on]
    if not started:
        with pytest.raises(NoStandardInForce):
            book.in_force("330100", on)
        return
    standard: RegionStandard = book.in_force("330100", on)
    assert standard.effective_from == max(started)
    assert book.in_force("330100", on + timedelta(days=1)).effective_from >= max(started)
