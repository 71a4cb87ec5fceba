"""What an auditor checks against a kept tree head, computing everything on their own side.

The audit service is asked only for material (a chain's stored events, proofs); nothing it says
is taken on trust: the hash links are verified here, each event's leaf is computed here from
the event itself, and every proof is checked against the roots the kept tree head signed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from events.audit import TreeHead
from events.chain import verify_chain
from services.audit.domain.tree_head import (
    Growth,
    Inclusion,
    consistency_problems,
    inclusion_problem,
    record_leaf,
)
from services.audit.household_check import document_hash


class ProofSource(Protocol):
    """What the checks need of the audit service (services.audit.client.AuditClient)."""

    def chain(self, household_id: str) -> dict[str, Any]: ...

    def inclusion(self, household_id: str, tree_sizes: dict[int, int]) -> dict[str, Any]: ...

    def consistency(self, partition: int, old_size: int, new_size: int) -> dict[str, Any]: ...


@dataclass
class InclusionCheck:
    household_id: str
    length: int
    chain_valid: bool
    chain_reason: str | None
    in_tree_head: int = 0  # events proven in the tree head
    after_tree_head: int = 0  # events appended since (not covered by it)
    findings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.chain_valid and not self.findings


def check_inclusion(client: ProofSource, household_id: str, head: TreeHead) -> InclusionCheck:
    """The household's chain, verified here, and each of its events proven in `head`."""
    chain = client.chain(household_id)
    documents: list[dict[str, Any]] = chain["events"]
    # Records the service says the chain writer did not sign are left out of the links (as
    # the service's verification does) and named; their places are still proven in the log.
    unsigned = set(chain.get("unsigned_records", []))
    verification = verify_chain(
        d for place, d in enumerate(documents, start=1) if place not in unsigned
    )
    check = InclusionCheck(
        household_id, len(documents), verification.valid, verification.reason or None
    )
    check.findings += [
        f"event {place}: not appended by the chain writer (no valid signature)"
        for place in sorted(unsigned)
    ]
    sizes = {tree.partition: tree.size for tree in head.trees}
    proofs: list[dict[str, Any]] = client.inclusion(household_id, sizes)["events"]
    if len(proofs) != len(documents):
        check.findings.append(
            f"the service gave {len(proofs)} positions for a chain of {len(documents)} events"
        )
    for sequence, (document, where) in enumerate(zip(documents, proofs, strict=False), start=1):
        if where.get("proof") is None:
            check.after_tree_head += 1
            continue
        leaf = record_leaf(household_id, sequence, document_hash(document))
        inclusion = Inclusion(
            int(where["partition"]),
            int(where["leaf_index"]),
            [bytes.fromhex(h) for h in where["proof"]],
        )
        problem = inclusion_problem(head, leaf, inclusion, f"event {sequence}")
        if problem is None:
            check.in_tree_head += 1
        else:
            check.findings.append(problem)
    return check


def check_growth(client: ProofSource, old: TreeHead, new: TreeHead) -> list[str]:
    """Problems that say `new` does not extend `old`; none when the log only grew."""
    growths = []
    for before in old.trees:
        after = new.tree(before.partition)
        if after is None or after.size < before.size:
            continue  # named by consistency_problems without asking for a proof
        answer = client.consistency(before.partition, before.size, after.size)
        growths.append(
            Growth(
                before.partition,
                int(answer["old_size"]),
                int(answer["new_size"]),
                [bytes.fromhex(h) for h in answer["proof"]],
            )
        )
    return consistency_problems(old, new, growths)
