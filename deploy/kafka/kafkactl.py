"""Run the project's single-node Apache Kafka broker (KRaft) from Maven jars.

Needs only java (17+), mvn and python3; stdlib only, so it works before any
virtualenv exists.  Jars are cached in $ASSIST_KAFKA_CACHE/kafka-<version>/libs
(default ~/.cache/assist-chain/...).  Typical use:

  python3 deploy/kafka/kafkactl.py up --data-dir .kafka-data --port auto
  python3 deploy/kafka/kafkactl.py status --data-dir .kafka-data
  python3 deploy/kafka/kafkactl.py down --data-dir .kafka-data

Or three nodes on this machine (replication 3, min.insync.replicas 2), to try the loop on a
cluster:

  python3 deploy/kafka/kafkactl.py cluster-up --data-dir .kafka-cluster
  python3 deploy/kafka/kafkactl.py cluster-status --data-dir .kafka-cluster
  python3 deploy/kafka/kafkactl.py cluster-down --data-dir .kafka-cluster
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `deploy.kafka` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from deploy.kafka.broker import (
    Broker,
    BrokerError,
    broker_pid,
    broker_status,
    saved_ports,
    start_broker,
    stop_broker,
)
from deploy.kafka.cluster import cluster_status, start_cluster, stop_cluster
from deploy.kafka.jars import KAFKA_VERSION, SetupError, fetch_jars

__all__ = [
    "KAFKA_VERSION",
    "Broker",
    "BrokerError",
    "SetupError",
    "broker_pid",
    "broker_status",
    "fetch_jars",
    "start_broker",
    "stop_broker",
]


def _parse_port(text: str) -> int:
    return 0 if text == "auto" else int(text)


def _print_broker(broker: Broker) -> None:
    print(f"pid={broker.pid}")
    print(f"bootstrap={broker.bootstrap}")
    print(f"data_dir={broker.data_dir}")
    print(f"log={broker.log_file}")
    print(f"credentials={broker.credentials_file}  (SASL/SCRAM-SHA-512 passwords, mode 0600)")


def _up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    already = broker_status(args.data_dir)
    # Default: the ports this data dir used last, so clients' bootstrap stays valid.
    port, cport = saved_ports(args.data_dir) or (9092, 9093)
    if args.port is not None:
        port = args.port
        if args.port == 0 and args.controller_port is None:
            cport = 0  # `--port auto` alone: both ports free ones
    if args.controller_port is not None:
        cport = args.controller_port
    broker = start_broker(args.data_dir, port, cport, args.timeout)
    took = time.monotonic() - started
    print("already running" if already else f"kafka {KAFKA_VERSION} up in {took:.1f} s")
    _print_broker(broker)
    return 0


def _down(args: argparse.Namespace) -> int:
    pid = broker_pid(args.data_dir)
    stop_broker(args.data_dir)
    print(f"stopped pid={pid}" if pid else "not running")
    return 0


def _status(args: argparse.Namespace) -> int:
    found = broker_status(args.data_dir)
    if found:
        print("running")
        _print_broker(found)
        return 0
    pid = broker_pid(args.data_dir)
    state = f"starting or hung (pid={pid})" if pid else "not running"
    print(f"{state}\ndata_dir={Path(args.data_dir).resolve()}")
    return 3


def _cluster_up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    cluster = start_cluster(args.data_dir, args.nodes, args.timeout)
    print(
        f"kafka {KAFKA_VERSION}: {len(cluster.brokers)} nodes up in "
        f"{time.monotonic() - started:.1f} s"
    )
    print(f"bootstrap={cluster.bootstrap}")
    print(f"credentials={cluster.credentials_file}  (SASL/SCRAM-SHA-512 passwords, mode 0600)")
    print("topics: ASSIST_TOPIC_REPLICATION=3 ASSIST_TOPIC_MIN_ISR=2")
    for node_id, broker in sorted(cluster.brokers.items()):
        print(
            f"node {node_id}: pid={broker.pid} bootstrap={broker.bootstrap} log={broker.log_file}"
        )
    return 0


def _cluster_down(args: argparse.Namespace) -> int:
    stop_cluster(args.data_dir)
    print("stopped")
    return 0


def _cluster_status(args: argparse.Namespace) -> int:
    nodes = cluster_status(args.data_dir)
    for node_id, broker in nodes.items():
        print(
            f"node {node_id}: "
            + (f"running pid={broker.pid} {broker.bootstrap}" if broker else "not running")
        )
    return 0 if nodes and all(nodes.values()) else 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kafkactl", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="resolve the broker's jars into the cache")
    for name, text in (
        ("up", "start the broker and wait until it is ready (idempotent)"),
        ("down", "stop the broker (idempotent)"),
        ("status", "exit 0 if running, 3 if not"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--data-dir", type=Path, required=True, help="state and logs")
        if name != "up":
            continue
        for flag, default in (("--port", 9092), ("--controller-port", 9093)):
            cmd.add_argument(
                flag,
                type=_parse_port,
                help=f"port or 'auto' (default: last used with this data dir, or {default})",
            )
        cmd.add_argument("--timeout", type=float, default=90, help="readiness, seconds")
    for name, text in (
        ("cluster-up", "start a three-node cluster on this machine and wait until it is ready"),
        ("cluster-down", "stop every node of the cluster (idempotent)"),
        ("cluster-status", "every node's state; exit 0 if all run, 3 if not"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--data-dir", type=Path, required=True, help="every node's state")
        if name == "cluster-up":
            cmd.add_argument("--nodes", type=int, default=3, help="how many nodes (default 3)")
            cmd.add_argument("--timeout", type=float, default=180, help="readiness, seconds")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "fetch":
            print(f"libs={fetch_jars()}")
            return 0
        commands = {
            "up": _up,
            "down": _down,
            "status": _status,
            "cluster-up": _cluster_up,
            "cluster-down": _cluster_down,
            "cluster-status": _cluster_status,
        }
        return commands[args.command](args)
    except (SetupError, BrokerError) as err:
        print(f"kafkactl: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
