import copy
from typing import Any

import pytest
from support.factories import application_event

from events.chain import ChainHead, event_hash, link, verify_chain
from events.envelope import GENESIS_HASH


def build_chain(length: int = 6, household: str = "HH-7") -> list[dict[str, Any]]:
    head = ChainHead()
    documents = []
    for n in range(1, length + 1):
        chained = link(application_event(household, n), head.sequence + 1, head.hash)
        head = ChainHead(chained.sequence or 0, chained.hash or "")
        documents.append(chained.to_document())
    return documents


def test_linked_chain_verifies() -> None:
    chain = build_chain()
    result = verify_chain(chain)
    assert result.valid and result.length == 6 and result.first_bad_sequence is None
    assert result.head_hash == chain[-1]["hash"]
    assert chain[0]["prev_hash"] == GENESIS_HASH
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(chain, chain[1:], strict=False))


def test_empty_chain_is_valid_with_no_head() -> None:
    assert verify_chain([]).valid and verify_chain([]).head_hash is None


def test_hash_excludes_only_the_hash_field() -> None:
    document = build_chain(1)[0]
    assert event_hash(document) == document["hash"]
    assert event_hash({**document, "hash": "f" * 64}) == document["hash"]


@pytest.mark.parametrize("position", [0, 2, 5])
def test_a_changed_byte_anywhere_is_found_at_its_sequence(position: int) -> None:
    chain = build_chain()
    chain[position]["payload"]["members"][0]["name"] += "x"
    result = verify_chain(chain)
    assert not result.valid and result.first_bad_sequence == position + 1


def test_a_forged_event_with_recomputed_hash_breaks_the_next_link() -> None:
    chain = build_chain()
    chain[2]["payload"]["dwelling_unsafe"] = True
    chain[2]["hash"] = event_hash(chain[2])
    result = verify_chain(chain)
    assert not result.valid and result.first_bad_sequence == 4


def test_a_removed_event_is_found() -> None:
    chain = build_chain()
    del chain[3]
    result = verify_chain(chain)
    assert not result.valid and result.first_bad_sequence == 4


def test_two_swapped_events_are_found() -> None:
    chain = build_chain()
    chain[1], chain[2] = chain[2], chain[1]
    result = verify_chain(chain)
    assert not result.valid and result.first_bad_sequence == 2


def test_an_event_of_another_household_is_found() -> None:
    chain = build_chain()
    other = copy.deepcopy(build_chain(household="HH-8")[4])
    chain[4] = other
    assert verify_chain(chain).first_bad_sequence == 5


def test_every_single_field_change_is_detected() -> None:
    chain = build_chain(2)
    for key in chain[1]:
        if key in {"hash"}:
            continue
        tampered = copy.deepcopy(chain)
        value = tampered[1][key]
        tampered[1][key] = (value + 1) if isinstance(value, int) else "tampered"
        assert verify_chain(tampered).first_bad_sequence == 2, key
