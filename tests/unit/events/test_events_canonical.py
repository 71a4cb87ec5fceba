from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from support.factories import application_event, member

from events.canonical import canonical_json
from events.codec import DecodeError, decode_event
from events.household import ApplicationReceived


def test_canonical_json_sorts_keys_and_has_no_whitespace() -> None:
    assert (
        canonical_json({"b": 1, "a": {"d": "x", "c": [1, 2]}}) == b'{"a":{"c":[1,2],"d":"x"},"b":1}'
    )


def test_canonical_json_keeps_unicode_as_utf8() -> None:
    assert canonical_json({"name": "李伟"}) == '{"name":"李伟"}'.encode()


def test_canonical_json_refuses_floats() -> None:
    with pytest.raises(TypeError, match="floats"):
        canonical_json({"amount": 1.5})


def test_event_round_trips_byte_for_byte() -> None:
    event = application_event()
    data = event.to_bytes()
    again = decode_event(data)
    assert again == event
    assert again.to_bytes() == data


def test_round_trip_keeps_zone_and_decimal_form() -> None:
    zone = timezone(timedelta(hours=8))
    event = application_event(
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=zone),
        members=[member(1, monthly_income="1240.50")],
    )
    again = decode_event(event.to_bytes())
    assert again.occurred_at.utcoffset() == timedelta(hours=8)
    assert isinstance(again.payload, ApplicationReceived)
    assert again.payload.members[0].monthly_income == Decimal("1240.50")
    assert b'"monthly_income":"1240.50"' in again.to_bytes()


def test_money_is_never_a_float_on_the_wire() -> None:
    assert b'"monthly_income":"0"' in application_event().to_bytes()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda d: d["payload"]["members"][0].update(monthly_income="-1"),
            "payload.members.0.monthly_income",
        ),
        (
            lambda d: d["payload"]["members"][0].update(person_id="110101199003070000"),
            "payload.members.0.person_id",
        ),
        (lambda d: d["payload"].update(region_code="33010"), "payload.region_code"),
        (lambda d: d["payload"].update(members=[]), "payload.members"),
        (lambda d: d["payload"].update(channel="fax"), "payload.channel"),
        (lambda d: d.update(occurred_at="2026-01-01T00:00:00"), "occurred_at"),
        (lambda d: d.update(event_type="Nonsense"), "event_type"),
        (lambda d: d["payload"].update(surprise=1), "payload.surprise"),
    ],
)
def test_invalid_events_are_refused_naming_the_field(change, field) -> None:  # type: ignore[no-untyped-def]
    document = application_event().to_document()
    change(document)
    with pytest.raises(DecodeError) as error:
        decode_event(canonical_json(document))
    assert field in str(error.value)


def test_garbage_is_refused_with_a_reason() -> None:
    with pytest.raises(DecodeError, match="not JSON"):
        decode_event(b"\x00\xffnot json")
    with pytest.raises(DecodeError, match="expected a JSON object"):
        decode_event(b"[1,2]")


def test_events_are_immutable() -> None:
    event = application_event()
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error
        event.household_id = "other"  # type: ignore[misc]
    assert event.recorded_at.tzinfo is UTC or event.recorded_at.utcoffset() == timedelta(0)
