"""Idempotency-Key: a retried request makes the very same event; a reused key is refused."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.idempotency import IdempotencyKeys, KeyReused, household_id_for

BODY = b'{"region_code":"330100"}'


def test_the_same_key_and_body_give_the_same_event_id() -> None:
    keys = IdempotencyKeys()
    assert keys.event_id("applications", "k-1", BODY) == keys.event_id("applications", "k-1", BODY)


def test_the_id_survives_a_restart_of_intake() -> None:
    # A fresh memory (a restarted intake) still derives the same id from the same key.
    assert IdempotencyKeys().event_id("applications", "k-1", BODY) == IdempotencyKeys().event_id(
        "applications", "k-1", BODY
    )


def test_the_same_key_with_another_body_is_refused() -> None:
    keys = IdempotencyKeys()
    keys.event_id("applications", "k-1", BODY)
    with pytest.raises(KeyReused, match="'k-1'"):
        keys.event_id("applications", "k-1", BODY + b" ")


def test_a_key_is_scoped_to_its_route() -> None:
    keys = IdempotencyKeys()
    on_applications = keys.event_id("applications", "k-1", BODY)
    on_signals = keys.event_id("signals", "k-1", b"{}")
    assert on_applications != on_signals


def test_different_keys_give_different_ids() -> None:
    keys = IdempotencyKeys()
    assert keys.event_id("applications", "k-1", BODY) != keys.event_id("applications", "k-2", BODY)


def test_without_a_key_every_request_is_new() -> None:
    keys = IdempotencyKeys()
    ids = {keys.event_id("applications", None, BODY) for _ in range(50)}
    assert len(ids) == 50 and all(i.version == 4 for i in ids)


def test_a_forgotten_key_is_not_refused_but_keeps_its_id() -> None:
    keys = IdempotencyKeys(remember=2)
    first = keys.event_id("applications", "k-1", BODY)
    keys.event_id("applications", "k-2", BODY)
    keys.event_id("applications", "k-3", BODY)
    assert keys.event_id("applications", "k-1", b"{}") == first


def test_a_recently_used_key_is_remembered_longest() -> None:
    keys = IdempotencyKeys(remember=2)
    keys.event_id("applications", "k-1", BODY)
    keys.event_id("applications", "k-2", BODY)
    keys.event_id("applications", "k-1", BODY)  # used again: now the newest
    keys.event_id("applications", "k-3", BODY)  # forgets k-2, not k-1
    with pytest.raises(KeyReused):
        keys.event_id("applications", "k-1", b"{}")


@given(st.uuids())
def test_household_id_for_is_stable_and_valid(event_id: uuid.UUID) -> None:
    household = household_id_for(event_id)
    assert household == household_id_for(uuid.UUID(str(event_id)))
    assert household.startswith("HH-") and len(household) == 19
    assert household[3:] == event_id.hex[:16].upper()
