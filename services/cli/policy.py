"""`assist policy propose FILE | impact VERSION | approve VERSION | withdraw VERSION | list`.

Every command asks the policy service over HTTP as a person: the token is given, or taken from
the tokens file (`--user` picks which policy user; maker-checker needs two). Exit codes: 0 done,
2 refused by the service or not reached.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.audit.client import AuditError, resolve_token
from services.policy.client import DEFAULT_URL, PolicyClient, PolicyError

DONE, ERROR = 0, 2
POLL_SECONDS = 0.25

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

Json = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of text.")]
Url = Annotated[str, typer.Option("--url", envvar="ASSIST_POLICY_URL", help="The policy service.")]
Token = Annotated[
    str | None,
    typer.Option("--token", envvar="ASSIST_TOKEN", show_default=False, help="Bearer token."),
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
User = Annotated[
    str | None,
    typer.Option(
        "--user",
        envvar="ASSIST_USER",
        show_default=False,
        help="Whose token to take from the tokens file (e.g. policy.liu to approve).",
    ),
]
Version = Annotated[str, typer.Argument(help="The policy version's name.", metavar="VERSION")]


def register(app: typer.Typer) -> None:
    """Add the `policy` commands to the `assist` app."""
    policy = typer.Typer(
        help="Policy versions: propose, see the impact, approve, withdraw.", no_args_is_help=True
    )
    for command in (propose, impact, approve, withdraw):
        policy.command(command.__name__)(command)
    policy.command("list")(list_versions)
    app.add_typer(policy, name="policy")


def propose(
    file: Annotated[Path, typer.Argument(help="The version as JSON (interfaces.md).")],
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    user: User = None,
    as_json: Json = False,
) -> None:
    """Propose a version: its name, effective_from, and what changes."""
    try:
        body = json.loads(file.read_text())
    except (OSError, ValueError) as error:
        _fail(f"cannot read {file}: {error}")
    with _client(url, token, tokens_file, ("policy",), user) as client:
        version = client.propose(body)
    _show_version(version, as_json, f"proposed by {version['proposed_by']}")


def approve(
    version: Version,
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    user: User = None,
    as_json: Json = False,
) -> None:
    """Approve a version proposed by someone else."""
    with _client(url, token, tokens_file, ("policy",), user) as client:
        body = client.approve(version)
    _show_version(body, as_json, f"approved by {body['approved_by']}")


def withdraw(
    version: Version,
    reason: Annotated[str | None, typer.Option("--reason", help="Why.")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    user: User = None,
    as_json: Json = False,
) -> None:
    """Withdraw a version that has not taken effect."""
    with _client(url, token, tokens_file, ("policy",), user) as client:
        body = client.withdraw(version, reason)
    _show_version(body, as_json, f"withdrawn by {body['withdrawn_by']}")


def list_versions(
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    user: User = None,
    as_json: Json = False,
) -> None:
    """Every version, its status and who decided what."""
    with _client(url, token, tokens_file, ("policy", "auditor", "operator"), user) as client:
        versions = client.versions()
    if as_json:
        _print_json(versions)
        return
    table = Table(title="policy versions")
    for column in ("version", "effective from", "status", "proposed by", "approved by", "note"):
        table.add_column(column, overflow="fold")
    for v in versions:
        decided = v["approved_by"] or (
            f"withdrawn by {v['withdrawn_by']}" if v["withdrawn_by"] else "-"
        )
        table.add_row(
            v["policy_version"],
            v["effective_from"],
            v["status"],
            v["proposed_by"],
            decided,
            v["note"] or "",
        )
    out.print(table)


def impact(
    version: Version,
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    user: User = None,
    as_json: Json = False,
) -> None:
    """What the version would change over every open household (nothing is written)."""
    with (
        _client(url, token, tokens_file, ("policy", "auditor"), user) as client,
        _client(url, token, tokens_file, ("policy", "auditor"), user) as poller,
    ):
        report = _with_progress(client, poller, version, quiet=as_json)
    if as_json:
        _print_json(report)
        return
    out.print(
        f"[bold]impact of {report['policy_version']}[/] from {report['effective_from']}: "
        f"{report['households']} open households"
    )
    for region in report["regions"]:
        out.print(_region_table(region))


def _with_progress(
    client: PolicyClient, poller: PolicyClient, version: str, quiet: bool
) -> dict[str, Any]:
    """The impact, with a progress bar from the service's own count while it computes."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(client.impact, version)
        if quiet:
            return answer.result()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as bar:
            task = bar.add_task("households judged", total=None)
            while not answer.done():
                try:
                    progress = poller.progress(version)
                except PolicyError:
                    progress = {}
                if progress.get("running") and progress.get("total"):
                    bar.update(task, total=progress["total"], completed=progress["done"])
                time.sleep(POLL_SECONDS)
        return answer.result()


def _region_table(region: dict[str, Any]) -> Table:
    table = Table(title=f"region {region['region_code']}", title_justify="left")
    table.add_column("change")
    table.add_column("what", overflow="fold")
    table.add_column("count / CNY a month", justify="right")
    for transition, count in region["tiers"].items():
        table.add_row("tier", transition, str(count))
    for program, count in region["referrals_issued"].items():
        table.add_row("issued", program, str(count))
    for program, count in region["referrals_withdrawn"].items():
        table.add_row("withdrawn", program, str(count))
    if not (region["tiers"] or region["referrals_issued"] or region["referrals_withdrawn"]):
        table.add_row("-", "no household changes tier or referrals", "")
    gap = "minimum-living gap"
    table.add_row(gap, "before", region["minimum_living_gap_before"])
    table.add_row(gap, "after", region["minimum_living_gap_after"])
    return table


def _show_version(version: dict[str, Any], as_json: bool, what: str) -> None:
    if as_json:
        _print_json(version)
        return
    out.print(
        f"[bold]{version['policy_version']}[/] ({version['status']}), effective from "
        f"{version['effective_from']}: {what}"
    )
    regions = Table(title="standards of this version", title_justify="left")
    for column in ("region", "name", "D", "prior-year income", "multiplier", "asset months"):
        regions.add_column(column)
    for r in version["regions"]:
        regions.add_row(
            r["region_code"],
            r["name"],
            r["dibao_standard"],
            r["prior_year_disposable_income"],
            r["marginal_multiplier"],
            str(r["asset_months"]),
        )
    out.print(regions)


@contextmanager
def _client(
    url: str,
    token: str | None,
    tokens_file: Path | None,
    roles: tuple[str, ...],
    user: str | None,
) -> Iterator[PolicyClient]:
    try:
        client = PolicyClient(url, resolve_token(token, tokens_file, roles=roles, user=user))
    except AuditError as error:
        _fail(str(error))
    try:
        yield client
    except PolicyError as error:
        _fail(str(error))
    finally:
        client.close()


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/] {message}")
    raise typer.Exit(ERROR)


def _print_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
