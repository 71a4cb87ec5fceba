"""Signed tree heads over the chain log, and the auditor's own checks with them: a household's
events proven in the signed log, and a later head proven to extend an earlier one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from unit.audit.audit_answers import inclusion_answer
from unit.audit.audit_histories import chained, history

from events.audit import TreeHead, TreeHeadV1, TreeHeadWitnessed, TreesNotSigned, parse_tree_head
from events.canonical import canonical_json
from events.chain import event_hash
from services.audit.domain.tree_head import (
    cosign,
    cosignature_problems,
    log_problems,
    make_tree_head,
    verify_tree_head,
)
from services.audit.index import ChainIndex
from services.audit.tree_head_check import check_growth, check_inclusion
from services.runtime.signing_keys import key_id, load_public_pem

KEY = Ed25519PrivateKey.generate()
FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
Record = tuple[int, bytes, bytes]  # partition, key, value


def records(*households: str) -> list[Record]:
    """Each household's chained events, on partition 0 for even-numbered households, else 1."""
    return [
        (n % 2, h.encode(), canonical_json(e.to_document()))
        for n, h in enumerate(households)
        for e in chained(history(h))
    ]


class Log:
    """What the audit service holds and serves: the index over the records, as the app does."""

    def __init__(self, written: list[Record]) -> None:
        self.index = ChainIndex()
        self.values: dict[str, list[bytes]] = {}
        offsets: dict[int, int] = {}
        for partition, key, value in written:
            offset = offsets.get(partition, 0)
            offsets[partition] = offset + 1
            self.index.fold(partition, offset, key, value)
            self.values.setdefault(key.decode(), []).append(value)

    def head(self) -> TreeHead:
        return make_tree_head(
            self.index.tree_sizes(), key=KEY, created_at=NOW, chain_topic="assist.chain"
        )

    # -- the ProofSource the checks ask ------------------------------------------------------
    def chain(self, household_id: str) -> dict[str, Any]:
        return {"events": [json.loads(v) for v in self.values[household_id]]}

    def inclusion(self, household_id: str, tree_sizes: dict[int, int]) -> dict[str, Any]:
        return inclusion_answer(self.index, household_id, tree_sizes)

    def consistency(self, partition: int, old_size: int, new_size: int) -> dict[str, Any]:
        proof = self.index.logs[partition].tree.consistency_proof(old_size, new_size)
        return {"old_size": old_size, "new_size": new_size, "proof": [h.hex() for h in proof]}


def test_a_tree_head_is_small_signed_and_names_every_partition() -> None:
    log = Log(records(*(f"HH-{n}" for n in range(40))))
    head = log.head()
    assert verify_tree_head(head, KEY.public_key()) == []
    assert (head.schema_version, head.partitions, head.total_size) == (2, 2, 360)
    assert [(t.partition, t.size) for t in head.verified_trees()] == [(0, 180), (1, 180)]
    assert len(canonical_json(head.model_dump(mode="json"))) < 700  # whatever the households
    assert "trees" not in head.signed_document()
    # The trees are not signed but must hash to the forest root, which is.
    doctored = head.model_copy(update={"trees": head.trees[:1]})
    assert verify_tree_head(doctored, KEY.public_key()) == [
        "the partition trees given (1) are not the 2 partitions and 360 records signed"
    ]
    resized = head.model_copy(update={"total_size": 359})
    assert verify_tree_head(resized, KEY.public_key())[0] == "signature does not verify"
    other = Ed25519PrivateKey.generate().public_key()
    assert "signed by key" in verify_tree_head(head, other)[0]


def test_the_signed_tree_head_is_under_1_kb_at_any_size_and_partition_count() -> None:
    def signed_bytes(records_each: int, partitions: int) -> int:
        sizes = {p: (records_each, bytes(32)) for p in range(partitions)}
        head = make_tree_head(
            sizes, key=KEY, created_at=NOW.replace(microsecond=1), chain_topic="assist.chain"
        )
        assert verify_tree_head(head, KEY.public_key()) == []
        return len(canonical_json(head.signed_document() | {"signature": head.signature}))

    largest = 2**63 - 1
    assert signed_bytes(largest, 48) < 1024
    # Constant but for the digits of the total: the partitions add nothing to what is signed.
    assert signed_bytes(largest, 48) - signed_bytes(largest, 6) <= 2
    assert signed_bytes(1, 48) == signed_bytes(1, 6) + 2  # two more digits: "48" twice


def test_a_server_altering_one_partition_tree_beside_the_signed_head_is_caught() -> None:
    log = Log(records("HH-A", "HH-B", "HH-C"))
    head = log.head()
    tree = head.trees[0]
    forged_root = head.model_copy(
        update={"trees": [tree.model_copy(update={"root": "00" * 32}), *head.trees[1:]]}
    )
    forged_size = head.model_copy(
        update={
            "trees": [
                tree.model_copy(update={"size": tree.size - 1}),
                head.trees[1].model_copy(update={"size": head.trees[1].size + 1}),
            ]
        }
    )
    for forged in (forged_root, forged_size):
        # The signature is the audit's and still verifies: only the forest root tells.
        assert verify_tree_head(forged, KEY.public_key()) == [
            "the partition trees given do not hash to the signed forest root"
        ]
        with pytest.raises(TreesNotSigned):
            forged.verified_trees()
        check = check_inclusion(log, "HH-A", forged)
        assert not check.valid and check.in_tree_head == 0
        assert check.findings == [
            "the tree head: the partition trees given do not hash to the signed forest root"
        ]
        assert check_growth(log, forged, log.head()) == [
            "the older tree head: the partition trees given do not hash to the signed forest root"
        ]
        assert log_problems(forged, {p: x.tree for p, x in log.index.logs.items()}) == [
            "the tree head: the partition trees given do not hash to the signed forest root"
        ]


def _stored_v1() -> tuple[TreeHeadV1, Ed25519PublicKey]:
    """A version 1 tree head signed by the code before the forest root, over records("HH-A",
    "HH-B"), with its public key."""
    stored = json.loads((FIXTURES / "tree_head_v1.json").read_text())
    head = parse_tree_head(stored["tree_head"])
    assert isinstance(head, TreeHeadV1)
    return head, load_public_pem(stored["public_key_pem"])


def test_a_stored_v1_tree_head_still_verifies_as_it_was_signed() -> None:
    head, public_key = _stored_v1()
    assert verify_tree_head(head, public_key) == []
    assert "trees" in head.signed_document()  # signed directly, as before
    assert [(t.partition, t.size) for t in head.verified_trees()] == [(0, 9), (1, 9)]
    doctored = head.model_copy(update={"trees": head.trees[:1]})
    assert verify_tree_head(doctored, public_key) == ["signature does not verify"]
    twice = head.model_copy(update={"trees": [head.trees[0], head.trees[0]]})
    assert "a partition appears twice" in verify_tree_head(twice, public_key)
    log = Log(records("HH-A", "HH-B"))
    assert check_inclusion(log, "HH-B", head).valid
    assert log_problems(head, {p: x.tree for p, x in log.index.logs.items()}) == []


def test_a_v2_tree_head_is_proven_to_extend_a_v1_one() -> None:
    older, _ = _stored_v1()
    grown = Log(records("HH-A", "HH-B", "HH-C", "HH-D"))
    newer = grown.head()
    assert newer.schema_version == 2
    assert check_growth(grown, older, newer) == []
    cut = Log(records("HH-A"))  # HH-B was partition 1's only household
    assert "partition 1: the log was cut" in " ".join(check_growth(cut, older, cut.head()))


def test_every_event_of_a_household_is_proven_in_the_signed_log() -> None:
    log = Log(records("HH-A", "HH-B", "HH-C"))
    head = log.head()
    check = check_inclusion(log, "HH-B", head)
    assert check.valid and (check.in_tree_head, check.after_tree_head) == (9, 0)


def test_events_after_the_tree_head_are_counted_not_proven() -> None:
    early = Log(records("HH-A", "HH-B"))
    head = early.head()
    later = Log(records("HH-A", "HH-B", "HH-C"))
    check = check_inclusion(later, "HH-C", head)
    assert check.valid and (check.in_tree_head, check.after_tree_head) == (0, 9)


def _rewritten(written: list[Record], household: str, sequence: int) -> list[Record]:
    """The log with one event's content changed and every hash of the chain recomputed: a
    valid hash chain, as someone who can write the log would make it."""
    documents = [json.loads(v) for _, k, v in written if k == household.encode()]
    documents[sequence - 1]["payload"]["note"] = "rewritten"
    previous = documents[sequence - 2]["hash"] if sequence > 1 else None
    for document in documents[sequence - 1 :]:
        if previous is not None:
            document["prev_hash"] = previous
        document["hash"] = previous = event_hash(document)
    replaced = iter(documents)
    return [
        (p, k, canonical_json(next(replaced)) if k == household.encode() else v)
        for p, k, v in written
    ]


def test_a_rewritten_event_is_named_though_its_chain_is_valid() -> None:
    written = records("HH-A", "HH-B")
    head = Log(written).head()
    forged = Log(_rewritten(written, "HH-A", 4))
    check = check_inclusion(forged, "HH-A", head)
    assert check.chain_valid  # the hash chain alone sees nothing
    assert not check.valid
    # The log the head signed is gone from its 4th event on: no event of the chain can be
    # proven in it any more (every proof runs through the rewritten part of the tree).
    assert [f.split(":")[0] for f in check.findings] == [f"event {n}" for n in range(1, 10)]
    assert check_inclusion(forged, "HH-B", head).valid  # another partition: untouched


def test_a_server_lying_about_where_an_event_is_is_caught() -> None:
    log = Log(records("HH-A", "HH-B"))
    head = log.head()

    class Lying(Log):
        def inclusion(self, household_id: str, tree_sizes: dict[int, int]) -> dict[str, Any]:
            answer = super().inclusion(household_id, tree_sizes)
            answer["events"][2]["leaf_index"] += 1
            return answer

    lying = Lying(records("HH-A", "HH-B"))
    check = check_inclusion(lying, "HH-A", head)
    assert [f.split(":")[0] for f in check.findings] == ["event 3"]


def test_a_log_that_only_grew_is_consistent() -> None:
    older = Log(records("HH-A", "HH-B")).head()
    grown = Log(records("HH-A", "HH-B", "HH-C", "HH-D"))
    assert check_growth(grown, older, grown.head()) == []
    assert check_growth(grown, grown.head(), grown.head()) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda w: _rewritten(w, "HH-A", 2), "rewritten or reordered"),
        (lambda w: [r for r in w if r[1] != b"HH-B"], "the log was cut"),
        (lambda w: w[1:2] + w[:1] + w[2:], "rewritten or reordered"),
    ],
    ids=["rewritten", "cut", "reordered"],
)
def test_a_rewritten_cut_or_reordered_log_is_named_by_partition(change: Any, problem: str) -> None:
    written = records("HH-A", "HH-B", "HH-C")
    older = Log(written).head()
    after = Log(change(written) + records("HH-D"))
    problems = check_growth(after, older, after.head())
    assert problems and all(p.startswith("partition ") for p in problems)
    assert problem in " ".join(problems), problems


def test_a_log_read_whole_is_compared_with_the_tree_head_on_the_readers_side() -> None:
    written = records("HH-A", "HH-B", "HH-C")
    head = Log(written).head()

    def problems(log: list[Record]) -> list[str]:
        index = Log(log).index
        return log_problems(head, {p: partition.tree for p, partition in index.logs.items()})

    assert problems(written + records("HH-D", "HH-E")) == []
    [cut] = problems([r for r in written if r[1] != b"HH-B"])
    assert cut == "partition 1: the log was cut: 0 records, the tree head has 9"
    [rewritten] = problems(_rewritten(written, "HH-C", 9))
    assert rewritten.startswith("partition 0: the first 18 records are not those")


def test_a_witness_co_signs_the_bytes_the_audit_signed() -> None:
    head = Log(records("HH-A")).head()
    witness = Ed25519PrivateKey.generate()
    witnessed = TreeHeadWitnessed(
        tree_head_id=head.tree_head_id,
        witness_key_id=key_id(witness.public_key()),
        witness_public_key_pem="(pem)",
        signature=cosign(witness, head),
        witnessed_at=NOW,
    )
    assert cosignature_problems(head, witnessed, witness.public_key()) == []
    other_head = Log(records("HH-A", "HH-B")).head()
    assert (
        "co-signs tree head" in cosignature_problems(other_head, witnessed, witness.public_key())[0]
    )
    moved = witnessed.model_copy(update={"tree_head_id": other_head.tree_head_id})
    assert cosignature_problems(other_head, moved, witness.public_key()) == [
        "signature does not verify"
    ]
