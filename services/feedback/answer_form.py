"""The worklist's answer form: a referral's four answers as one form, what was typed read into
the API's own FeedbackBody (so the same rules judge it), and the form drawn again with what was
typed and each error beside its field.

The form's fields are named by their path in the body (`delivered.cash_amount`), the names a
422 of the API gives, so an error finds its field. A hidden idempotency key, new each time the
page is drawn, makes a double submission one answer: it is sent as the Idempotency-Key.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from pydantic import ValidationError

from events.feedback import FeedbackBody
from events.types import DeclineReason, Department, Outcome
from services.runtime.errors import describe

# What a person reads for each field of the body (errors are told by these names).
LABELS: Mapping[str, str] = {
    "outcome": "answer",
    "delivered": "amount or service",
    "delivered.cash_amount": "amount",
    "delivered.service": "service",
    "reason": "reason",
    "transfer_to": "transfer to",
    "note": "note",
}
TYPED_FIELDS = (
    "outcome",
    "delivered.cash_amount",
    "delivered.service",
    "reason",
    "transfer_to",
    "note",
)
KEY_FIELD = "idempotency_key"
KEY_MAX_CHARS = 200  # as the API's Idempotency-Key header
_CHOICES = (
    (Outcome.ACCEPTED, "accept: your department takes it on"),
    (Outcome.DELIVERED, "deliver: the assistance was given"),
    (Outcome.DECLINED, "decline: with a reason"),
    (Outcome.TRANSFERRED, "transfer: to another department"),
)


@dataclass(frozen=True)
class FieldError:
    field: str  # its path in the body, or `body` / `idempotency_key`
    message: str

    @property
    def told(self) -> str:
        return f"{LABELS.get(self.field, self.field)}: {self.message}"


@dataclass(frozen=True)
class Typed:
    """What the form holds: the values typed (by field path) and its idempotency key."""

    values: Mapping[str, str] = field(default_factory=dict)
    idempotency_key: str = field(default_factory=lambda: str(uuid.uuid4()))

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> Typed:
        values = {name: form[name].strip() for name in TYPED_FIELDS if form.get(name)}
        return cls(values, form.get(KEY_FIELD, "").strip())

    def value(self, name: str) -> str:
        return self.values.get(name, "")


def read(typed: Typed) -> FeedbackBody | list[FieldError]:
    """The body the form says, or the errors naming each field (as the API's 422 would)."""
    if len(typed.idempotency_key) > KEY_MAX_CHARS:
        return [FieldError(KEY_FIELD, f"at most {KEY_MAX_CHARS} characters; reload the page")]
    document: dict[str, Any] = {
        name: typed.value(name)
        for name in ("outcome", "reason", "transfer_to", "note")
        if typed.value(name)
    }
    delivered = {
        part: typed.value(f"delivered.{part}")
        for part in ("cash_amount", "service")
        if typed.value(f"delivered.{part}")
    }
    if delivered:
        document["delivered"] = delivered
    try:
        return FeedbackBody.model_validate(document)
    except ValidationError as error:
        described = [describe(dict(problem)) for problem in error.errors()]
        return [FieldError(d["field"], d["message"]) for d in described]


def render(action: str, typed: Typed, errors: Sequence[FieldError], own: Department) -> str:
    """The form, holding what was typed, each error beside its field (and listed above)."""
    by_field = {e.field: e for e in errors}
    summary = ""
    if errors:
        items = "".join(
            f'<li><a href="#{_id(e.field)}">{escape(e.told)}</a></li>'
            if e.field in LABELS
            else f"<li>{escape(e.told)}</li>"
            for e in errors
        )
        summary = (
            f'<div class="alert" id="answer-problems" role="alert"><strong>The answer was not '
            f"sent: {len(errors)} to correct.</strong><ul>{items}</ul></div>"
        )
    choices = "".join(
        f'<label class="choice"><input type="radio" name="outcome" value="{o.value}"'
        f"{' checked' if typed.value('outcome') == o.value else ''}"
        f"{_invalid(by_field, 'outcome')}> {escape(text)}</label>"
        for o, text in _CHOICES
    )
    reasons = _options([r.value for r in DeclineReason], typed.value("reason"), "no reason")
    others = [d.value for d in Department if d is not own]
    departments = _options(others, typed.value("transfer_to"), "no transfer")
    return (
        f'<form class="card answer" method="post" action="{escape(action)}" novalidate>'
        f"{summary}"
        f'<input type="hidden" name="{KEY_FIELD}" value="{escape(typed.idempotency_key)}">'
        f'<fieldset id="{_id("outcome")}"><legend>Answer</legend>'
        f"{_error(by_field, 'outcome')}{choices}</fieldset>"
        f'<fieldset id="{_id("delivered")}"><legend>Delivered (with deliver)</legend>'
        f"{_error(by_field, 'delivered')}"
        + _input("delivered.cash_amount", "amount (yuan)", typed, by_field, ' inputmode="decimal"')
        + _input("delivered.service", "service", typed, by_field)
        + "</fieldset>"
        + _select("reason", "reason (with decline)", reasons, by_field)
        + _select("transfer_to", "transfer to (with transfer)", departments, by_field)
        + f'<label for="{_id("note")}">note</label>{_error(by_field, "note")}'
        f'<textarea id="{_id("note")}" name="note" rows="3"'
        f"{_invalid(by_field, 'note')}>{escape(typed.value('note'))}</textarea>"
        '<div><button class="primary" type="submit">send the answer</button></div></form>'
    )


def _id(name: str) -> str:
    return "answer-" + name.replace(".", "-")


def _error(by_field: Mapping[str, FieldError], name: str) -> str:
    error = by_field.get(name)
    if error is None:
        return ""
    return (
        f'<span class="field-error" id="error-{_id(name)}" data-field="{escape(name)}">'
        f"{escape(error.told)}</span>"
    )


def _invalid(by_field: Mapping[str, FieldError], name: str) -> str:
    """aria-invalid on a field at fault (or in a group at fault), pointing at its error."""
    at_fault = [n for n in (name, name.partition(".")[0]) if n in by_field]
    if not at_fault:
        return ""
    return f' aria-invalid="true" aria-describedby="error-{_id(at_fault[0])}"'


def _input(
    name: str, label: str, typed: Typed, by_field: Mapping[str, FieldError], extra: str = ""
) -> str:
    return (
        f'<label for="{_id(name)}">{escape(label)}</label>{_error(by_field, name)}'
        f'<input id="{_id(name)}" name="{escape(name)}" type="text"{extra} '
        f'value="{escape(typed.value(name))}"{_invalid(by_field, name)}>'
    )


def _options(values: Sequence[str], chosen: str, none: str) -> str:
    options = [f'<option value="">{escape(none)}</option>']
    options += [
        f'<option value="{escape(v)}"{" selected" if v == chosen else ""}>{escape(v)}</option>'
        for v in values
    ]
    if chosen and chosen not in values:  # what was sent, even if no option says it
        options.append(f'<option value="{escape(chosen)}" selected>{escape(chosen)}</option>')
    return "".join(options)


def _select(name: str, label: str, options: str, by_field: Mapping[str, FieldError]) -> str:
    return (
        f'<label for="{_id(name)}">{escape(label)}</label>{_error(by_field, name)}'
        f'<select id="{_id(name)}" name="{escape(name)}"{_invalid(by_field, name)}>'
        f"{options}</select>"
    )
