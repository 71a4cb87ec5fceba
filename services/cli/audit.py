"""`assist` commands for auditors: a chain as a timeline, verification, checkpoints, replay.

Per-household commands ask the audit service over HTTP (so every read is recorded); `verify
--all` and `replay` read `assist.chain` from Kafka directly. Exit codes: 0 valid, 1 broken,
2 usage or connection error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from aiokafka.errors import KafkaError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console

from contracts.topics import TopicNames
from events.audit import AnyTreeHead, Checkpoint, TreeHead, TreeHeadV1, parse_tree_head
from services.audit import render
from services.audit.checkpoint_file import (
    CheckpointFileError,
    is_tree_head_file,
    read_checkpoint_file,
    read_tree_head_file,
    write_checkpoint_file,
    write_tree_head_file,
)
from services.audit.client import DEFAULT_URL, AuditClient, AuditError, NotFound, resolve_token
from services.audit.domain.checkpoint import verify_checkpoint
from services.audit.domain.state import fold_state
from services.audit.domain.timeline import timeline
from services.audit.domain.tree_head import cosign, verify_tree_head
from services.audit.household_check import check_household
from services.audit.sweep import SweepReport, sweep_with_progress
from services.audit.tree_head_check import check_growth, check_inclusion
from services.audit.views import state_view
from services.runtime.kafka import login_hint
from services.runtime.settings import KafkaSettings
from services.runtime.signing_keys import key_id, load_or_create, load_public_pem

VALID, BROKEN, ERROR = 0, 1, 2
# A witness's directory (assist checkpoint witness --state).
WITNESS_PRIVATE_FILE, WITNESS_PUBLIC_FILE = "witness-signing.key", "witness-signing.pub"
AUDIT_KEY_FILE, LAST_TREE_HEAD_FILE = "audit-public-key.pem", "last-tree-head.json"

Json = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of text.")]
Url = Annotated[str, typer.Option("--url", envvar="ASSIST_AUDIT_URL", help="The audit service.")]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="ASSIST_TOKEN",
        show_default=False,
        help="Auditor or operator bearer token.",
    ),
]
TokensFile = Annotated[
    Path | None,
    typer.Option(
        "--tokens-file",
        envvar="ASSIST_TOKENS_FILE",
        show_default=False,
        help="Tokens file of the local set-up (default var/tokens.json); used without --token.",
    ),
]
Bootstrap = Annotated[
    str,
    typer.Option(
        "--bootstrap",
        envvar="KAFKA_BOOTSTRAP_SERVERS",
        help="Kafka, for commands that read the log.",
    ),
]
Namespace = Annotated[
    str, typer.Option("--namespace", envvar="ASSIST_TOPIC_NAMESPACE", help="Topic name prefix.")
]
KeptCheckpoint = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint",
        show_default=False,
        help="A checkpoint or tree head file kept outside the system: also check that no "
        "chain it names was cut short or rewritten (checkpoint), or prove each event of the "
        "household in the signed log (tree head, checked on this side).",
    ),
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `assist` app."""
    app.command("chain")(chain)
    app.command("verify")(verify)
    app.command("replay")(replay)
    checkpoint = typer.Typer(help="Signed checkpoints over every chain head.", no_args_is_help=True)
    checkpoint.command("export")(export)
    checkpoint.command("tree-head")(export_tree_head)
    checkpoint.command("consistency")(consistency)
    checkpoint.command("witness")(witness)
    app.add_typer(checkpoint, name="checkpoint")


def chain(
    household_id: Annotated[
        str, typer.Argument(help="The household whose chain to show.", metavar="HOUSEHOLD")
    ],
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    as_json: Json = False,
) -> None:
    """The household's chain as a timeline: when, which service, which event, and why."""
    with _errors(), _client(url, token, tokens_file) as client:
        body = _found(lambda: client.chain(household_id), household_id)
        verification = client.verify(household_id)
    documents: list[dict[str, Any]] = body["events"]
    rows = timeline(documents)
    # Records the chain writer did not append are shown, never folded into the state.
    unsigned = set(body.get("unsigned_records", []))
    appended = [d for place, d in enumerate(documents, start=1) if place not in unsigned]
    state = state_view(fold_state(household_id, appended))
    if as_json:
        _print_json(
            {
                "household_id": household_id,
                "verification": verification,
                "timeline": [asdict(r) for r in rows],
                "state": state.model_dump(mode="json"),
                "events": documents,
            }
        )
    else:
        render.chain(Console(), household_id, rows, state, verification)
    raise typer.Exit(VALID if verification["valid"] else BROKEN)


def verify(
    household_id: Annotated[
        str | None,
        typer.Argument(
            help="The household to verify (or --all).", show_default=False, metavar="HOUSEHOLD"
        ),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Verify every chain in the log.")] = False,
    kept: KeptCheckpoint = None,
    writer_key: Annotated[
        Path | None,
        typer.Option(
            "--writer-key",
            envvar="ASSIST_CHAIN_WRITER_PUBLIC_KEY",
            show_default=False,
            help="The chain writer's public key (PEM), kept outside the system: this pins it. "
            "With --all, or with HOUSEHOLD and a kept tree head: each record's signature is "
            "checked here, records it did not sign are named and the chains verified without "
            "them. Without it, HOUSEHOLD with a tree head uses the key the audit service "
            "serves, which is not trust (it comes from the server being verified) and is said "
            "so.",
        ),
    ] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    bootstrap: Bootstrap = "127.0.0.1:9092",
    namespace: Namespace = "",
    as_json: Json = False,
) -> None:
    """Verify one household's chain, or --all chains; optionally against a kept checkpoint."""
    if every == (household_id is not None):
        raise typer.BadParameter("give either a HOUSEHOLD or --all")
    with _errors():
        if kept is not None and is_tree_head_file(kept):
            head = _kept_tree_head(kept, as_json)
            if household_id is not None:
                with _client(url, token, tokens_file) as client:
                    key, source = _writer_key(client, writer_key)
                    raise typer.Exit(
                        _verify_in_tree_head(client, household_id, head, key, source, as_json)
                    )
            report = _sweep(bootstrap, namespace, None, as_json, head, _public(writer_key))
            if as_json:
                _print_json(render.sweep_json(report))
            else:
                render.sweep(Console(), report, None)
                if report.valid:
                    Console().print(f"the log extends tree head {head.tree_head_id}")
            raise typer.Exit(VALID if report.valid else BROKEN)
        checkpoint = _kept(kept, as_json) if kept else None
        if household_id is not None:
            with _client(url, token, tokens_file) as client:
                code = _verify_one(client, household_id, checkpoint, as_json)
        else:
            report = _sweep(bootstrap, namespace, checkpoint, as_json, None, _public(writer_key))
            code = VALID if report.valid else BROKEN
            if as_json:
                _print_json(render.sweep_json(report))
            else:
                render.sweep(Console(), report, checkpoint)
    raise typer.Exit(code)


def replay(
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Rebuild every projection (the audit index and chain heads) from the log.",
        ),
    ] = False,
    service: Annotated[
        bool,
        typer.Option(
            "--service",
            help="Ask the running audit service to "
            "rebuild its own index, instead of rebuilding here.",
        ),
    ] = False,
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    bootstrap: Bootstrap = "127.0.0.1:9092",
    namespace: Namespace = "",
    as_json: Json = False,
) -> None:
    """Replay the whole chain log from an empty start, and report events/s."""
    if not rebuild:
        raise typer.BadParameter("replay needs --rebuild (rebuild every projection from the log)")
    with _errors():
        if service:
            with _client(url, token, tokens_file) as client:
                body = client.rebuild()
            if as_json:
                _print_json(body)
            else:
                render.service_rebuild(Console(), body)
            raise typer.Exit(VALID)
        report = _sweep(bootstrap, namespace, None, as_json)
    if as_json:
        _print_json(render.sweep_json(report))
    else:
        render.replay(Console(), report)
    raise typer.Exit(VALID if report.valid else BROKEN)


def export(
    file: Annotated[Path, typer.Argument(help="Where to write the checkpoint (JSON).")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    as_json: Json = False,
) -> None:
    """Export the latest signed checkpoint, with its public key, to a file kept outside."""
    if file.exists() and not force:
        raise typer.BadParameter(f"{file} exists; pass --force to replace it")
    with _errors(), _client(url, token, tokens_file) as client:
        checkpoint = _keep_latest(
            client,
            file,
            "checkpoint",
            lambda: Checkpoint.model_validate(client.latest_checkpoint()),
            verify_checkpoint,
            write_checkpoint_file,
        )
    summary = render.checkpoint_json(checkpoint) | {"file": str(file)}
    if as_json:
        _print_json(summary)
    else:
        Console().print(
            f"[green]exported[/] checkpoint {checkpoint.checkpoint_id} to {file}: "
            f"{checkpoint.households} households, {checkpoint.events} events, "
            f"root {checkpoint.merkle_root[:16]}..., key {checkpoint.key_id}"
        )
    raise typer.Exit(VALID)


def export_tree_head(
    file: Annotated[Path, typer.Argument(help="Where to write the tree head (JSON).")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    as_json: Json = False,
) -> None:
    """Export the latest signed tree head (a few hundred bytes), with its public key."""
    if file.exists() and not force:
        raise typer.BadParameter(f"{file} exists; pass --force to replace it")
    with _errors(), _client(url, token, tokens_file) as client:
        head = _keep_latest(
            client,
            file,
            "tree head",
            lambda: parse_tree_head(client.latest_tree_head()),
            verify_tree_head,
            write_tree_head_file,
        )
    if as_json:
        _print_json(head.model_dump(mode="json") | {"file": str(file)})
    else:
        sizes = ", ".join(f"partition {t.partition}: {t.size}" for t in head.verified_trees())
        Console().print(
            f"[green]exported[/] tree head {head.tree_head_id} to {file}: {sizes}; "
            f"key {head.key_id}"
        )
    raise typer.Exit(VALID)


Signed = TypeVar("Signed", Checkpoint, TreeHead | TreeHeadV1)


def _keep_latest(
    client: AuditClient,
    file: Path,
    what: str,
    latest: Callable[[], Signed],
    verify: Callable[[Signed, Ed25519PublicKey], list[str]],
    write: Callable[[Path, Signed, str, str], None],
) -> Signed:
    """The service's latest checkpoint or tree head, checked against its public key before it
    is written, with that key, to the file the auditor keeps."""
    try:
        signed = latest()
    except NotFound as missing:
        _fail(f"no {what} to export: {missing}")
    pem = str(client.public_key()["public_key_pem"])
    problems = verify(signed, load_public_pem(pem))
    if problems:
        _fail(f"the service's {what} does not verify, not exported: " + "; ".join(problems), BROKEN)
    write(file, signed, pem, client.url)
    return signed


def consistency(
    old: Annotated[Path, typer.Argument(help="The older kept tree head.")],
    new: Annotated[Path, typer.Argument(help="The newer kept tree head.")],
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    as_json: Json = False,
) -> None:
    """Check that the log only grew between two kept tree heads (proofs checked here)."""
    with _errors():
        older, newer = _kept_tree_head(old, as_json), _kept_tree_head(new, as_json)
        if older.key_id != newer.key_id:
            _fail(f"signed by different keys: {older.key_id} and {newer.key_id}", BROKEN)
        with _client(url, token, tokens_file) as client:
            problems = check_growth(client, older, newer)
    if as_json:
        _print_json({"consistent": not problems, "problems": problems})
    elif problems:
        Console().print("[red]NOT consistent[/]: the newer tree head does not extend the older")
        for problem in problems:
            Console().print(f"  {problem}")
    else:
        grown = ", ".join(
            f"partition {t.partition}: {t.size} -> {getattr(newer.tree(t.partition), 'size', 0)}"
            for t in older.verified_trees()
        )
        Console().print(f"[green]consistent[/]: the log only grew ({grown})")
    raise typer.Exit(BROKEN if problems else VALID)


def witness(
    state: Annotated[
        Path,
        typer.Option(
            "--state",
            envvar="ASSIST_WITNESS_DIR",
            help="The witness's own directory, outside the system: its key pair, the audit's "
            "public key pinned on first use, and the last tree head it co-signed.",
        ),
    ],
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    as_json: Json = False,
) -> None:
    """As an outside witness: check that the latest tree head extends the last one this witness
    co-signed (proofs checked here), then co-sign it with the witness's own key."""
    with _errors(), _client(url, token, tokens_file) as client:
        key = load_or_create(state, WITNESS_PRIVATE_FILE, WITNESS_PUBLIC_FILE)
        audit_pem = _pinned_audit_key(state, str(client.public_key()["public_key_pem"]))
        try:
            head = parse_tree_head(client.latest_tree_head())
        except NotFound as missing:
            _fail(f"no tree head to witness: {missing}")
        problems = verify_tree_head(head, load_public_pem(audit_pem))
        last_file = state / LAST_TREE_HEAD_FILE
        previous = read_tree_head_file(last_file)[0] if last_file.exists() else None
        if not problems and previous is not None:
            problems = check_growth(client, previous, head)
        if problems:
            if as_json:
                _print_json({"witnessed": False, "problems": problems})
            _fail("not co-signed: " + "; ".join(problems), BROKEN)
        answer = client.add_witness(
            str(head.tree_head_id),
            {
                "witness_public_key_pem": key.public_pem,
                "signature": cosign(key.private, head),
                "previous_tree_head_id": str(previous.tree_head_id) if previous else None,
            },
        )
        write_tree_head_file(last_file, head, audit_pem, client.url)
    if as_json:
        _print_json({"witnessed": True, **answer})
    else:
        since = f"extends {previous.tree_head_id}" if previous else "the first this witness saw"
        Console().print(
            f"[green]witnessed[/] tree head {head.tree_head_id} ({since}); co-signed with key "
            f"{key.key_id}"
        )
    raise typer.Exit(VALID)


def _pinned_audit_key(state: Path, served_pem: str) -> str:
    """The audit's public key as this witness first saw it; a service now signing with another
    key is refused (its earlier tree heads could not be told from forgeries)."""
    pinned = state / AUDIT_KEY_FILE
    if not pinned.exists():
        pinned.write_text(served_pem)
        return served_pem
    kept = pinned.read_text()
    if key_id(load_public_pem(kept)) != key_id(load_public_pem(served_pem)):
        _fail(
            f"the audit service now signs with key {key_id(load_public_pem(served_pem))}, not "
            f"with {key_id(load_public_pem(kept))} pinned in {pinned}: not co-signed",
            BROKEN,
        )
    return kept


# Where the chain writer's key a check used came from
PINNED, FROM_SERVER = "--writer-key", "server"


def _writer_key(
    client: AuditClient, path: Path | None
) -> tuple[Ed25519PublicKey | None, str | None]:
    """The chain writer's key: pinned by --writer-key, else the one the service serves (not
    trust: it comes from the server being verified), else none (signatures not checked)."""
    if path is not None:
        return _public(path), PINNED
    try:
        served = client.writer_key()
    except NotFound:
        return None, None
    try:
        return load_public_pem(str(served.get("public_key_pem"))), FROM_SERVER
    except ValueError as error:
        _fail(f"the service's chain writer's key is not an Ed25519 public key: {error}", BROKEN)


def _verify_in_tree_head(
    client: AuditClient,
    household_id: str,
    head: AnyTreeHead,
    writer_key: Ed25519PublicKey | None,
    key_source: str | None,
    as_json: bool,
) -> int:
    try:
        check = check_inclusion(client, household_id, head, writer_key)
    except NotFound:
        _fail(f"no chain for household {household_id!r}")
    if as_json:
        _print_json(asdict(check) | {"valid": check.valid, "writer_key_source": key_source})
    else:
        console = Console()
        if check.valid:
            console.print(
                f"[green]valid[/]: {household_id}, {check.length} events; {check.in_tree_head} "
                f"proven in tree head {head.tree_head_id}, {check.after_tree_head} after it"
            )
        else:
            why = check.chain_reason if not check.chain_valid else "not in the signed log"
            console.print(f"[red]BROKEN[/]: {household_id}: {why}")
            for finding in check.findings:
                console.print(f"  {finding}")
        if key_source == PINNED:
            console.print(f"chain writer's signatures checked here with key {check.writer_key_id}")
        elif key_source == FROM_SERVER:
            console.print(
                f"[yellow]note[/]: chain writer's signatures checked here with key "
                f"{check.writer_key_id}, which came from the audit service being verified; "
                "pin the key with --writer-key"
            )
        else:
            console.print(
                "[yellow]note[/]: chain writer's signatures not checked here (no --writer-key, "
                "and the service serves no chain writer's key)"
            )
    return VALID if check.valid else BROKEN


def _kept_tree_head(path: Path, as_json: bool) -> AnyTreeHead:
    head, key = read_tree_head_file(path)
    problems = verify_tree_head(head, key)
    if problems:
        if as_json:
            _print_json({"valid": False, "tree_head_problems": problems})
        _fail(f"the kept tree head {path} does not verify: " + "; ".join(problems), BROKEN)
    return head


def _verify_one(
    client: AuditClient, household_id: str, checkpoint: Checkpoint | None, as_json: bool
) -> int:
    try:
        check = check_household(client, household_id, checkpoint)
    except NotFound:
        _fail(f"no chain for household {household_id!r}")
    if as_json:
        findings = [asdict(f) for f in check.findings]
        _print_json(
            {
                **check.verification,
                "valid": check.valid,
                "chain_valid": check.verification["valid"],
                "checkpoint_findings": findings,
            }
        )
    else:
        render.verification(
            Console(), check.verification, check.findings, checkpoint, check.in_checkpoint
        )
    return VALID if check.valid else BROKEN


def _kept(path: Path, as_json: bool) -> Checkpoint:
    checkpoint, key = read_checkpoint_file(path)
    problems = verify_checkpoint(checkpoint, key)
    if problems:
        if as_json:
            _print_json({"valid": False, "checkpoint_problems": problems})
        _fail(f"the kept checkpoint {path} does not verify: " + "; ".join(problems), BROKEN)
    return checkpoint


def _sweep(
    bootstrap: str,
    namespace: str,
    checkpoint: Checkpoint | None,
    quiet: bool,
    tree_head: AnyTreeHead | None = None,
    writer_key: Ed25519PublicKey | None = None,
) -> SweepReport:
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    topic = TopicNames(namespace).chain
    return asyncio.run(sweep_with_progress(kafka, topic, checkpoint, quiet, tree_head, writer_key))


def _public(path: Path | None) -> Ed25519PublicKey | None:
    try:
        return load_public_pem(path.read_text()) if path is not None else None
    except (OSError, ValueError) as error:
        _fail(f"--writer-key {path}: {error}")


@contextmanager
def _client(url: str, token: str | None, tokens_file: Path | None) -> Iterator[AuditClient]:
    client = AuditClient(url, resolve_token(token, tokens_file))
    try:
        yield client
    finally:
        client.close()


@contextmanager
def _errors() -> Iterator[None]:
    """Turn what keeps a command from its answer into a clear message and exit code 2."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except (AuditError, CheckpointFileError) as error:
        _fail(str(error))
    except (KafkaError, OSError, RuntimeError, TimeoutError) as error:
        hint = login_hint(error, KafkaSettings())
        _fail(f"cannot read the chain log from Kafka: {type(error).__name__}: {error}{hint}")


def _found(call: Callable[[], dict[str, Any]], household_id: str) -> dict[str, Any]:
    try:
        return call()
    except NotFound:
        _fail(f"no chain for household {household_id!r}")


def _fail(message: str, code: int = ERROR) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _print_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False, default=str))
