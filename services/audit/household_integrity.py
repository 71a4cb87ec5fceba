"""The audit service's own check of one household, for its page: the checks `assist verify`
makes, made here on the server.

* the chain's order, links and hashes (`verify_records`, as `/chain/verify` answers);
* each record's chain writer's signature, with the writer's key the service holds
  (`ChainIndex.unsigned`, as `/chain` names them);
* each record's inclusion in the latest signed tree head: the tree head's own signature checked
  with the audit's public key and its partition trees against its forest root, each record's
  leaf computed from the record as read, and its proof from the index checked against the
  signed root (as `tree_head_check.check_inclusion` does on the auditor's side with the proofs
  of `/inclusion`). Records appended after the tree head are counted, not proven.

It is the server vouching for itself: `assist verify HOUSEHOLD --checkpoint TREE-HEAD
--writer-key PEM` makes the same checks on the auditor's side with a tree head and a key kept
outside the system, trusting the service for nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from events.audit import AnyTreeHead
from events.chain import Verification
from services.audit.domain.records import parse_record, stored_hash
from services.audit.domain.tree_head import (
    Inclusion,
    inclusion_problem,
    record_leaf,
    trees_problem,
    verify_tree_head,
)
from services.audit.domain.verification import verify_records
from services.audit.index import ChainIndex


@dataclass(frozen=True)
class TreeHeadCoverage:
    """The household's records against one signed tree head."""

    tree_head_id: str
    created_at: datetime
    total_size: int  # records of the whole log the tree head covers
    partitions: int
    proven: int = 0  # records proven in it
    not_yet_covered: int = 0  # records appended after it
    problems: list[str] = field(default_factory=list)  # its signature, or records not in it

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class HouseholdIntegrity:
    verification: Verification
    writer_key_held: bool  # False: the service has no chain writer's key, signatures unchecked
    unsigned: list[int]  # places of records the chain writer did not sign
    tree_head: TreeHeadCoverage | None  # None: no tree head signed yet

    @property
    def valid(self) -> bool:
        return self.verification.valid and (self.tree_head is None or self.tree_head.valid)


def check_household(
    household_id: str,
    values: Sequence[bytes | None],
    index: ChainIndex,
    tree_head: AnyTreeHead | None,
    audit_key: Ed25519PublicKey,
) -> HouseholdIntegrity:
    """The household's records as read (`values`, in chain order) checked three ways."""
    unsigned = index.unsigned(household_id, values)
    return HouseholdIntegrity(
        verify_records(household_id, values, unsigned),
        index.writer_key is not None,
        unsigned,
        _coverage(household_id, values, index, tree_head, audit_key) if tree_head else None,
    )


def _coverage(
    household_id: str,
    values: Sequence[bytes | None],
    index: ChainIndex,
    head: AnyTreeHead,
    audit_key: Ed25519PublicKey,
) -> TreeHeadCoverage:
    problems = [f"the tree head: {problem}" for problem in verify_tree_head(head, audit_key)]
    proven = later = 0
    if trees_problem(head) is None:  # else there is no partition tree to prove anything in
        sizes = {tree.partition: tree.size for tree in head.verified_trees()}
        # The index may have grown since the records were read: their proofs come first.
        proofs = index.inclusion_proofs(household_id, sizes)[: len(values)]
        if len(proofs) < len(values):
            problems.append(f"the index holds {len(proofs)} of the {len(values)} records read")
        for sequence, (value, (partition, leaf, _, path)) in enumerate(
            zip(values, proofs, strict=False), start=1
        ):
            if path is None:
                later += 1
                continue
            document, _ = parse_record(value)
            record = record_leaf(household_id, sequence, stored_hash(value, document))
            where = Inclusion(partition, leaf, path)
            problem = inclusion_problem(head, record, where, f"event {sequence}")
            if problem is None:
                proven += 1
            else:
                problems.append(problem)
    return TreeHeadCoverage(
        tree_head_id=str(head.tree_head_id),
        created_at=head.created_at,
        total_size=sum(tree.size for tree in head.trees),
        partitions=len(head.trees),
        proven=proven,
        not_yet_covered=later,
        problems=problems,
    )
