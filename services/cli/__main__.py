"""`assist`: the command line for auditors and operators."""

from __future__ import annotations

import typer

from services.cli import audit, clock, deadletter, policy

app = typer.Typer(
    name="assist",
    help="Auditors and operators of the assistance chain: chains, verification, dead letters.",
    no_args_is_help=True,
)
audit.register(app)
deadletter.register(app)
clock.register(app)
policy.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
