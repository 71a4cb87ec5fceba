"""The answer form: what was typed, read by the API's own rules, errors beside their fields."""

from __future__ import annotations

import re
from decimal import Decimal

from events.feedback import FeedbackBody
from events.referral import Delivered
from events.types import Department, Outcome
from services.feedback.answer_form import KEY_MAX_CHARS, FieldError, Typed, read, render


def typed(**values: str) -> Typed:
    return Typed.from_form({k.replace("__", "."): v for k, v in values.items()} | {"x": "?"})


def errors_of(form: Typed) -> list[FieldError]:
    read_back = read(form)
    assert isinstance(read_back, list), read_back
    return read_back


def test_what_was_typed_becomes_the_apis_body() -> None:
    body = read(typed(outcome="DELIVERED", delivered__cash_amount=" 740.50 ", note="given"))
    assert body == FeedbackBody(
        outcome=Outcome.DELIVERED,
        delivered=Delivered(cash_amount=Decimal("740.50")),
        note="given",
    )
    # Empty fields are not sent: choosing "accept" with an empty amount is an acceptance.
    assert read(typed(outcome="ACCEPTED", delivered__cash_amount="", reason="")) == FeedbackBody(
        outcome=Outcome.ACCEPTED
    )


def test_each_error_names_the_field_of_the_form() -> None:
    assert errors_of(typed()) == [FieldError("outcome", "Field required")]
    [missing] = errors_of(typed(outcome="DELIVERED"))
    assert (missing.field, missing.told) == (
        "delivered",
        "amount or service: required when outcome is DELIVERED",
    )
    [amount] = errors_of(typed(outcome="DELIVERED", delivered__cash_amount="lots"))
    assert amount.field == "delivered.cash_amount" and amount.told.startswith("amount: ")
    [reason] = errors_of(typed(outcome="ACCEPTED", reason="duplicate"))
    assert reason == FieldError("reason", "only for outcome DECLINED")


def test_an_overlong_idempotency_key_is_refused() -> None:
    form = Typed({"outcome": "ACCEPTED"}, "k" * (KEY_MAX_CHARS + 1))
    [error] = errors_of(form)
    assert error.field == "idempotency_key"


def test_the_form_holds_what_was_typed_and_marks_the_fields_at_fault() -> None:
    form = typed(outcome="DELIVERED", delivered__service='tea "and" <cake>', transfer_to="x")
    errors = [FieldError("delivered", "required when outcome is DELIVERED")]
    html = render("/worklist/referrals/R-1/answer", form, errors, Department.EDUCATION)
    for name in ("cash_amount", "service"):  # the group at fault: each of its inputs
        field = re.search(rf'<input id="answer-delivered-{name}"[^>]*>', html)
        assert field is not None and 'aria-invalid="true"' in field.group(0)
        assert 'aria-describedby="error-answer-delivered"' in field.group(0)
    assert 'value="tea &quot;and&quot; &lt;cake&gt;"' in html
    assert 'data-field="delivered">amount or service: required' in html
    assert 'href="#answer-delivered"' in html  # the summary links to the field
    assert '<option value="x" selected>' in html  # kept, even if no option says it
    assert '<option value="education"' not in html  # no transfer to its own department
    assert 'name="outcome" value="DELIVERED" checked' in html
    assert 'aria-invalid="true"' not in html.split('id="answer-delivered"')[0]
