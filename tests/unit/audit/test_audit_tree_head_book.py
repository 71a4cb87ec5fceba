"""Tree heads and witnesses across a restart: the book is read back from `assist.checkpoints`
(malformed and foreign records skipped, never fatal), stays bounded, and the audit signs nothing
that contradicts its last tree head when the log it rebuilt does not extend it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import REGISTRY
from unit.audit.audit_histories import chained, history

from events.audit import PartitionTree, TreeHead, TreeHeadV1, TreeHeadWitnessed
from events.canonical import canonical_json
from events.chain import event_hash
from services.audit.checkpointer import Checkpointer, HeadsSnapshot
from services.audit.domain.checkpoint import sign
from services.audit.domain.tree_head import cosign, log_problems, make_tree_head
from services.audit.domain.tree_head_book import (
    CHECKPOINT_KEY,
    TREE_HEAD_KEY,
    WITNESS_KEY,
    BookRestore,
    RestoreReport,
    TreeHeadBook,
)
from services.audit.index import ChainIndex
from services.runtime.http import health_report
from services.runtime.settings import KafkaSettings
from services.runtime.signing_keys import SigningKey, key_id, public_pem

KEY = Ed25519PrivateKey.generate()
WITNESS, OTHER_WITNESS = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
TOPIC = "assist.chain"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
Record = tuple[bytes | None, bytes | None]


def head(n: int, key: Ed25519PrivateKey = KEY, chain_topic: str = TOPIC) -> TreeHead:
    root = hashlib.sha256(str(n).encode()).digest()
    return make_tree_head(
        {0: (n, root)}, key=key, created_at=NOW + timedelta(minutes=n), chain_topic=chain_topic
    )


def head_v1(n: int) -> TreeHeadV1:
    """A tree head as the audit signed them before the forest root (schema version 1)."""
    root = hashlib.sha256(str(n).encode()).hexdigest()
    unsigned = TreeHeadV1(
        tree_head_id=uuid.uuid4(),
        created_at=NOW + timedelta(minutes=n),
        chain_topic=TOPIC,
        trees=[PartitionTree(partition=0, size=n, root=root)],
        key_id=key_id(KEY.public_key()),
        signature="",
    )
    return unsigned.model_copy(update={"signature": sign(KEY, unsigned.signed_document())})


def witnessed(of: TreeHead | TreeHeadV1, witness: Ed25519PrivateKey = WITNESS) -> TreeHeadWitnessed:
    return TreeHeadWitnessed(
        tree_head_id=of.tree_head_id,
        witness_key_id=key_id(witness.public_key()),
        witness_public_key_pem=public_pem(witness.public_key()),
        signature=cosign(witness, of),
        witnessed_at=NOW,
    )


def record(message: TreeHead | TreeHeadV1 | TreeHeadWitnessed) -> Record:
    key = WITNESS_KEY if isinstance(message, TreeHeadWitnessed) else TREE_HEAD_KEY
    return key, canonical_json(message.model_dump(mode="json"))


def restored(records: list[Record], kept: int = 10_000) -> tuple[TreeHeadBook, RestoreReport]:
    book = TreeHeadBook(kept)
    restore = BookRestore(book, KEY.public_key(), TOPIC)
    for offset, (key, value) in enumerate(records):
        restore.take(offset, key, value)
    return book, restore.finish()


def test_tree_heads_and_their_witnesses_are_read_back_as_they_were_published() -> None:
    first, second, third = head(1), head(2), head(3)
    book, report = restored(
        [
            record(first),
            record(second),
            record(witnessed(second)),
            record(witnessed(second, OTHER_WITNESS)),
            record(witnessed(second)),  # the same witness again: its first co-signature stays
            (CHECKPOINT_KEY, b'{"checkpoint_id": "old format, read past"}'),
            record(third),
        ]
    )
    assert list(book.heads) == [first.tree_head_id, second.tree_head_id, third.tree_head_id]
    assert book.latest == third
    assert [w.witness_key_id for w in book.witnesses[second.tree_head_id]] == [
        key_id(WITNESS.public_key()),
        key_id(OTHER_WITNESS.public_key()),
    ]
    assert (report.tree_heads, report.witnesses, report.checkpoint_parts) == (3, 2, 1)
    assert not report.skipped


def test_v1_tree_heads_and_their_witnesses_are_read_back_beside_v2_ones() -> None:
    old, older_witnessed, new = head_v1(1), head_v1(2), head(3)
    doctored_v1 = head_v1(4).model_copy(update={"trees": old.trees})
    book, report = restored(
        [record(old), record(older_witnessed), record(witnessed(older_witnessed))]
        + [record(new), record(witnessed(new)), record(doctored_v1)]
    )
    assert list(book.heads) == [old.tree_head_id, older_witnessed.tree_head_id, new.tree_head_id]
    assert book.heads[old.tree_head_id] == old and isinstance(book.latest, TreeHead)
    assert set(book.witnesses) == {older_witnessed.tree_head_id, new.tree_head_id}
    assert report.skipped == {"a tree head that does not verify (signature or partition trees)": 1}


def test_malformed_and_foreign_records_are_skipped_and_named_never_fatal() -> None:
    genuine, last_genuine = head(1), head(2)
    doctored = head(3).model_copy(update={"trees": head(4).trees})  # this key's id, bad signature
    bad_cosignature = witnessed(genuine).model_copy(update={"signature": cosign(WITNESS, head(9))})
    garbled_pem = witnessed(genuine, OTHER_WITNESS).model_copy(
        update={"witness_public_key_pem": "-----BEGIN PUBLIC KEY-----\nnot a key"}
    )
    extra_field = json.loads(record(head(5))[1] or b"") | {"added": 1}
    foreign = head(6, key=Ed25519PrivateKey.generate())  # a lost key's, or a forger's
    book, report = restored(
        [
            record(genuine),
            (None, b"no key"),
            (b"something-else", b"{}"),
            (TREE_HEAD_KEY, b"not json"),
            (TREE_HEAD_KEY, None),
            (TREE_HEAD_KEY, canonical_json(extra_field)),
            (WITNESS_KEY, b'{"tree_head_id": "nope"}'),
            record(foreign),
            record(head(7, chain_topic="other.assist.chain")),
            record(witnessed(head(8))),  # of a head never published
            record(bad_cosignature),
            record(garbled_pem),
            record(last_genuine),
            record(doctored),
        ]
    )
    assert list(book.heads) == [genuine.tree_head_id, last_genuine.tree_head_id]
    assert book.latest == last_genuine  # the doctored one after it is not the latest
    assert book.witnesses == {}
    assert report.skipped == {
        "an unknown key": 2,
        "a malformed tree head": 3,
        "a malformed co-signature": 1,
        f"a tree head signed by key {foreign.key_id}": 1,
        "a tree head of another chain topic (other.assist.chain)": 1,
        "a co-signature of a tree head not kept": 1,
        "a tree head that does not verify (signature or partition trees)": 1,
        "a co-signature that does not verify": 2,
    }
    assert report.first_skipped["an unknown key"] == "offset 1"
    assert report.first_skipped[
        "a tree head that does not verify (signature or partition trees)"
    ] == (f"tree head {doctored.tree_head_id}")
    assert (report.tree_heads, report.witnesses) == (2, 0)


def test_the_book_keeps_the_last_n_tree_heads_and_every_witnessed_one() -> None:
    heads = [head(n) for n in range(1, 11)]
    published: list[Record] = []
    live = TreeHeadBook(3)
    for n, each in enumerate(heads, start=1):
        live.add_head(each)
        published.append(record(each))
        if n == 2:
            live.add_witness(witnessed(each))
            published.append(record(witnessed(each)))
    kept = [heads[1].tree_head_id, *(h.tree_head_id for h in heads[-3:])]
    assert list(live.heads) == kept
    book, report = restored(published, kept=3)
    assert list(book.heads) == kept  # the book after a restart is the book before it
    assert book.witnesses == live.witnesses and report.witnesses == 1
    assert book.latest == heads[-1]


def test_a_head_stays_while_its_co_signature_is_being_published() -> None:
    book = TreeHeadBook(1)
    first = head(1)
    book.add_head(first)
    with book.holding(first.tree_head_id):
        book.add_head(head(2))
        book.add_head(head(3))
        assert first.tree_head_id in book.heads
        assert book.add_witness(witnessed(first)) is not None
    assert first.tree_head_id in book.heads  # witnessed: kept for good
    unwitnessed = head(4)
    book.add_head(unwitnessed)
    with book.holding(unwitnessed.tree_head_id):
        book.add_head(head(5))  # the publish fails: nothing is added
    assert unwitnessed.tree_head_id not in book.heads


# -- the checkpointer over a rebuilt log ------------------------------------------------------


class Producer:
    """Takes what the checkpointer publishes, as if every replica acknowledged it."""

    def __init__(self) -> None:
        self.sent: list[Record] = []

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> Any:
        self.sent.append((key, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def stop(self) -> None: ...


def checkpointer(published: list[Record], accept: uuid.UUID | None = None) -> Checkpointer:
    """An audit (re)started over `published`: its book read back from them."""
    started = Checkpointer(
        KafkaSettings(), "assist.checkpoints", TOPIC, SigningKey(KEY, KEY.public_key()), 2000,
        kept_tree_heads=100, accept_contradicted=accept,
    )  # fmt: skip
    restore = BookRestore(started.book, KEY.public_key(), TOPIC)
    for offset, (key, value) in enumerate(published):
        restore.take(offset, key, value)
    restore.finish()
    started._producer = Producer()
    return started


def rebuilt(households: list[str], rewrite: str | None = None) -> HeadsSnapshot:
    """The index rebuilt from the log, as the audit does at start; `rewrite`: that household's
    4th event changed and every hash after it recomputed (a valid chain, a different log)."""
    index = ChainIndex()
    for partition, household in enumerate(households):
        documents = [e.to_document() for e in chained(history(household))]
        if household == rewrite:
            documents[3]["payload"]["note"] = "rewritten"
            for n in range(3, len(documents)):
                documents[n]["prev_hash"] = documents[n - 1]["hash"]
                documents[n]["hash"] = event_hash(documents[n])
        for offset, document in enumerate(documents):
            index.fold(partition % 2, offset, household.encode(), canonical_json(document))
    return HeadsSnapshot(
        dict(index.heads_map),
        dict(index.positions),
        NOW,
        index.tree_sizes(),
        {p: log.tree for p, log in index.logs.items()},
    )


def contradicted() -> float | None:
    return REGISTRY.get_sample_value("assist_audit_tree_head_contradicted")


def test_a_restarted_audit_signs_only_a_log_that_extends_its_last_tree_head() -> None:
    async def scenario() -> None:
        first = checkpointer([])
        producer = first._producer
        assert isinstance(producer, Producer)
        assert first.submit(rebuilt(["HH-A", "HH-B"]))
        await first.stop()
        signed = first.latest_tree_head
        assert signed is not None and producer.sent[-1][0] == TREE_HEAD_KEY

        # Restarted over a log that only grew: the next head is signed, and extends the last.
        grown = checkpointer(producer.sent)
        assert grown.latest_tree_head == signed
        snapshot = rebuilt(["HH-A", "HH-B", "HH-C"])
        assert grown.submit(snapshot) and grown.problems() == []
        await grown.stop()
        assert grown.latest_tree_head != signed
        assert log_problems(signed, snapshot.logs) == []

        # Restarted over a log rewritten behind its back: nothing is signed, and it is said.
        rewritten = checkpointer(producer.sent)
        assert rewritten.submit(rebuilt(["HH-A", "HH-B"], rewrite="HH-B"))
        assert rewritten._task is None and rewritten.latest_tree_head == signed
        [problem] = rewritten.problems()
        assert f"does not extend tree head {signed.tree_head_id}" in problem
        assert "rewritten or reordered" in problem
        assert contradicted() == 1
        healthy, report = health_report("audit", [], problems=rewritten.problems())
        assert not healthy and report["problems"] == [problem]

        # ... or cut.
        cut = checkpointer(producer.sent)
        cut.submit(rebuilt(["HH-A"]))
        assert "the log was cut" in " ".join(cut.problems())

        # An operator who looked into it accepts the rewritten log: signed again from there.
        accepted = checkpointer(producer.sent, accept=signed.tree_head_id)
        assert accepted.submit(rebuilt(["HH-A", "HH-B"], rewrite="HH-B"))
        await accepted.stop()
        assert accepted.latest_tree_head != signed and accepted.problems() == []
        assert contradicted() == 0

    asyncio.run(scenario())


def test_co_signatures_are_published_and_read_back_with_their_tree_head() -> None:
    async def scenario() -> None:
        audit = checkpointer([])
        producer = audit._producer
        assert isinstance(producer, Producer)
        audit.submit(rebuilt(["HH-A"]))
        await audit.stop()
        signed = audit.latest_tree_head
        assert signed is not None
        audit._producer = producer
        first = await audit.add_witness(witnessed(signed))
        again = await audit.add_witness(witnessed(signed).model_copy(update={"signature": "x"}))
        assert again == first  # a witness gets its first answer back, published once
        assert [key for key, _ in producer.sent].count(WITNESS_KEY) == 1

        restarted = checkpointer(producer.sent)
        assert restarted.witnesses[signed.tree_head_id] == [first]
        assert restarted.tree_heads[signed.tree_head_id] == signed

    asyncio.run(scenario())


def test_co_signatures_read_out_of_order_still_find_their_tree_heads() -> None:
    # With a topic of several partitions (ASSIST_TOPIC_PARTITIONS), tree heads and co-signatures
    # are on different partitions and read back interleaved in any order.
    heads = [head(n) for n in range(1, 8)]
    early, late = witnessed(heads[5]), witnessed(heads[1])
    records = [record(early), *(record(h) for h in heads), record(late)]
    book = TreeHeadBook(3)
    restore = BookRestore(book, KEY.public_key(), TOPIC)
    for offset, (key, value) in enumerate(records):
        restore.take(offset, key, value)
    # The head co-signed late had been forgotten by then: a second reading fetches it.
    assert restore.missing == {heads[1].tree_head_id}
    for offset, (key, value) in enumerate(records):
        restore.take_missing(offset, key, value)
    report = restore.finish()
    assert set(book.heads) == {h.tree_head_id for h in (heads[1], *heads[-3:])}
    assert book.witnesses == {heads[5].tree_head_id: [early], heads[1].tree_head_id: [late]}
    assert book.latest == heads[-1] and not report.skipped
