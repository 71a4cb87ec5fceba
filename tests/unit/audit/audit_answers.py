"""The audit service's HTTP answers computed from a ChainIndex, for test doubles of the service
that the auditor-side checks (services/audit/tree_head_check.py) are run against."""

from __future__ import annotations

from typing import Any

from services.audit.index import ChainIndex


def inclusion_answer(
    index: ChainIndex, household_id: str, tree_sizes: dict[int, int]
) -> dict[str, Any]:
    """GET /v1/households/{id}/inclusion as the app answers it (the fields the checks read)."""
    return {
        "events": [
            {
                "partition": partition,
                "leaf_index": leaf,
                "proof": [h.hex() for h in path] if path is not None else None,
            }
            for partition, leaf, _, path in index.inclusion_proofs(household_id, tree_sizes)
        ]
    }
