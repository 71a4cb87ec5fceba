"""`assist clock show | advance --to YYYY-MM-DD | --days N`: the system's clock (interfaces.md).

Asks the scheduler over HTTP (ASSIST_SCHEDULER_URL, default http://127.0.0.1:8010). The token
is --token, ASSIST_TOKEN, or the first operator's of the tokens file. Exit codes: 0 done,
1 refused by the scheduler (token, role, a date not after now, a wall clock), 2 usage or
connection error.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console

from services.audit.client import AuditError, resolve_token

DEFAULT_URL = "http://127.0.0.1:8010"
DONE, REFUSED, ERROR = 0, 1, 2

Json = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of text.")]
Url = Annotated[
    str, typer.Option("--url", envvar="ASSIST_SCHEDULER_URL", help="The scheduler service.")
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="ASSIST_TOKEN", show_default=False, help="Operator bearer token."
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


def register(app: typer.Typer) -> None:
    """Add `assist clock ...` to the `assist` app."""
    group = typer.Typer(
        name="clock",
        no_args_is_help=True,
        help="The system's clock: show it, or move a manual clock forward (operator).",
    )
    group.command("show")(show)
    group.command("advance")(advance)
    app.add_typer(group, name="clock")


def show(
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    as_json: Json = False,
) -> None:
    """The system's current date and time (ISO 8601) and whether the clock is manual."""
    body = _request("GET", url, _token(token, tokens_file, ("operator", "auditor", "policy")))
    if as_json:
        _print_json(body)
        return
    Console().print(
        f"{body['now']}  (today {body['today']} in {body.get('time_zone', 'the deployment zone')}; "
        f"{body['mode']} clock)",
        highlight=False,
    )


def advance(
    to: Annotated[
        str | None,
        typer.Option(
            "--to", metavar="YYYY-MM-DD", show_default=False, help="Move to midnight of this date."
        ),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, show_default=False, help="Move this many days forward."),
    ] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
    tokens_file: TokensFile = None,
    as_json: Json = False,
) -> None:
    """Move the manual clock forward: every timer it passes fires, in date order, once."""
    if (to is None) == (days is None):
        raise typer.BadParameter("give either --to YYYY-MM-DD or --days N")
    body: dict[str, Any] = {"days": days}
    if to is not None:
        try:
            body = {"to": date.fromisoformat(to).isoformat()}
        except ValueError:
            raise typer.BadParameter(f"--to: {to!r} is not a date YYYY-MM-DD") from None
    reply = _request("POST", url, _token(token, tokens_file, ("operator",)), "/advance", body)
    if as_json:
        _print_json(reply)
        return
    Console().print(
        f"[green]clock advanced[/] from {reply['previous']} to {reply['now']} "
        f"by {reply['advanced_by']}",
        highlight=False,
    )


def _token(token: str | None, tokens_file: Path | None, roles: tuple[str, ...]) -> str:
    try:
        return resolve_token(token, tokens_file, roles=roles)
    except AuditError as error:
        _fail(str(error))


def _request(
    method: str, url: str, token: str, path: str = "", body: dict[str, Any] | None = None
) -> dict[str, Any]:
    base = url.rstrip("/")
    try:
        reply = httpx.request(
            method,
            f"{base}/v1/clock{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except httpx.HTTPError as error:
        _fail(f"cannot reach the scheduler at {base}: {error}")
    if reply.status_code in (401, 403, 409, 422):
        _fail(f"the scheduler refused ({reply.status_code}): {_detail(reply)}", REFUSED)
    if reply.status_code >= 400:
        _fail(f"the scheduler answered {reply.status_code}: {_detail(reply)}")
    result: dict[str, Any] = reply.json()
    return result


def _detail(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return reply.text[:200]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)


def _fail(message: str, code: int = ERROR) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _print_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
