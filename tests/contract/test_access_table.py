"""The table of who may read and write which topic (contracts/access.py), without a broker:
least privilege as the README promises it, and the README's copy of it kept true."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.access import (
    ADMIN,
    AUDITOR,
    DEPARTMENTS,
    PRINCIPALS,
    SERVICES,
    Grant,
    Operation,
    Resource,
    allowed,
    department_principal,
    grants,
    markdown_table,
)
from contracts.topics import CATALOG, TopicNames
from events.types import Department

NS = "t1."
TABLE = grants(NS)
TOPICS = TopicNames(NS)


def may(principal: str, operation: Operation, topic: str) -> bool:
    return allowed(TABLE, principal, Resource.TOPIC, topic, operation)


def writers(topic: str) -> set[str]:
    return {p for p in PRINCIPALS if may(p, Operation.WRITE, topic)}


def test_only_the_chain_writer_writes_the_chain() -> None:
    assert writers(TOPICS.chain) == {"chainwriter"}


def test_department_topics_are_written_by_the_chain_writer_and_feedback_only() -> None:
    for department in Department:
        assert writers(TOPICS.referrals(department)) == {"chainwriter", "feedback"}


@pytest.mark.parametrize("department", list(Department))
def test_a_department_reads_only_its_own_topic_and_writes_only_feedback(
    department: Department,
) -> None:
    principal = department_principal(department)
    topics = [NS + spec.name for spec in CATALOG]
    assert [t for t in topics if may(principal, Operation.READ, t)] == [
        TOPICS.referrals(department)
    ]
    assert [t for t in topics if may(principal, Operation.WRITE, t)] == [TOPICS.feedback]
    own_group = f"{NS}department.{department.value}"
    assert allowed(TABLE, principal, Resource.GROUP, own_group, Operation.READ)
    assert allowed(TABLE, principal, Resource.GROUP, own_group + ".worklist", Operation.READ)
    for other in Department:
        if other is not department:
            group = f"{NS}department.{other.value}"
            assert not allowed(TABLE, principal, Resource.GROUP, group, Operation.READ)


def test_intake_writes_events_and_monitoring_and_its_processor_s_dead_letters_only() -> None:
    written = {t for t in (NS + s.name for s in CATALOG) if may("intake", Operation.WRITE, t)}
    assert written == {
        TOPICS.events,
        TOPICS.monitoring,
        TOPICS.deadletter,
        TOPICS.deadletter_skips,
    }


def test_auditors_tools_read_the_chain_checkpoints_and_access_records_and_write_nothing() -> None:
    topics = [NS + spec.name for spec in CATALOG]
    assert {t for t in topics if may(AUDITOR, Operation.READ, t)} == {
        TOPICS.chain,
        TOPICS.checkpoints,
        TOPICS.audit_access,
    }
    assert not [t for t in topics if may(AUDITOR, Operation.WRITE, t)]
    assert not [g for g in TABLE if g.principal == AUDITOR and g.resource is not Resource.TOPIC]


def test_each_service_has_groups_and_transactional_ids_of_its_own_name_only() -> None:
    for service in SERVICES:
        own = [g for g in TABLE if g.principal == service and g.resource is not Resource.TOPIC]
        kinds = {(g.resource, g.operation) for g in own if g.operation is not Operation.DESCRIBE}
        assert kinds == {
            (Resource.GROUP, Operation.READ),
            (Resource.TRANSACTIONAL_ID, Operation.WRITE),
        }
        assert all(
            g.name == NS + service and g.prefixed
            for g in own
            if g.operation is not Operation.DESCRIBE
        )
    assert not allowed(
        TABLE, "intake", Resource.TRANSACTIONAL_ID, NS + "chainwriter.0", Operation.WRITE
    )


def test_grants_never_reach_outside_their_namespace() -> None:
    for grant in TABLE:
        assert grant.name.startswith(NS), grant
    assert not may("chainwriter", Operation.WRITE, "assist.chain")  # another deployment's
    assert not may(
        department_principal("education"), Operation.READ, "t2.assist.referrals.education"
    )


def test_without_a_namespace_operations_describes_everything_by_the_wildcard() -> None:
    table = grants("")
    described = [
        g for g in table if g.principal == "operations" and g.operation is Operation.DESCRIBE
    ]
    assert {(g.resource, g.name, g.prefixed) for g in described} == {
        (Resource.TOPIC, "*", False),
        (Resource.GROUP, "*", False),
    }
    assert allowed(table, "operations", Resource.GROUP, "referral", Operation.DESCRIBE)
    assert not allowed(table, "operations", Resource.GROUP, "referral", Operation.READ)


def test_every_catalog_topic_has_a_writer_and_a_reader_and_the_admin_is_above_the_table() -> None:
    for spec in CATALOG:
        topic = NS + spec.name
        assert writers(topic), topic
        assert any(may(p, Operation.READ, topic) for p in PRINCIPALS), topic
    assert ADMIN not in PRINCIPALS
    assert allowed((), ADMIN, Resource.TOPIC, TOPICS.chain, Operation.WRITE)
    assert len(DEPARTMENTS) == len(Department)


def test_describe_is_implied_by_read_and_write_as_kafka_has_it() -> None:
    table = (Grant("x", Resource.TOPIC, "a", False, Operation.WRITE),)
    assert allowed(table, "x", Resource.TOPIC, "a", Operation.DESCRIBE)
    assert not allowed(table, "x", Resource.TOPIC, "a", Operation.READ)
    assert not allowed(table, "x", Resource.TOPIC, "ab", Operation.WRITE)


def test_the_readme_shows_the_table_as_the_code_has_it() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert markdown_table() in readme, (
        "README's table differs: paste contracts.access.markdown_table()"
    )
