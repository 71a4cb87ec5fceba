"""Messages of the audit service: who read a chain, and signed checkpoints over every chain head.

Neither is a chain event (no envelope, no sequence): they describe the chains from outside.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from events.forest import forest_root
from events.types import HouseholdId

_HEX64 = r"^[0-9a-f]{64}$"


class AccessKind(StrEnum):
    """What an auditor read about a household."""

    CHAIN = "chain"
    VERIFY = "verify"
    STATE = "state"


class ChainAccessed(BaseModel):
    """One read of a household's chain, verification or state, on `assist.audit.access`.

    The token itself never leaves the service: `token_fingerprint` is the first 16 hex
    characters of its SHA-256, enough to tell tokens apart and useless to present as one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: Literal[1] = 1
    access_id: uuid.UUID
    household_id: HouseholdId
    resource: AccessKind
    role: str
    user: str | None = None  # the person (records written before users existed have none)
    token_fingerprint: str = Field(pattern=r"^[0-9a-f]{16}$")
    accessed_at: AwareDatetime
    as_of: AwareDatetime | None = None
    found: bool  # whether the household had a chain to read
    service: str = "audit"


class CheckpointHead(BaseModel):
    """One household's chain head at the checkpoint: its length and the hash of its last event."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    household_id: HouseholdId
    length: int = Field(ge=1)
    head_hash: str = Field(pattern=_HEX64)


# The fields the signature covers; `heads` are covered through `merkle_root`, and `part`/`parts`
# only say how the heads were split into messages.
SIGNED_FIELDS = (
    "schema_version",
    "checkpoint_id",
    "created_at",
    "chain_topic",
    "positions",
    "households",
    "events",
    "merkle_root",
    "algorithm",
    "key_id",
)


class Checkpoint(BaseModel):
    """A signed statement of every chain's head at a log position, on `assist.checkpoints`.

    A large checkpoint is published as `parts` messages that share the signed fields and each
    carry a slice of `heads`; an exported checkpoint is one part holding every head.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: Literal[1] = 1
    checkpoint_id: uuid.UUID
    created_at: AwareDatetime
    chain_topic: str
    # Chain partition -> the next offset: every record before it is covered.
    positions: dict[str, int]
    households: int = Field(ge=0)
    events: int = Field(ge=0)
    # RFC 6962-style Merkle tree over the heads sorted by household id (services/audit/domain).
    merkle_root: str = Field(pattern=_HEX64)
    algorithm: Literal["Ed25519"] = "Ed25519"
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    signature: str  # base64 of the Ed25519 signature over the canonical JSON of SIGNED_FIELDS
    part: int = Field(default=1, ge=1)
    parts: int = Field(default=1, ge=1)
    heads: list[CheckpointHead] = Field(default_factory=list)

    def signed_document(self) -> dict[str, Any]:
        """The part of the checkpoint the signature is computed over (JSON-ready)."""
        document = self.model_dump(mode="json", include=set(SIGNED_FIELDS))
        return {name: document[name] for name in SIGNED_FIELDS}


class PartitionTree(BaseModel):
    """The Merkle tree (RFC 6962) over every record of one chain partition, in log order."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    partition: int = Field(ge=0)
    size: int = Field(ge=0)  # records of the partition the tree covers: leaves 0 .. size-1
    root: str = Field(pattern=_HEX64)


class TreesNotSigned(ValueError):
    """The partition trees that came with a tree head are not those its signature covers."""


class TreeHeadV1(BaseModel):
    """A tree head of schema version 1, as signed before the forest root: every partition's tree is
    in the signed bytes, so the head grows with the partitions (952 bytes with 6, 1.7 KB with
    12). Still read from `assist.checkpoints` and kept files, and verified as it was signed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: Literal[1] = 1
    kind: Literal["tree-head"] = "tree-head"
    tree_head_id: uuid.UUID
    created_at: AwareDatetime
    chain_topic: str
    trees: list[PartitionTree]  # one per partition, by partition number
    algorithm: Literal["Ed25519"] = "Ed25519"
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    signature: str  # base64 of the Ed25519 signature over the canonical JSON of the rest

    def signed_document(self) -> dict[str, Any]:
        """Everything but the signature (JSON-ready)."""
        return self.model_dump(mode="json", exclude={"signature"})

    def verified_trees(self) -> list[PartitionTree]:
        """The partition trees, which the signature covers directly."""
        partitions = [t.partition for t in self.trees]
        if len(set(partitions)) != len(partitions):
            raise TreesNotSigned("a partition appears twice")
        return list(self.trees)

    def tree(self, partition: int) -> PartitionTree | None:
        return next((t for t in self.verified_trees() if t.partition == partition), None)


# What the signature of a version 2 tree head covers: a constant size whatever the log's size
# or partition count (about 330 bytes with the signature); `trees` is beside it, unsigned.
TREE_HEAD_SIGNED_FIELDS = (
    "schema_version",
    "kind",
    "tree_head_id",
    "created_at",
    "chain_topic",
    "partitions",
    "total_size",
    "forest_root",
    "algorithm",
    "key_id",
)


class TreeHead(BaseModel):
    """A signed tree head on `assist.checkpoints` (key `tree-head`): the root of a Merkle tree
    (events/forest.py) over each chain partition's Merkle tree (partition, size, root). The same
    few hundred signed bytes whatever the number of households, records or partitions; any
    event's inclusion and the log's growth between two heads are proven in O(log n) hashes.

    `trees` travels with it for the auditor's convenience and is not signed: read it through
    `verified_trees`, which recomputes the forest root from it and compares.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: Literal[2] = 2
    kind: Literal["tree-head"] = "tree-head"
    tree_head_id: uuid.UUID
    created_at: AwareDatetime
    chain_topic: str
    partitions: int = Field(ge=0)
    total_size: int = Field(ge=0)  # records of every partition the trees cover
    forest_root: str = Field(pattern=_HEX64)
    algorithm: Literal["Ed25519"] = "Ed25519"
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    signature: str  # base64 of the Ed25519 signature over the canonical JSON of the signed fields
    trees: list[PartitionTree] = Field(default_factory=list)  # not signed: see verified_trees

    def signed_document(self) -> dict[str, Any]:
        """The part of the tree head the signature is computed over (JSON-ready)."""
        document = self.model_dump(mode="json", include=set(TREE_HEAD_SIGNED_FIELDS))
        return {name: document[name] for name in TREE_HEAD_SIGNED_FIELDS}

    def verified_trees(self) -> list[PartitionTree]:
        """The partition trees that came with the head, once they hash to the signed forest
        root (and add up to its partitions and total size); TreesNotSigned otherwise."""
        partitions = [t.partition for t in self.trees]
        if partitions != sorted(set(partitions)):
            raise TreesNotSigned("the partition trees are not one per partition, in order")
        if len(self.trees) != self.partitions or sum(t.size for t in self.trees) != self.total_size:
            raise TreesNotSigned(
                f"the partition trees given ({len(self.trees)}) are not the "
                f"{self.partitions} partitions and {self.total_size} records signed"
            )
        try:
            root = forest_root([(t.partition, t.size, bytes.fromhex(t.root)) for t in self.trees])
        except ValueError as error:
            raise TreesNotSigned(f"the partition trees cannot be hashed: {error}") from None
        if root.hex() != self.forest_root:
            raise TreesNotSigned("the partition trees given do not hash to the signed forest root")
        return list(self.trees)

    def tree(self, partition: int) -> PartitionTree | None:
        return next((t for t in self.verified_trees() if t.partition == partition), None)


# A tree head of any version, told apart by `schema_version` (parse with parse_tree_head).
AnyTreeHead = Annotated[TreeHead | TreeHeadV1, Field(discriminator="schema_version")]
_ANY_TREE_HEAD: TypeAdapter[TreeHead | TreeHeadV1] = TypeAdapter(AnyTreeHead)


def parse_tree_head(document: object) -> TreeHead | TreeHeadV1:
    """A tree head of any version from its JSON-ready document (ValidationError if none)."""
    return _ANY_TREE_HEAD.validate_python(document)


def parse_tree_head_json(data: bytes | str) -> TreeHead | TreeHeadV1:
    """A tree head of any version from its JSON bytes (ValidationError if none)."""
    return _ANY_TREE_HEAD.validate_json(data)


class TreeHeadWitnessed(BaseModel):
    """An outside witness checked that a tree head extends the last one it saw and co-signed it,
    on `assist.checkpoints` (key `witness`). The co-signature is over the same bytes as the
    audit's signature (TreeHead.signed_document), with the witness's own Ed25519 key."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: Literal[1] = 1
    kind: Literal["tree-head-witnessed"] = "tree-head-witnessed"
    tree_head_id: uuid.UUID
    witness_key_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    witness_public_key_pem: str = Field(max_length=1000)
    signature: str = Field(max_length=200)  # base64 of the co-signature
    # The witness's last tree head before this one (None on its first), whose extension it checked
    previous_tree_head_id: uuid.UUID | None = None
    witnessed_at: AwareDatetime
    witnessed_by: str | None = None  # the user behind the token that sent it
