"""How `assist` shows audit answers: rich tables for people, plain dicts for `--json`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from events.audit import Checkpoint
from services.audit.domain.checkpoint import HeadFinding
from services.audit.domain.timeline import TimelineRow
from services.audit.sweep import SweepReport
from services.audit.views import StateView

MAX_LISTED = 50  # broken chains listed in full; the rest are counted


def chain(
    console: Console,
    household_id: str,
    rows: Sequence[TimelineRow],
    state: StateView,
    verification: dict[str, Any],
) -> None:
    console.print(f"[bold]chain of {household_id}[/]: {len(rows)} events")
    for row in rows:
        # A timeline, not a table: the why of a classification is long and must stay readable.
        console.print(
            f"[bold]#{row.sequence or '?'}[/] {row.recorded_at}  "
            f"[cyan]{row.event_type}[/]  by {row.producer}",
            highlight=False,
        )
        console.print(f"    {row.what}", highlight=False)
        if row.why:
            console.print(f"    [dim]why:[/] {row.why}", highlight=False)
    if state.referrals:
        referrals = Table(title="referrals and their outcome")
        for column in ("referral", "program", "department", "status", "answered at", "detail"):
            referrals.add_column(column, overflow="fold")
        for r in state.referrals:
            status = r.status + (" (overdue)" if r.overdue else "")
            referrals.add_row(
                r.referral_id,
                r.program,
                r.department,
                status,
                r.answered_at.isoformat() if r.answered_at else "-",
                r.reason or "",
            )
        console.print(referrals)
    for item in state.delivered:
        what = ", ".join(
            x
            for x in (f"cash {item.cash_amount}" if item.cash_amount else "", item.service or "")
            if x
        )
        console.print(
            f"delivered: {item.program} by {item.department}: {what} "
            f"({item.delivered_at.isoformat()})"
        )
    if state.tier:
        console.print(
            f"now: tier {state.tier}, tags {', '.join(state.tags) or '-'}, "
            f"policy {state.policy_version}, settled: {'yes' if state.settled else 'no'}"
        )
    verification_line(console, verification)


def verification_line(console: Console, verification: dict[str, Any]) -> None:
    if verification["valid"]:
        console.print(
            f"[green]chain valid[/]: {verification['length']} events, head "
            f"{str(verification['head_hash'])[:16]}..."
        )
    else:
        console.print(
            f"[red]chain BROKEN[/] at sequence {verification['first_bad_sequence']} "
            f"of {verification['length']}: {verification.get('reason')}"
        )


def verification(
    console: Console,
    result: dict[str, Any],
    findings: Sequence[HeadFinding],
    checkpoint: Checkpoint | None,
    in_checkpoint: bool,
) -> None:
    console.print(f"household {result['household_id']}: ", end="")
    if result["length"] or not findings:
        verification_line(console, result)
    for finding in findings:
        console.print(
            f"[red]{finding.problem}[/] since checkpoint "
            f"{checkpoint.checkpoint_id if checkpoint else ''}: {finding.detail}"
        )
    if checkpoint is not None and not in_checkpoint:
        console.print("(not in the kept checkpoint: nothing to compare)")
    elif checkpoint is not None and not findings:
        console.print(f"[green]agrees with checkpoint[/] {checkpoint.checkpoint_id}")


def sweep(console: Console, report: SweepReport, checkpoint: Checkpoint | None) -> None:
    console.print(
        f"read {report.records} records: {report.households} chains, "
        f"{report.events} events in {report.seconds:.2f}s "
        f"({report.events_per_second:,.0f} events/s)"
    )
    if report.broken:
        table = Table(title=f"{len(report.broken)} broken chains (first broken link of each)")
        for column in ("household", "first bad sequence", "length", "why"):
            table.add_column(column, overflow="fold")
        for household_id, v in report.broken[:MAX_LISTED]:
            table.add_row(household_id, str(v.first_bad_sequence), str(v.length), v.reason or "")
        console.print(table)
        if len(report.broken) > MAX_LISTED:
            console.print(f"... and {len(report.broken) - MAX_LISTED} more (--json lists all)")
    if checkpoint is not None:
        console.print(
            f"checkpoint {checkpoint.checkpoint_id} of {checkpoint.created_at}: "
            f"signature verifies (key {checkpoint.key_id}), "
            f"{checkpoint.households} households"
        )
        for finding in report.findings[:MAX_LISTED]:
            console.print(f"[red]{finding.problem}[/] {finding.household_id}: {finding.detail}")
    for problem in report.log_findings[:MAX_LISTED]:
        console.print(f"[red]log[/] {problem}")
    for household_id, place in report.unsigned[:MAX_LISTED]:
        console.print(
            f"[red]not appended by the chain writer[/] {household_id}: record {place} "
            "(no valid signature)"
        )
    if report.valid:
        console.print(
            "[green]every chain is valid[/]" + (" and extends the checkpoint" if checkpoint else "")
        )
    if report.unfiled:
        console.print(f"[yellow]{report.unfiled} records with no household key[/]")


def sweep_json(report: SweepReport) -> dict[str, Any]:
    return {
        "valid": report.valid,
        "records": report.records,
        "events": report.events,
        "households": report.households,
        "unfiled_records": report.unfiled,
        "seconds": round(report.seconds, 3),
        "events_per_second": round(report.events_per_second, 1),
        "merkle_root": report.merkle_root,
        "broken": [
            {
                "household_id": household_id,
                "first_bad_sequence": v.first_bad_sequence,
                "length": v.length,
                "reason": v.reason,
            }
            for household_id, v in report.broken
        ],
        "checkpoint_findings": [
            {"household_id": f.household_id, "problem": f.problem, "detail": f.detail}
            for f in report.findings
        ],
        "log_findings": report.log_findings,
        "unsigned": [{"household_id": h, "record": place} for h, place in report.unsigned],
    }


def replay(console: Console, report: SweepReport) -> None:
    console.print(
        f"rebuilt the audit index from the log: {report.households} chains, "
        f"{report.events} events ({report.records} records) in {report.seconds:.2f}s: "
        f"[bold]{report.events_per_second:,.0f} events/s[/]"
    )
    console.print(f"Merkle root of today's heads: {report.merkle_root}")
    if report.broken:
        console.print(f"[red]{len(report.broken)} broken chains[/] (assist verify --all)")


def service_rebuild(console: Console, body: dict[str, Any]) -> None:
    console.print(
        f"the audit service rebuilt its index: {body['households']} chains, "
        f"{body['events']} events in {body['seconds']:.2f}s: "
        f"[bold]{body['events_per_second']:,.0f} events/s[/]"
    )


def checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "checkpoint_id": str(checkpoint.checkpoint_id),
        "created_at": checkpoint.created_at.isoformat(),
        "households": checkpoint.households,
        "events": checkpoint.events,
        "merkle_root": checkpoint.merkle_root,
        "key_id": checkpoint.key_id,
    }
