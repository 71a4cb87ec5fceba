"""Intake's checks: every refusal of domain.md's "Identity and bad input" names the field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from support.loop import POLICY, declaration, member, new_person

from events.identity import check_character
from events.types import SignalKind
from services.intake.requests import (
    ApplicationRequest,
    RecordRequest,
    SignalRequest,
    VisitRequest,
)
from services.runtime.errors import field_path

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CONTEXT = {"policy": POLICY, "now": NOW}
PERSON = new_person()


def refused(model: type[BaseModel], data: dict[str, Any]) -> dict[str, str]:
    """field -> message of every problem; a check across fields names its field first."""
    with pytest.raises(ValidationError) as error:
        model.model_validate(data, context=CONTEXT)
    problems = {}
    for e in error.value.errors():
        field, message = field_path(e["loc"]), e["msg"].removeprefix("Value error, ")
        if field == "body" and ": " in message:
            field, message = message.split(": ", 1)
        problems[field] = message
    return problems


def accepted(model: type[BaseModel], data: dict[str, Any]) -> Any:
    return model.model_validate(data, context=CONTEXT)


def bad_check_character(person_id: str) -> str:
    wrong = next(c for c in "0123456789X" if c != check_character(person_id[:17]))
    return person_id[:17] + wrong


def signal_body(kind: str, **values: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "person_id": PERSON,
        "region_code": "330100",
        "source_department": "medical_security",
        "occurred_at": NOW.isoformat(),
        **values,
    }


def record_body(**facts: Any) -> dict[str, Any]:
    return {
        "person_id": PERSON,
        "source_department": "human_resources",
        "recorded_at": NOW.isoformat(),
        **facts,
    }


def test_a_good_application_is_accepted() -> None:
    application = accepted(ApplicationRequest, declaration([member(), member(relation="spouse")]))
    assert len(application.members) == 2 and application.household_id is None


def test_an_invalid_resident_id_names_the_member_and_the_field() -> None:
    first = member()
    first["person_id"] = bad_check_character(first["person_id"])
    problems = refused(ApplicationRequest, declaration([first]))
    assert set(problems) == {"members[0].person_id"}
    assert "check character" in problems["members[0].person_id"]


@pytest.mark.parametrize(
    "person_id",
    ["12345", "33010019800517001", "3301001980051700x", "330100198013170011", "33010019800517001A"],
)
def test_every_malformed_resident_id_is_refused(person_id: str) -> None:
    assert set(refused(ApplicationRequest, declaration([member(person_id=person_id)]))) == {
        "members[0].person_id"
    }


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({"members": [member(income="-1")]}, "members[0].monthly_income"),
        ({"assets": {"deposits": "-0.01"}}, "assets.deposits"),
        ({"rigid_expenses_12m": {"medical": "-5"}}, "rigid_expenses_12m.medical"),
        ({"assets": {"vehicles": -1}}, "assets.vehicles"),
    ],
)
def test_a_negative_amount_names_the_field(facts: dict[str, Any], field: str) -> None:
    members = facts.pop("members", [member()])
    assert field in refused(ApplicationRequest, declaration(members, **facts))


def test_an_unknown_region_names_the_field() -> None:
    problems = refused(ApplicationRequest, declaration([member()], region="999999"))
    assert problems == {"region_code": "unknown region '999999'"}


def test_a_future_birth_date_names_the_member() -> None:
    born = member(date(2026, 6, 2), relation="child")
    problems = refused(ApplicationRequest, declaration([member(), born]))
    assert "members[1].birth_date" in problems and "future" in problems["members[1].birth_date"]


def test_a_birth_date_is_judged_against_the_applications_own_date() -> None:
    born = member(date(2026, 5, 1), relation="child")
    early = NOW - timedelta(days=60)
    problems = refused(ApplicationRequest, declaration([born], occurred_at=early.isoformat()))
    assert "members[0].birth_date" in problems
    assert accepted(ApplicationRequest, declaration([born]))


def test_a_household_without_members_names_the_field() -> None:
    assert "members" in refused(ApplicationRequest, declaration([]))


def test_the_same_person_twice_in_one_household_names_the_second() -> None:
    head = member()
    twin = dict(head, relation="spouse")
    problems = refused(ApplicationRequest, declaration([head, twin]))
    assert problems == {"members[1].person_id": "listed twice in one household"}


@pytest.mark.parametrize("model", [ApplicationRequest, VisitRequest])
def test_an_application_in_the_future_is_refused(model: type[BaseModel]) -> None:
    body = declaration(
        [member()], occurred_at=(NOW + timedelta(hours=1)).isoformat(), visitor="grid-worker-1"
    )
    if model is ApplicationRequest:
        del body["visitor"]
    assert refused(model, body) == {"occurred_at": "is in the future"}


def test_on_a_manual_clock_standing_still_what_already_happened_is_not_the_future() -> None:
    """The system's clock stands still between advances; the real world's does not."""
    happened = (NOW + timedelta(hours=3)).isoformat()
    body = declaration([member()], occurred_at=happened)
    assert refused(ApplicationRequest, body) == {"occurred_at": "is in the future"}
    wall = NOW + timedelta(hours=4)
    accepted = ApplicationRequest.model_validate(body, context={**CONTEXT, "wall": wall})
    assert accepted.occurred_at == NOW + timedelta(hours=3)
    later = declaration([member()], occurred_at=(wall + timedelta(hours=1)).isoformat())
    with pytest.raises(ValidationError, match="in the future"):
        ApplicationRequest.model_validate(later, context={**CONTEXT, "wall": wall})


def test_a_little_clock_skew_is_not_the_future() -> None:
    body = declaration([member()], occurred_at=(NOW + timedelta(minutes=4)).isoformat())
    assert accepted(ApplicationRequest, body).occurred_at is not None


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("major_medical_expense", {"amount": "25000"}),
        ("disability_certified", {"grade": 2}),
        ("income_change", {"monthly_income": "0"}),
        *(
            (k.value, {})
            for k in SignalKind
            if k.value not in {"major_medical_expense", "disability_certified", "income_change"}
        ),
    ],
)
def test_each_signal_kind_with_its_field_is_accepted(kind: str, values: dict[str, Any]) -> None:
    signal = accepted(SignalRequest, signal_body(kind, **values))
    assert signal.payload().kind.value == kind


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("major_medical_expense", "amount"),
        ("disability_certified", "grade"),
        ("income_change", "monthly_income"),
    ],
)
def test_a_signal_missing_its_kinds_field_names_it(kind: str, field: str) -> None:
    problems = refused(SignalRequest, signal_body(kind))
    assert problems == {field: f"required for a {kind} signal"}


@pytest.mark.parametrize(
    ("kind", "values", "field"),
    [
        ("major_medical_expense", {"amount": "1", "grade": 2}, "grade"),
        ("income_change", {"monthly_income": "1", "amount": "5"}, "amount"),
        ("disaster", {"monthly_income": "100"}, "monthly_income"),
        ("unemployment_registered", {"amount": "100"}, "amount"),
    ],
)
def test_a_signal_carrying_another_kinds_field_names_it(
    kind: str, values: dict[str, Any], field: str
) -> None:
    problems = refused(SignalRequest, signal_body(kind, **values))
    assert problems == {field: f"not part of a {kind} signal"}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"person_id": "330100198005170010"}, "person_id"),
        ({"region_code": "123456"}, "region_code"),
        ({"amount": "-1"}, "amount"),
        ({"occurred_at": (NOW + timedelta(days=1)).isoformat()}, "occurred_at"),
        ({"occurred_at": "2026-06-01T12:00:00"}, "occurred_at"),  # no zone
    ],
)
def test_a_bad_signal_names_the_field(values: dict[str, Any], field: str) -> None:
    body = signal_body("major_medical_expense", amount="100") | values
    assert field in refused(SignalRequest, body)


def test_a_record_stating_nothing_is_refused_naming_what_it_may_state() -> None:
    [message] = refused(RecordRequest, record_body()).values()
    for fact in ("monthly_income", "deposits", "vehicles", "residential_properties"):
        assert fact in message


def test_a_record_in_the_future_names_the_field() -> None:
    body = record_body(deposits="5", recorded_at=(NOW + timedelta(hours=1)).isoformat())
    assert refused(RecordRequest, body) == {"recorded_at": "is in the future"}


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({"deposits": "-1"}, "deposits"),
        ({"vehicles": -1}, "vehicles"),
        ({"monthly_income": "1", "salary": "2"}, "salary"),
    ],
)
def test_a_bad_record_names_the_field(facts: dict[str, Any], field: str) -> None:
    assert field in refused(RecordRequest, record_body(**facts))


def test_a_good_record_becomes_its_event_payload() -> None:
    record = accepted(RecordRequest, record_body(monthly_income="2100", vehicles=0))
    payload = record.payload()
    assert (payload.person_id, str(payload.monthly_income), payload.vehicles, payload.deposits) == (
        PERSON,
        "2100",
        0,
        None,
    )
    assert payload.reported_at == NOW
