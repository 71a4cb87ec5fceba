"""What makes one node of a multi-node KRaft cluster out of the single-node template.

The template (server.properties.template) is the one place for listeners, authentication,
authorisation and limits; a cluster node differs only in its id, a static quorum of every
node's controller, and replication: every topic, and Kafka's own offsets and transaction
logs, on 3 nodes with at least 2 in sync before a write is acknowledged (acks=all).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterNode:
    node_id: int
    voters: str  # "1@127.0.0.1:9093,2@127.0.0.1:9095,..." every node's controller listener
    nodes: int

    @property
    def min_insync(self) -> int:
        return 2 if self.nodes >= 3 else 1

    def overrides(self) -> dict[str, str]:
        replicas, in_sync = str(self.nodes), str(self.min_insync)
        return {
            "node.id": str(self.node_id),
            # A static quorum: every node knows every controller from the start (formatted
            # without --standalone); the template's dynamic single-node bootstrap goes.
            "controller.quorum.bootstrap.servers": "",
            "controller.quorum.voters": self.voters,
            "default.replication.factor": replicas,
            "min.insync.replicas": in_sync,
            "offsets.topic.replication.factor": replicas,
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": in_sync,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": in_sync,
        }


def as_cluster_node(text: str, node: ClusterNode) -> str:
    """The template's text with the node's settings; an empty value drops the key."""
    overrides = node.overrides()
    found: set[str] = set()
    lines = []
    for line in text.splitlines():
        key = line.partition("=")[0].strip()
        if not line.lstrip().startswith("#") and key in overrides:
            found.add(key)
            if overrides[key]:
                lines.append(f"{key}={overrides[key]}")
            continue
        lines.append(line)
    missing = sorted(k for k, v in overrides.items() if k not in found and v)
    lines += [f"{key}={overrides[key]}" for key in missing if key == "controller.quorum.voters"]
    unknown = [k for k in missing if k != "controller.quorum.voters"]
    if unknown:  # the template changed: say so rather than start a node with one replica
        raise ValueError(f"server.properties.template no longer sets {', '.join(unknown)}")
    return "\n".join(lines) + "\n"
