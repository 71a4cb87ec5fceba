"""A cluster node's configuration: the single-node template with its id, quorum and replication."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.kafka.quorum import ClusterNode, as_cluster_node

TEMPLATE = (Path(__file__).parents[3] / "deploy/kafka/server.properties.template").read_text()
VOTERS = "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"


def settings(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#")
    return {key.strip(): value for key, value in pairs}


def test_a_node_has_its_id_the_static_quorum_and_three_replicas_two_in_sync() -> None:
    node = settings(as_cluster_node(TEMPLATE, ClusterNode(2, VOTERS, 3)))
    assert node["node.id"] == "2"
    assert node["controller.quorum.voters"] == VOTERS
    assert "controller.quorum.bootstrap.servers" not in node
    for key in ("default.replication.factor", "offsets.topic.replication.factor"):
        assert node[key] == "3", key
    assert node["transaction.state.log.replication.factor"] == "3"
    for key in ("min.insync.replicas", "transaction.state.log.min.isr"):
        assert node[key] == "2", key
    # Everything else is the template's: authentication and authorisation included.
    single = settings(TEMPLATE)
    assert node["authorizer.class.name"] == single["authorizer.class.name"]
    assert node["listeners"] == single["listeners"]


def test_a_template_that_no_longer_sets_replication_is_refused() -> None:
    drifted = "\n".join(
        line for line in TEMPLATE.splitlines() if not line.startswith("min.insync.replicas")
    )
    with pytest.raises(ValueError, match="min.insync.replicas"):
        as_cluster_node(drifted, ClusterNode(1, VOTERS, 3))
