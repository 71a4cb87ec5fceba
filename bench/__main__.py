"""`python -m bench` (`make bench`): how much the loop carries on this machine, how fast, how
fast the impact of a policy version and the re-screening under it run, and what the verifiable
log costs (tree heads, proofs).

Exit status 0 when every household received exactly its referrals and every proof verified
(targets missed or not: they are reported in the table), 1 when the count check or a proof
failed, 2 when the run could not be completed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import report
from bench.run import PHASES, RESULTS, Options, run
from bench.stack import BenchError
from bench.tree_heads import MIN_RECORDS
from deploy.local.stack import LOOP_SERVICES
from services.runtime.logging import configure_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--households",
        type=int,
        default=20_000,
        help="households per throughput phase (default 20000; to try: 2000 with "
        "--impact-households 10000)",
    )
    parser.add_argument("--seed", type=int, default=2026, help="seed of the household generator")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="concurrent HTTP clients of the throughput phase",
    )
    parser.add_argument(
        "--latency-seconds", type=float, default=30.0, help="length of the latency phase"
    )
    parser.add_argument(
        "--latency-load",
        type=float,
        default=0.5,
        help="offered load of the latency phase, as a fraction of the HTTP "
        "throughput just measured",
    )
    parser.add_argument(
        "--audit-sample", type=int, default=300, help="households whose chain is read and verified"
    )
    parser.add_argument(
        "--impact-households",
        type=int,
        default=100_000,
        help="open households the impact of a policy version and the re-screening under it "
        "cover; the system is topped up to this many through the topic (default 100000)",
    )
    parser.add_argument(
        "--profile",
        default="",
        help="comma-separated services to run under pyinstrument; profiles go "
        "to bench/results/profile-<service>.txt (figures of such a run "
        "are not comparable)",
    )
    parser.add_argument(
        "--log-records",
        type=int,
        default=1_000_000,
        help="chain records of the verifiable log the proofs phase builds (default 1000000)",
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated phases to leave out: http, kafka, latency, audit, impact, "
        "restart, auth, engines, proofs (impact: the top-up, the impact of a policy version and "
        "the re-screening; restart: each service restarted at two sizes; engines: the chain "
        "writer on today's runtime and on Quix Streams; "
        "auth: raw Kafka with and without authentication; proofs: the verifiable log, "
        "in-process; skipping all but proofs starts no broker, all but auth and proofs no "
        "service)",
    )
    parser.add_argument("--log-level", default="INFO", help="the services' log level")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    return parser


def _names(text: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(allowed)})")
    return names


def _quiet_libraries() -> None:
    """The benchmark reports through its table and its own errors: the services' log lines
    (topics ensured) and aiokafka's retried hiccups of a topic just created stay out of it."""
    configure_logging("bench", "console", "WARNING")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.households < 10:
        raise SystemExit("--households must be at least 10")
    if args.impact_households < 0:
        raise SystemExit("--impact-households must not be negative")
    if args.log_records < MIN_RECORDS:
        raise SystemExit(f"--log-records must be at least {MIN_RECORDS}")
    options = Options(
        households=args.households,
        seed=args.seed,
        concurrency=args.concurrency,
        latency_seconds=args.latency_seconds,
        latency_load=args.latency_load,
        audit_sample=args.audit_sample,
        impact_households=args.impact_households,
        output=args.output,
        keep=args.keep,
        profile=_names(args.profile, LOOP_SERVICES, "service"),
        log_level=args.log_level,
        skip=_names(args.skip, PHASES, "phase"),
        log_records=args.log_records,
    )
    console = Console(stderr=True)
    _quiet_libraries()
    try:
        results = asyncio.run(run(options, console))
    except BenchError as error:
        console.print(f"[red]benchmark failed:[/] {error}", highlight=False)
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 2
    except Exception:  # noqa: BLE001 - whatever it was, say so with its traceback
        console.print("[red]benchmark failed unexpectedly:[/]")
        console.print_exception(max_frames=8)
        return 2
    report.write(results, options.output)
    report.show(results, Console())
    Console(stderr=True).print(f"results: {options.output}")
    for difference in results.get("rescreening", {}).get("differences", [])[:20]:
        console.print(f"[yellow]impact report vs loop[/]: {difference}", highlight=False)
    return exit_status(results, console)


def exit_status(results: dict[str, Any], console: Console) -> int:
    """1 when a household was not served right or a proof did not verify, else 0; a phase
    left out has nothing to check."""
    status = 0
    checks = results.get("checks")
    if checks is not None and not checks.get("ok", False):
        console.print(
            "[red]COUNT CHECK FAILED[/]: households did not receive exactly their referrals:",
            highlight=False,
        )
        for problem in checks.get("problems", []):
            console.print(f"  {problem}", highlight=False)
        status = 1
    for name, figures in results.get("engines", {}).items():
        if not figures["check"]["ok"]:
            console.print(
                f"[red]ENGINE CHECK FAILED[/]: the chain writer on {name}: {figures['check']}",
                highlight=False,
            )
            status = 1
    proofs = results.get("proofs")
    if proofs is not None and not proofs.get("all_verified", False):
        console.print(
            f"[red]PROOF CHECK FAILED[/]: proofs that did not verify: {proofs.get('failed')}"
            f"; tree head verified: {proofs.get('tree_head', {}).get('verified')}",
            highlight=False,
        )
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
