"""The service's own check of a household for its page (links and hashes, the chain writer's
signatures, inclusion in the latest signed tree head), and the as_of an auditor may ask for."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from unit.audit.audit_app_double import AUDIT_KEY, SIGNED_AT, Written, audit_double, written
from unit.audit.audit_histories import history
from unit.audit.test_audit_writer_signatures import forged_delivery

from events.canonical import canonical_json
from events.chain import event_hash
from services.audit.domain.tree_head import make_tree_head
from services.audit.household_integrity import HouseholdIntegrity, check_household
from services.audit.household_view import parse_as_of

HH = "HH-INTEGRITY"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def check(records: Written, head_over: Written | None = None) -> HouseholdIntegrity:
    """The check of `records` as the log holds them, against a tree head signed over the log
    as it was when it held `head_over` (default: as it is)."""
    signed = audit_double({HH: head_over if head_over is not None else records})
    double = audit_double({HH: records}, signed=False)
    values: list[bytes | None] = [value for value, _ in records]
    return check_household(
        HH, values, double.indexer.index, signed.tree_head, AUDIT_KEY.public_key()
    )


def edited(records: Written, place: int, rehash: bool) -> Written:
    """The record at `place` with its note changed; its hash recomputed or left as it was."""
    value, headers = records[place - 1]
    document = json.loads(value)
    document["payload"]["note"] = "changed afterwards"
    if rehash:
        document["hash"] = event_hash(document)
    return [*records[: place - 1], (canonical_json(document), headers), *records[place:]]


def test_a_clean_chain_is_valid_and_every_record_is_proven_in_the_tree_head() -> None:
    result = check(written(history(HH)))
    assert result.valid and result.verification.valid
    assert result.writer_key_held and result.unsigned == []
    assert result.tree_head is not None
    assert (result.tree_head.proven, result.tree_head.not_yet_covered) == (9, 0)
    assert result.tree_head.total_size == 9 and result.tree_head.created_at == SIGNED_AT


def test_records_after_the_tree_head_are_counted_not_yet_covered_and_not_a_fault() -> None:
    records = written(history(HH))
    result = check(records, head_over=records[:6])
    assert result.valid
    assert result.tree_head is not None
    assert (result.tree_head.proven, result.tree_head.not_yet_covered) == (6, 3)


def test_a_record_edited_in_place_breaks_the_chain_at_its_sequence() -> None:
    result = check(edited(written(history(HH)), 6, rehash=False))
    assert not result.valid
    assert result.verification.first_bad_sequence == 6
    assert "hash" in (result.verification.reason or "")


def test_a_record_rewritten_behind_the_tree_head_is_not_in_the_log_it_signed() -> None:
    records = written(history(HH))
    # Its hash recomputed, but the chain writer's signature (over the old hash) kept.
    result = check(edited(records, 6, rehash=True), head_over=records)
    assert not result.valid
    assert result.unsigned == [6]
    assert result.tree_head is not None
    assert any(
        "event 6: not in the log as the tree head signed it" in p for p in result.tree_head.problems
    )


def test_an_append_by_someone_else_is_named_and_the_chain_is_not_valid() -> None:
    records = written(history(HH))
    last = json.loads(records[-1][0])
    result = check([*records, (canonical_json(forged_delivery(last)), ())])
    assert result.unsigned == [10]
    assert not result.valid and result.verification.first_bad_sequence == 10


def test_a_tree_head_not_signed_by_this_audit_is_a_problem() -> None:
    double = audit_double({HH: written(history(HH))})
    other = make_tree_head(
        double.indexer.index.tree_sizes(),
        key=Ed25519PrivateKey.generate(),
        created_at=SIGNED_AT,
        chain_topic="assist.chain",
    )
    values = double.served.chains[HH]
    result = check_household(HH, values, double.indexer.index, other, AUDIT_KEY.public_key())
    assert not result.valid and result.verification.valid
    assert result.tree_head is not None and result.tree_head.problems[0].startswith("the tree head")


def test_without_a_tree_head_yet_the_chain_alone_decides() -> None:
    double = audit_double({HH: written(history(HH))}, signed=False)
    values = double.served.chains[HH]
    result = check_household(HH, values, double.indexer.index, None, AUDIT_KEY.public_key())
    assert result.valid and result.tree_head is None


def test_a_date_is_the_end_of_that_day_in_the_deployments_zone() -> None:
    asked = parse_as_of("2026-12-01", SHANGHAI)
    assert asked.whole_day and asked.day == date(2026, 12, 1)
    assert asked.instant == datetime(2026, 12, 1, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    assert asked.describe(SHANGHAI) == "the end of 2026-12-01 (Asia/Shanghai)"


def test_an_instant_keeps_its_zone_and_shows_its_local_date() -> None:
    asked = parse_as_of("2026-11-30T20:00:00Z", SHANGHAI)
    assert not asked.whole_day
    assert asked.instant == datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    assert asked.day == date(2026, 12, 1)  # 04:00 the next morning in Shanghai


@pytest.mark.parametrize(
    "text",
    ["yesterday", "2026-02-30", "2026-12-01T10:00:00", "9999-12-31", "2026-12-01T" + "0" * 70],
)
def test_anything_else_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ValueError, match=r".+"):
        parse_as_of(text, SHANGHAI)
