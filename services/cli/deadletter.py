"""`assist deadletter list | show ID | replay ID | skip | skips`: inspect dead letters, re-drive
them after a fix, and skip a message that stops a processor.

Kafka and the topic namespace come from the environment, as for the services
(KAFKA_BOOTSTRAP_SERVERS, ASSIST_TOPIC_NAMESPACE). Output masks resident identity numbers;
`show --raw` is the one way to get a dead letter's original bytes, to edit them into a fix. A
truncated dead letter (an original too large to quote whole) holds only the original's first
bytes: `show --raw` and `replay` read the original back from its source offset.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from contracts.topics import TopicNames
from services.operations.deadletters import DeadLetterEntry, DeadLetterLog, describe, json_refusal
from services.operations.redrive import RedriveRefused, load_dead_letters, original_of, redrive
from services.operations.skips import SkipEntry, SkipRefused, load_skips, order_skip
from services.runtime.kafka import login_hint
from services.runtime.logging import mask_identity_numbers
from services.runtime.settings import KafkaSettings, TopicSettings

T = TypeVar("T")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
IdArgument = Annotated[str, typer.Argument(help="A dead letter's id, or a unique prefix of it.")]


def _settings() -> tuple[KafkaSettings, TopicNames]:
    return KafkaSettings(), TopicNames(TopicSettings().namespace)


def _run(job: Coroutine[Any, Any, T]) -> T:
    """Run against Kafka; a broker that cannot be reached is a one-line error, exit code 1."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its retries: we say it once
    try:
        return asyncio.run(job)
    except (RedriveRefused, SkipRefused) as refused:
        err.print(f"[red]refused:[/red] {mask_identity_numbers(str(refused))}")
        raise typer.Exit(1) from None
    except LookupError as missing:
        err.print(f"[red]{mask_identity_numbers(str(missing))}[/red]")
        raise typer.Exit(1) from None
    except Exception as error:  # noqa: BLE001 - Kafka client errors: say what and where
        kafka = KafkaSettings()
        err.print(
            f"[red]Kafka at {kafka.bootstrap_servers}: "
            f"{type(error).__name__}: {error}{login_hint(error, kafka)}[/red]"
        )
        raise typer.Exit(1) from None


def _print_json(document: Any) -> None:
    out.out(
        mask_identity_numbers(json.dumps(document, indent=2, ensure_ascii=False)), highlight=False
    )


def _load() -> DeadLetterLog:
    kafka, topics = _settings()
    return _run(load_dead_letters(kafka, topics))


def list_dead_letters(
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many, newest first.")] = 50,
    service: Annotated[str | None, typer.Option(help="Only those of this service.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List dead letters, newest first: id, when, which service, where from, why."""
    log = _load()
    entries = log.recent(limit, service)
    if as_json:
        _print_json([_summary(e) for e in entries])
        return
    table = Table(title=f"{log.total} dead letters" + (f" of {service}" if service else ""))
    table.add_column("id", no_wrap=True)
    for column in ("failed at", "service", "source", "reason", "re-driven"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        row = _summary(entry)
        table.add_row(
            row["dead_letter_id"],
            entry.letter.failed_at.isoformat(timespec="seconds"),
            row["service"],
            entry.source,
            mask_identity_numbers(row["reason"]),
            str(row["redriven"] or ""),
        )
    out.print(table)


def _summary(entry: DeadLetterEntry) -> dict[str, Any]:
    document = describe(entry)
    del document["value_text"], document["key"]
    document["redriven"] = len(document.pop("redrives"))
    return document


def show(
    dead_letter_id: IdArgument,
    as_json: JsonOption = False,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw", help="Write the original bytes, unmasked, to stdout (to edit them into a fix)."
        ),
    ] = False,
) -> None:
    """Show one dead letter: its reason, source, key, original message and re-drives."""
    entry = _run(_find(dead_letter_id))
    if raw:
        original = entry.value
        if original is None:  # truncated: the original is at its source offset
            _, original = _run(original_of(KafkaSettings(), entry))
        sys.stdout.buffer.write(original)
        sys.stdout.buffer.flush()
        return
    document = describe(entry)
    if as_json:
        _print_json(document)
        return
    source = document["source"]
    for label, value in (
        ("id", document["dead_letter_id"]),
        ("service", document["service"]),
        ("failed at", document["failed_at"]),
        ("reason", document["reason"]),
        ("source", f"{source['topic']} partition {source['partition']} offset {source['offset']}"),
        ("key", document["key"]),
        ("size", _size(document)),
        (
            "re-driven",
            ", ".join(
                f"{r['redriven_at']} to {r['topic']}/{r['partition']}@{r['offset']}"
                for r in document["redrives"]
            )
            or "never",
        ),
    ):
        out.print(f"[bold]{label:>10}[/bold]  {mask_identity_numbers(str(value))}")
    out.print("[bold]  original[/bold]" + (" (first bytes)" if document["truncated"] else ""))
    out.out(mask_identity_numbers(document["value_text"] or "(not UTF-8 text)"), highlight=False)


def _size(document: dict[str, Any]) -> str:
    size = f"{document['value_bytes']} bytes"
    if not document["truncated"]:
        return size
    return (
        f"{size}, sha256 {document['value_sha256']}; truncated: the dead letter holds the first "
        f"{document['quoted_bytes']}, the original is at {document['original_at']} "
        "(show --raw and replay read it from there)"
    )


async def _find(dead_letter_id: str) -> DeadLetterEntry:
    kafka, topics = _settings()
    return (await load_dead_letters(kafka, topics)).find(dead_letter_id)


def replay(
    dead_letter_id: IdArgument,
    value_file: Annotated[
        Path | None,
        typer.Option(
            "--value-file",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Publish this file's bytes (the fixed message) instead of the original ones.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Re-drive even though this dead letter was re-driven before."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Re-publish a dead letter to its source topic, with its original key, exactly once."""
    value = value_file.read_bytes() if value_file is not None else None
    if value is not None and (refusal := json_refusal(value)) is not None:
        err.print(f"[red]refused:[/red] {refusal}")
        raise typer.Exit(1)
    kafka, topics = _settings()
    record = _run(redrive(kafka, topics, dead_letter_id, value, force))
    document = record.model_dump(mode="json")
    if as_json:
        _print_json(document)
        return
    what = "fixed value" if record.fixed else "original value"
    out.print(
        f"re-drove {record.dead_letter_id} ({what}) to {record.topic} partition "
        f"{record.partition} offset {record.offset}; "
        f"recorded on {topics.deadletter_redriven}"
    )


def skip(
    service: Annotated[
        str,
        typer.Option(
            "--service",
            "--processor",
            help="The processor (its name in /healthz, with or without the topic namespace).",
        ),
    ],
    topic: Annotated[str, typer.Option(help="The input topic of the message.")],
    partition: Annotated[int, typer.Option(min=0, help="Its partition.")],
    offset: Annotated[int, typer.Option(min=0, help="Its offset.")],
    reason: Annotated[
        str, typer.Option(help="Why it is skipped: recorded with the order and the dead letter.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Order a processor to dead-letter the message at one input position and go on past it.

    For a message the processor is stuck at (/healthz and the console say "stuck at
    topic/partition@offset: reason"). The order is recorded on assist.deadletter.skips with who
    gave it and why; the processor carries it out at its next start (a stuck one restarts
    within seconds), and records that it did. The message stays at its offset, and its dead
    letter can be re-driven once what stopped the processor is fixed.
    """
    kafka, topics = _settings()
    placed = _run(order_skip(kafka, topics, service, topic, partition, offset, reason))
    order = placed.order
    if as_json:
        _print_json(
            {
                **order.model_dump(mode="json"),
                "committed": placed.committed,
                "end": placed.end,
                "new": placed.new,
            }
        )
        return
    where = f"{order.topic}/{order.partition}@{order.offset}"
    if not placed.new:
        out.print(f"{order.processor} was already ordered to skip {where} by {order.operator}")
    else:
        out.print(
            f"ordered {order.processor} to skip {where}; recorded on {topics.deadletter_skips}"
        )
    if placed.committed is None:
        out.print(
            f"[yellow]note:[/yellow] {order.processor} has committed nothing on that "
            "partition yet: check the processor's name if it is not stuck at its very "
            "first message"
        )
    elif placed.committed != order.offset:
        out.print(
            f"[yellow]note:[/yellow] {order.processor} is at offset {placed.committed} there: "
            "the message is skipped when it gets to it (after its next start)"
        )


def skips(as_json: JsonOption = False) -> None:
    """List the orders to skip a message, and whether each processor carried its own out."""
    kafka, topics = _settings()
    entries: list[SkipEntry] = _run(load_skips(kafka, topics))
    if as_json:
        _print_json(
            [
                {
                    **e.order.model_dump(mode="json"),
                    "skipped": e.done.model_dump(mode="json") if e.done else None,
                }
                for e in entries
            ]
        )
        return
    table = Table(title=f"{len(entries)} skip orders")
    for column in ("ordered at", "by", "processor", "position", "reason", "skipped"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            entry.order.ordered_at.isoformat(timespec="seconds"),
            entry.order.operator,
            entry.order.processor,
            entry.position,
            mask_identity_numbers(entry.order.reason),
            entry.done.skipped_at.isoformat(timespec="seconds") if entry.done else "not yet",
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `assist` app."""
    group = typer.Typer(
        name="deadletter",
        no_args_is_help=True,
        help="Dead letters: list, inspect, re-drive them after a fix; skip a message that "
        "stops a processor.",
    )
    group.command("list")(list_dead_letters)
    group.command("show")(show)
    group.command("replay")(replay)
    group.command("skip")(skip)
    group.command("skips")(skips)
    app.add_typer(group, name="deadletter")
