"""The tree heads the audit signed and the witnesses' co-signatures of them, kept in memory and
read back from `assist.checkpoints` at every start.

Bounded: the last `kept` tree heads (about 1 KB each; 10,000 is a week at one a minute) plus
every tree head a witness co-signed, whatever its age, with its co-signatures. Reading the
topic back replays the same additions in the same order, so a restarted audit keeps what it
kept before. Records of one key share a partition, so tree heads come back in the order they
were signed; a topic of several partitions (ASSIST_TOPIC_PARTITIONS) interleaves co-signatures
with them in any order, which the restore makes up for (BookRestore).

Pure: the records come from whoever reads the topic, the audit's public key is passed in.
"""

from __future__ import annotations

import uuid
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import ValidationError

from events.audit import AnyTreeHead, TreeHeadWitnessed, parse_tree_head_json
from services.audit.domain.tree_head import cosignature_problems, verify_tree_head
from services.runtime.signing_keys import key_id

CHECKPOINT_KEY = b"checkpoint"
TREE_HEAD_KEY = b"tree-head"
WITNESS_KEY = b"witness"


class TreeHeadBook:
    """Tree heads by id in the order they were signed, the latest, and their witnesses."""

    def __init__(self, kept: int) -> None:
        self.kept = max(1, kept)
        self.heads: dict[uuid.UUID, AnyTreeHead] = {}
        self.witnesses: dict[uuid.UUID, list[TreeHeadWitnessed]] = {}
        self._recent: deque[uuid.UUID] = deque()
        self._held: Counter[uuid.UUID] = Counter()  # witnesses being published for these

    @property
    def latest(self) -> AnyTreeHead | None:
        """The tree head signed last."""
        if self._recent:
            return self.heads[self._recent[-1]]
        return max(self.heads.values(), key=lambda head: head.created_at, default=None)

    def add_head(self, head: AnyTreeHead) -> None:
        """Keep a newly signed head; the oldest unwitnessed one beyond `kept` is forgotten."""
        if head.tree_head_id in self.heads:
            return
        self.heads[head.tree_head_id] = head
        self._recent.append(head.tree_head_id)
        while len(self._recent) > self.kept:
            self._forget(self._recent.popleft())

    def witness_of(self, tree_head_id: uuid.UUID, witness_key_id: str) -> TreeHeadWitnessed | None:
        kept = self.witnesses.get(tree_head_id, [])
        return next((w for w in kept if w.witness_key_id == witness_key_id), None)

    def add_witness(self, witnessed: TreeHeadWitnessed) -> TreeHeadWitnessed | None:
        """Keep a co-signature with its tree head (which is then kept for good); None when the
        head is not kept. A witness that co-signed the head before gets its first one back."""
        if witnessed.tree_head_id not in self.heads:
            return None
        earlier = self.witness_of(witnessed.tree_head_id, witnessed.witness_key_id)
        if earlier is not None:
            return earlier
        self.witnesses.setdefault(witnessed.tree_head_id, []).append(witnessed)
        return witnessed

    def add_witnessed(self, head: AnyTreeHead, witnesses: list[TreeHeadWitnessed]) -> None:
        """Keep an older head for its co-signatures (found after it had been forgotten)."""
        self.heads.setdefault(head.tree_head_id, head)
        for witnessed in witnesses:
            self.add_witness(witnessed)

    @contextmanager
    def holding(self, tree_head_id: uuid.UUID) -> Iterator[None]:
        """Keep the head while a co-signature of it is being published, however many heads are
        signed meanwhile."""
        self._held[tree_head_id] += 1
        try:
            yield
        finally:
            self._held[tree_head_id] -= 1
            if not self._held[tree_head_id]:
                del self._held[tree_head_id]
                if tree_head_id not in self._recent:
                    self._forget(tree_head_id)

    def remove(self, tree_head_id: uuid.UUID) -> None:
        """Drop a head and its co-signatures (one that turned out not to verify)."""
        self.heads.pop(tree_head_id, None)
        self.witnesses.pop(tree_head_id, None)
        if tree_head_id in self._recent:
            self._recent.remove(tree_head_id)

    def remove_witness(self, witnessed: TreeHeadWitnessed) -> None:
        kept = self.witnesses.get(witnessed.tree_head_id, [])
        if witnessed in kept:
            kept.remove(witnessed)
        if not kept:
            self.witnesses.pop(witnessed.tree_head_id, None)
            if witnessed.tree_head_id not in self._recent:
                self._forget(witnessed.tree_head_id)

    def _forget(self, tree_head_id: uuid.UUID) -> None:
        if self.witnesses.get(tree_head_id) or self._held[tree_head_id]:
            return  # witnessed (or about to be): kept whatever its age
        self._held.pop(tree_head_id, None)
        self.heads.pop(tree_head_id, None)
        self.witnesses.pop(tree_head_id, None)


@dataclass
class RestoreReport:
    """What reading `assist.checkpoints` back gave: what was kept, and what was skipped, why."""

    tree_heads: int = 0  # kept in the book at the end
    witnesses: int = 0
    checkpoint_parts: int = 0  # chain-head checkpoints: read past, not kept here
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> records
    first_skipped: dict[str, str] = field(default_factory=dict)  # reason -> where, first

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] += 1
        self.first_skipped.setdefault(reason, where)


class BookRestore:
    """Feeds the records of `assist.checkpoints`, oldest first, into a book, then checks the
    signatures of what it kept (an Ed25519 verify for each of the at most `kept` + witnessed
    heads, not for every head of the topic's history).

    A co-signature read before its tree head (another partition) waits for it. One read after
    its head was forgotten (more than `kept` newer heads read in between) leaves that head
    `missing`: the reader then feeds the topic once more to `take_missing`, which picks up only
    those heads. With the topic's single partition neither happens."""

    def __init__(self, book: TreeHeadBook, public_key: Ed25519PublicKey, chain_topic: str) -> None:
        self.book = book
        self.report = RestoreReport()
        self._public_key = public_key
        self._key_id = key_id(public_key)
        self._chain_topic = chain_topic
        # Co-signatures of heads not in the book (yet), and where the first of each was read.
        self._waiting: dict[uuid.UUID, list[TreeHeadWitnessed]] = {}
        self._waiting_at: dict[uuid.UUID, str] = {}
        self._seen: set[uuid.UUID] = set()  # tree heads read (kept or forgotten since)

    @property
    def missing(self) -> set[uuid.UUID]:
        """Co-signed tree heads read before their co-signature and forgotten by then."""
        return self._waiting.keys() & self._seen

    def take(self, offset: int, key: bytes | None, value: bytes | None) -> None:
        """One record; anything that is not a tree head or witness of this audit is skipped."""
        if key == CHECKPOINT_KEY:
            self.report.checkpoint_parts += 1
        elif key == TREE_HEAD_KEY:
            head = self._head(offset, value)
            if head is not None:
                self._seen.add(head.tree_head_id)
                self.book.add_head(head)
                self.book.add_witnessed(head, self._waiting.pop(head.tree_head_id, []))
        elif key == WITNESS_KEY:
            self._take_witness(offset, value)
        else:
            self.report.skip("an unknown key", f"offset {offset}")

    def take_missing(self, offset: int, key: bytes | None, value: bytes | None) -> None:
        """A record of the second reading: only the `missing` heads are taken."""
        if key != TREE_HEAD_KEY:
            return
        try:
            head = parse_tree_head_json(value or b"")
        except ValidationError:
            return  # counted in the first reading
        # Seen in the first reading: it passed the checks of `_head` then.
        if head.tree_head_id in self._seen and head.tree_head_id in self._waiting:
            self.book.add_witnessed(head, self._waiting.pop(head.tree_head_id))

    def finish(self) -> RestoreReport:
        for tree_head_id, waiting in self._waiting.items():
            for _ in waiting:
                self.report.skip(
                    "a co-signature of a tree head not kept", self._waiting_at[tree_head_id]
                )
        self._waiting.clear()
        for head in list(self.book.heads.values()):
            if verify_tree_head(head, self._public_key):
                self.book.remove(head.tree_head_id)
                self.report.skip(
                    "a tree head that does not verify (signature or partition trees)",
                    f"tree head {head.tree_head_id}",
                )
        for tree_head_id, kept in list(self.book.witnesses.items()):
            for witnessed in list(kept):
                if _cosignature_problems(self.book.heads[tree_head_id], witnessed):
                    self.book.remove_witness(witnessed)
                    self.report.skip(
                        "a co-signature that does not verify", f"tree head {tree_head_id}"
                    )
        self.report.tree_heads = len(self.book.heads)
        self.report.witnesses = sum(len(w) for w in self.book.witnesses.values())
        return self.report

    def _head(self, offset: int, value: bytes | None) -> AnyTreeHead | None:
        try:
            head = parse_tree_head_json(value or b"")
        except ValidationError:
            self.report.skip("a malformed tree head", f"offset {offset}")
            return None
        if head.key_id != self._key_id:
            # Another key (a lost key replaced): its heads cannot be told from forgeries.
            self.report.skip(f"a tree head signed by key {head.key_id}", f"offset {offset}")
            return None
        if head.chain_topic != self._chain_topic:
            self.report.skip(
                f"a tree head of another chain topic ({head.chain_topic})", f"offset {offset}"
            )
            return None
        return head

    def _take_witness(self, offset: int, value: bytes | None) -> None:
        try:
            witnessed = TreeHeadWitnessed.model_validate_json(value or b"")
        except ValidationError:
            self.report.skip("a malformed co-signature", f"offset {offset}")
            return
        if self.book.add_witness(witnessed) is not None:
            return
        waiting = self._waiting.setdefault(witnessed.tree_head_id, [])
        if all(w.witness_key_id != witnessed.witness_key_id for w in waiting):
            waiting.append(witnessed)
        self._waiting_at.setdefault(witnessed.tree_head_id, f"offset {offset}")


def _cosignature_problems(head: AnyTreeHead, witnessed: TreeHeadWitnessed) -> list[str]:
    try:
        witness_key = load_pem_public_key(witnessed.witness_public_key_pem.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return ["the witness's public key is not PEM"]
    if not isinstance(witness_key, Ed25519PublicKey):
        return ["the witness's public key is not Ed25519"]
    return cosignature_problems(head, witnessed, witness_key)
