"""The audit service's HTTP routes: chains, verification, state as of an instant, checkpoints;
and the auditor's household pages (page_routes.py).

Every read of a household is recorded on `assist.audit.access` before it is answered, the API's
and the pages' alike (household_reads.py).

Who may read what: a household's file (its chain, its state as of an instant) is for auditors
only. Operators watch processors, never a household's personal data: they get 403 there, and
may still verify a chain (valid, length, head hash, the first bad sequence and why: hashes,
positions and household ids, nothing of what the events say), read the index's size and the
checkpoints (household ids, lengths, head hashes) and rebuild the index, whose answer is
counts and a rate.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Annotated, NoReturn, Protocol
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events.audit import AccessKind, AnyTreeHead, Checkpoint, TreeHeadWitnessed
from events.policy import DEFAULT_TIME_ZONE
from services.audit.access import AccessRecorder
from services.audit.domain.state import fold_records
from services.audit.domain.tree_head import cosignature_problems
from services.audit.domain.verification import signed_only, verify_records
from services.audit.household_reads import HouseholdReads, Reader
from services.audit.indexer import ChainIndexer
from services.audit.page_routes import HouseholdPagesDeps, auditor_gate, install_household_pages
from services.audit.rebuild import RebuildReport
from services.audit.store import ChainStore
from services.audit.views import (
    ChainView,
    ConsistencyView,
    InclusionEntry,
    InclusionView,
    StateView,
    VerificationView,
    chain_view,
    state_view,
    verification_view,
)
from services.runtime.auth import Principal, TokenStore, require
from services.runtime.errors import install_error_handlers
from services.runtime.openapi import errors
from services.runtime.signing_keys import SigningKey, key_id, load_public_pem, public_pem

HouseholdPath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$",
        description="the household's id (its chain's key)",
    ),
]

AsOfQuery = Annotated[
    AwareDatetime | None,
    Query(
        description="ISO 8601 with zone, compared with each event's recorded_at: the state is "
        "that after the longest chain prefix recorded at or before it (default: the whole chain)"
    ),
]


# What a read of one household's chain may answer besides its view.
HOUSEHOLD_ANSWERS = errors(
    404,
    409,
    503,
    s404="No chain for this household",
    s409="The log no longer holds a record the index points at: rebuild the index",
    s503="Still reading the chain, or the access could not be recorded (not answered)",
)


NO_TREE_HEAD = (
    "No such tree head kept (the last ASSIST_CHECKPOINT_KEPT_TREE_HEADS and every witnessed one)"
)


def _invalid(field: str, message: str, where: str = "query") -> NoReturn:
    raise RequestValidationError([{"loc": (where, field), "msg": message}])


class WitnessBook(Protocol):
    """The tree heads kept (the last ASSIST_CHECKPOINT_KEPT_TREE_HEADS and every one a witness
    co-signed, read back from assist.checkpoints at start) and their witnesses (the
    Checkpointer)."""

    @property
    def tree_heads(self) -> Mapping[uuid.UUID, AnyTreeHead]: ...

    @property
    def witnesses(self) -> Mapping[uuid.UUID, list[TreeHeadWitnessed]]: ...

    async def add_witness(self, witnessed: TreeHeadWitnessed) -> TreeHeadWitnessed: ...


class WitnessBody(BaseModel):
    """A witness's co-signature, as `assist checkpoint witness` sends it."""

    model_config = ConfigDict(extra="forbid")
    witness_public_key_pem: str = Field(min_length=1, max_length=1000)
    signature: str = Field(min_length=1, max_length=200)  # base64 over TreeHead.signed_document
    previous_tree_head_id: uuid.UUID | None = None


def _tree_sizes(text: str) -> dict[int, int]:
    """'0:120,1:98' -> {0: 120, 1: 98}; 422 naming tree_sizes otherwise."""
    sizes: dict[int, int] = {}
    for pair in text.split(","):
        partition, _, size = pair.strip().partition(":")
        if not (partition.isdigit() and size.isdigit()) or int(partition) in sizes:
            _invalid("tree_sizes", f"{pair!r} is not partition:size (e.g. 0:120,1:98)")
        sizes[int(partition)] = int(size)
    return sizes


class PublicKeyView(BaseModel):
    algorithm: str
    key_id: str
    public_key_pem: str


class IndexView(BaseModel):
    households: int
    events: int
    unfiled_records: int
    positions: dict[str, int]
    cached_households: int
    cached_bytes: int
    latest_checkpoint_id: str | None


class RebuildView(BaseModel):
    events: int
    households: int
    records_read: int
    seconds: float
    events_per_second: float


@dataclass
class AuditDeps:
    tokens: TokenStore
    indexer: Callable[[], ChainIndexer | None]  # None until the chain has been read once
    store: ChainStore
    access: AccessRecorder
    key: SigningKey
    rebuild: Callable[[], Awaitable[RebuildReport]]
    latest_checkpoint: Callable[[], Checkpoint | None]
    latest_tree_head: Callable[[], AnyTreeHead | None] = lambda: None
    witnesses: WitnessBook | None = None
    # The chain writer's public key, served to auditors (who should pin their own copy)
    writer_key: Ed25519PublicKey | None = None
    # The household pages: how long a log-in lasts, and the zone a date given as as_of is in
    session_seconds: int = 8 * 3600
    zone: tzinfo = ZoneInfo(DEFAULT_TIME_ZONE)


def create_app(deps: AuditDeps) -> FastAPI:
    app = FastAPI(
        title="assist audit",
        version="1",
        description="Auditors read, verify and replay any household's chain.",
    )
    install_error_handlers(app)

    def reader_with(*roles: str) -> Callable[..., Awaitable[Reader]]:
        check = Depends(require(deps.tokens, *roles))

        async def reader_of(request: Request, principal: Principal = check) -> Reader:
            token = request.headers.get("authorization", "").partition(" ")[2].strip()
            return Reader.of(principal, token)

        return reader_of

    # Integrity and operations: nothing of what a household's events say.
    reader = Depends(reader_with("auditor", "operator"))
    # A household's file: its events and what they add up to.
    auditor = Depends(reader_with("auditor"))

    reads = HouseholdReads(deps.indexer, deps.store, deps.access)
    indexer, unsigned, answer = reads.indexer, reads.unsigned, reads.answer
    install_household_pages(
        app,
        HouseholdPagesDeps(
            auditor_gate(deps.tokens, deps.session_seconds),
            reads,
            deps.latest_tree_head,
            deps.key.public,
            deps.zone,
        ),
    )

    @app.get(
        "/v1/households/{household_id}/chain",
        response_model=ChainView,
        tags=["audit"],
        summary="The household's events in chain order, as stored (auditors only)",
        responses=HOUSEHOLD_ANSWERS,
    )
    async def chain(household_id: HouseholdPath, who: Reader = auditor) -> ChainView:
        return await answer(
            household_id,
            who,
            AccessKind.CHAIN,
            lambda values: chain_view(
                household_id,
                values,
                unsigned(household_id, values),
                indexer().index.signatures(household_id, len(values)),
            ),
        )

    @app.get(
        "/v1/households/{household_id}/chain/verify",
        response_model=VerificationView,
        tags=["audit"],
        summary="Order, links and hashes of the household's chain (no event content)",
        responses=HOUSEHOLD_ANSWERS,
    )
    async def verify(household_id: HouseholdPath, who: Reader = reader) -> VerificationView:
        return await answer(
            household_id,
            who,
            AccessKind.VERIFY,
            lambda values: verification_view(
                household_id, verify_records(household_id, values, unsigned(household_id, values))
            ),
        )

    @app.get(
        "/v1/households/{household_id}/state",
        response_model=StateView,
        tags=["audit"],
        summary="Tier, tags, referrals and delivered list as of an instant (auditors only)",
        responses=HOUSEHOLD_ANSWERS,
    )
    async def state(
        household_id: HouseholdPath,
        as_of: AsOfQuery = None,
        who: Reader = auditor,
    ) -> StateView:
        return await answer(
            household_id,
            who,
            AccessKind.STATE,
            lambda values: state_view(
                fold_records(
                    household_id, signed_only(values, unsigned(household_id, values)), as_of
                )
            ),
            as_of,
        )

    @app.get(
        "/v1/checkpoints/latest",
        response_model=Checkpoint,
        tags=["checkpoints"],
        summary="The latest signed checkpoint, with every head",
        responses=errors(404, s404="No checkpoint yet: the chain is empty or still being read"),
    )
    async def latest_checkpoint(_: Reader = reader) -> Checkpoint:
        latest = deps.latest_checkpoint()
        if latest is None:
            raise HTTPException(404, "no checkpoint yet: the chain is empty or still being read")
        return latest

    @app.get(
        "/v1/tree-heads/latest",
        response_model=AnyTreeHead,
        tags=["checkpoints"],
        summary="The latest signed tree head: the forest root over each chain partition's Merkle "
        "tree (signed), with each tree's size and root beside it (not signed: check them "
        "against the forest root)",
        responses=errors(404, s404="No tree head yet: the chain is empty or still being read"),
    )
    async def latest_tree_head(_: Reader = reader) -> AnyTreeHead:
        latest = deps.latest_tree_head()
        if latest is None:
            raise HTTPException(404, "no tree head yet: the chain is empty or still being read")
        return latest

    def witness_book() -> WitnessBook:
        if deps.witnesses is None:
            raise HTTPException(503, "this audit service keeps no witnesses")
        return deps.witnesses

    def signed_head(tree_head_id: uuid.UUID) -> AnyTreeHead:
        head = witness_book().tree_heads.get(tree_head_id)
        if head is None:
            raise HTTPException(404, f"no tree head {tree_head_id} kept by this service")
        return head

    @app.post(
        "/v1/tree-heads/{tree_head_id}/witnesses",
        status_code=201,
        response_model=TreeHeadWitnessed,
        tags=["checkpoints"],
        summary="A witness's co-signature of a tree head it checked (assist checkpoint witness)",
        responses=errors(404, 503, s404=NO_TREE_HEAD),
    )
    async def add_witness(
        tree_head_id: uuid.UUID, body: WitnessBody, who: Reader = auditor
    ) -> TreeHeadWitnessed:
        head = signed_head(tree_head_id)
        try:
            witness_key = load_public_pem(body.witness_public_key_pem)
        except ValueError as error:
            _invalid("witness_public_key_pem", f"not an Ed25519 public key in PEM: {error}", "body")
        witnessed = TreeHeadWitnessed(
            tree_head_id=tree_head_id,
            witness_key_id=key_id(witness_key),
            witness_public_key_pem=body.witness_public_key_pem,
            signature=body.signature,
            previous_tree_head_id=body.previous_tree_head_id,
            witnessed_at=datetime.now(UTC),
            witnessed_by=who.user,
        )
        problems = cosignature_problems(head, witnessed, witness_key)
        if problems:
            _invalid("signature", "; ".join(problems), "body")
        try:
            return await witness_book().add_witness(witnessed)
        except Exception as error:  # noqa: BLE001 - not published: not kept
            raise HTTPException(503, f"the co-signature could not be published: {error}") from None

    @app.get(
        "/v1/tree-heads/{tree_head_id}/witnesses",
        response_model=list[TreeHeadWitnessed],
        tags=["checkpoints"],
        summary="Every witness's co-signature of a tree head",
        responses=errors(404, 503, s404=NO_TREE_HEAD),
    )
    async def witnesses(tree_head_id: uuid.UUID, _: Reader = reader) -> list[TreeHeadWitnessed]:
        signed_head(tree_head_id)
        return list(witness_book().witnesses.get(tree_head_id, []))

    @app.get(
        "/v1/log/consistency",
        response_model=ConsistencyView,
        tags=["checkpoints"],
        summary="Proof that a partition's tree of new_size extends its tree of old_size",
        responses=errors(503, s503="Still reading the chain"),
    )
    async def consistency(
        partition: Annotated[int, Query(ge=0, le=10_000)],
        old_size: Annotated[int, Query(ge=0)],
        new_size: Annotated[int, Query(ge=0)],
        _: Reader = reader,
    ) -> ConsistencyView:
        log_of = indexer().index.logs.get(partition)
        size = log_of.tree.size if log_of is not None else 0
        if new_size > size:
            _invalid("new_size", f"partition {partition} has {size} records")
        if old_size > new_size:
            _invalid("old_size", "must not be above new_size")
        proof = log_of.tree.consistency_proof(old_size, new_size) if log_of is not None else []
        return ConsistencyView(
            partition=partition,
            old_size=old_size,
            new_size=new_size,
            proof=[h.hex() for h in proof],
        )

    @app.get(
        "/v1/households/{household_id}/inclusion",
        response_model=InclusionView,
        tags=["checkpoints"],
        summary="Where each event of the household is in the log, with its inclusion proof "
        "in the trees of the given sizes (hashes and positions: no event content)",
        responses=HOUSEHOLD_ANSWERS,
    )
    async def inclusion(
        household_id: HouseholdPath,
        tree_sizes: Annotated[
            str,
            Query(
                max_length=2000,
                description="The tree head's sizes as partition:size pairs: 0:120,1:98,2:130",
            ),
        ],
        who: Reader = reader,
    ) -> InclusionView:
        sizes = _tree_sizes(tree_sizes)
        index = indexer().index
        for partition, size in sizes.items():
            log_of = index.logs.get(partition)
            if size > (log_of.tree.size if log_of is not None else 0):
                _invalid("tree_sizes", f"partition {partition} has fewer than {size} records")

        def proofs(values: list[bytes | None]) -> InclusionView:
            entries = [
                InclusionEntry(
                    sequence=sequence,
                    partition=partition,
                    leaf_index=leaf,
                    tree_size=size,
                    proof=[h.hex() for h in path] if path is not None else None,
                )
                for sequence, (partition, leaf, size, path) in enumerate(
                    index.inclusion_proofs(household_id, sizes), start=1
                )
            ]
            return InclusionView(household_id=household_id, events=entries)

        return await answer(household_id, who, AccessKind.VERIFY, proofs)

    @app.get(
        "/v1/checkpoints/public-key",
        response_model=PublicKeyView,
        tags=["checkpoints"],
        summary="The Ed25519 public key that verifies checkpoints",
    )
    async def public_key(_: Reader = reader) -> PublicKeyView:
        return PublicKeyView(
            algorithm="Ed25519", key_id=deps.key.key_id, public_key_pem=deps.key.public_pem
        )

    @app.get(
        "/v1/keys/chain-writer",
        response_model=PublicKeyView,
        tags=["checkpoints"],
        summary="The chain writer's Ed25519 public key, that verifies each record's "
        "writer_signature (an auditor pins their own copy: this one comes from the service)",
        responses=errors(404, s404="This audit service has no chain writer's key"),
    )
    async def chain_writer_key(_: Reader = reader) -> PublicKeyView:
        if deps.writer_key is None:
            raise HTTPException(404, "this audit service has no chain writer's public key")
        return PublicKeyView(
            algorithm="Ed25519",
            key_id=key_id(deps.writer_key),
            public_key_pem=public_pem(deps.writer_key),
        )

    @app.get(
        "/v1/index",
        response_model=IndexView,
        tags=["operations"],
        summary="Size and position of the audit index",
        responses=errors(503, s503="Still reading the chain"),
    )
    async def index_status(_: Reader = reader) -> IndexView:
        index = indexer().index
        latest = deps.latest_checkpoint()
        return IndexView(
            households=len(index.entries),
            events=index.events,
            unfiled_records=index.unfiled,
            positions={str(p): o for p, o in sorted(index.positions.items())},
            cached_households=len(index.cache),
            cached_bytes=index.cache.size,
            latest_checkpoint_id=str(latest.checkpoint_id) if latest else None,
        )

    @app.post(
        "/v1/index/rebuild",
        response_model=RebuildView,
        tags=["operations"],
        summary="Rebuild the index from an empty start by reading the whole chain log",
        responses=errors(503, s503="Still reading the chain, or the rebuild was abandoned"),
    )
    async def rebuild(_: Reader = reader) -> RebuildView:
        indexer()
        try:
            report = await deps.rebuild()
        except (TimeoutError, RuntimeError) as error:
            raise HTTPException(503, f"rebuild abandoned, the live index stays: {error}") from None
        return RebuildView(
            events=report.events,
            households=report.households,
            records_read=report.records_read,
            seconds=report.seconds,
            events_per_second=report.events_per_second,
        )

    return app
