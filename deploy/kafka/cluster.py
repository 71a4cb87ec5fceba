"""A three-node KRaft cluster from the same jars on one machine, for testing the loop on a
cluster: three JVMs, each broker and controller of its own node, with its own ports and data
directory (`<root>/node-<id>`); replication 3 and `min.insync.replicas` 2, so a write the
producers acknowledge with acks=all survives the loss of any one node.

Layout of a cluster's root: cluster.json (every node's ports), credentials.json (the principals'
SCRAM passwords, mode 0600, shared by every node), node-1/ node-2/ node-3/ (each a broker's data
directory as broker.py lays it out, with the same cluster id and administrator).
"""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from deploy.kafka.broker import Broker, broker_pid, broker_status, start_broker, stop_broker
from deploy.kafka.credentials import ADMIN, credentials_file, ensure_credentials
from deploy.kafka.probe import free_ports
from deploy.kafka.quorum import ClusterNode

NODES = 3


@dataclass(frozen=True)
class Cluster:
    root: Path
    brokers: dict[int, Broker]  # node id -> its broker
    credentials_file: Path

    @property
    def bootstrap(self) -> str:
        return ",".join(b.bootstrap for _, b in sorted(self.brokers.items()))


def node_dir(root: Path | str, node_id: int) -> Path:
    return Path(root).resolve() / f"node-{node_id}"


def _ports(root: Path, nodes: int) -> dict[int, tuple[int, int]]:
    """node id -> (client port, controller port), kept in cluster.json: a restarted node must
    come back where the others' quorum and the clients' bootstrap expect it."""
    saved = root / "cluster.json"
    if saved.exists():
        known = json.loads(saved.read_text())["nodes"]
        return {int(i): (int(p["port"]), int(p["controller_port"])) for i, p in known.items()}
    picked = free_ports(2 * nodes)
    ports = {i: (picked[2 * i - 2], picked[2 * i - 1]) for i in range(1, nodes + 1)}
    nodes_doc = {str(i): {"port": p, "controller_port": c} for i, (p, c) in ports.items()}
    saved.write_text(json.dumps({"nodes": nodes_doc}) + "\n")
    return ports


def _prepare(root: Path, ports: dict[int, tuple[int, int]]) -> None:
    """The same cluster id and administrator in every node's directory before its first start."""
    shared = credentials_file(root)
    ensure_credentials(shared, [ADMIN])
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    for node_id in ports:
        directory = node_dir(root, node_id)
        directory.mkdir(parents=True, exist_ok=True)
        if not (directory / "cluster.id").exists():
            (directory / "cluster.id").write_text(cluster_id + "\n")
        if not credentials_file(directory).exists():
            shutil.copy2(shared, credentials_file(directory))


def _node(ports: dict[int, tuple[int, int]], node_id: int) -> ClusterNode:
    voters = ",".join(f"{i}@127.0.0.1:{c}" for i, (_, c) in sorted(ports.items()))
    return ClusterNode(node_id, voters, len(ports))


def start_cluster(root: Path | str, nodes: int = NODES, timeout: float = 180) -> Cluster:
    """Start (or find) every node and wait until each serves requests. The nodes start
    together: none is ready before a majority of the controllers runs."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    ports = _ports(root, nodes)
    _prepare(root, ports)

    def start(node_id: int) -> Broker:
        port, controller_port = ports[node_id]
        node = _node(ports, node_id)
        return start_broker(node_dir(root, node_id), port, controller_port, timeout, node=node)

    with ThreadPoolExecutor(len(ports)) as pool:
        started = dict(zip(sorted(ports), pool.map(start, sorted(ports)), strict=True))
    return Cluster(root, started, credentials_file(root))


def start_node(root: Path | str, node_id: int, timeout: float = 120) -> Broker:
    """Bring one node of a running cluster back (after a crash or a stop)."""
    root = Path(root).resolve()
    ports = _ports(root, len(list(root.glob("node-*"))))
    port, controller_port = ports[node_id]
    node = _node(ports, node_id)
    return start_broker(node_dir(root, node_id), port, controller_port, timeout, node=node)


def cluster_status(root: Path | str) -> dict[int, Broker | None]:
    """node id -> its running broker, or None."""
    root = Path(root).resolve()
    ids = sorted(int(d.name.split("-", 1)[1]) for d in root.glob("node-*"))
    return {i: broker_status(node_dir(root, i)) for i in ids}


def node_pid(root: Path | str, node_id: int) -> int | None:
    return broker_pid(node_dir(root, node_id))


def stop_cluster(root: Path | str, grace: float = 30) -> None:
    root = Path(root).resolve()
    directories = sorted(root.glob("node-*"))
    with ThreadPoolExecutor(max(1, len(directories))) as pool:
        list(pool.map(lambda d: stop_broker(d, grace), directories))
