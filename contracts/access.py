"""Who may read and write which topic: the one table Kafka's ACLs are made from.

Every client of the broker authenticates as a principal (SASL/SCRAM-SHA-512): one per
service, one per department, one for auditors' tools, and the administrator that creates
topics, users and these grants. A principal may do only what this table says; anything else
is refused by the broker (StandardAuthorizer, no ACL = no access). The topic part of the table
is the topic catalog's publishers and subscribers (contracts/topics.py), so the AsyncAPI
document and the ACLs cannot drift apart; what a service needs beside topics (its consumer
groups, its transactional ids) follows from its name.

Applied idempotently by services/runtime/kafka_access.py whenever topics are ensured; the
README's "Who may read and write which topic" is rendered from `table()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.topics import CATALOG
from events.types import Department

ADMIN = "admin"  # the broker's super user: creates topics, users and grants; no service runs as it
AUDITOR = "auditor"  # auditors' tools (assist verify --all, checkpoints): the chain and checkpoints

# Every service, as named by `python -m services.<name>`: each runs as its own principal.
SERVICES = (
    "chainwriter",
    "scheduler",
    "identification",
    "classification",
    "referral",
    "feedback",
    "audit",
    "policy",
    "intake",
    "operations",
)
# The topic catalog names some readers and writers by role rather than by service.
_ROLE_PRINCIPAL = {"operators": "operations", "auditors": AUDITOR}


def department_principal(department: Department | str) -> str:
    """`department.<id>`: the principal a department's consumers and producers log in as."""
    return f"department.{Department(department).value}"


DEPARTMENTS = tuple(department_principal(d) for d in Department)
PRINCIPALS = (*SERVICES, *DEPARTMENTS, AUDITOR)


class Operation(StrEnum):
    READ = "read"
    WRITE = "write"
    DESCRIBE = "describe"


class Resource(StrEnum):
    TOPIC = "topic"
    GROUP = "group"
    TRANSACTIONAL_ID = "transactional_id"


@dataclass(frozen=True, slots=True, order=True)
class Grant:
    """`principal` may do `operation` on the resource `name` (every name starting with it when
    `prefixed`). Read and write imply describe, as Kafka's authorizer has it."""

    principal: str
    resource: Resource
    name: str
    prefixed: bool
    operation: Operation


def _principal(role: str) -> str:
    if role in _ROLE_PRINCIPAL:
        return _ROLE_PRINCIPAL[role]
    if role in Department.__members__.values():
        return department_principal(role)
    if role not in SERVICES:
        raise ValueError(f"the topic catalog names {role!r}, which is no principal")
    return role


def _own_names(principal: str) -> tuple[str, ...]:
    """The consumer groups and transactional ids a principal may use, by prefix: services name
    theirs `<service>`, `<service>.<instance>`, `<service>.visits` ...; a department any name
    that starts with `department.<id>`. Auditors' tools read without a group."""
    return () if principal == AUDITOR else (principal,)


def grants(namespace: str = "") -> tuple[Grant, ...]:
    """Every grant of one deployment (topic, group and transactional id names prefixed by its
    namespace, as TopicSettings.namespace prefixes them)."""
    found: set[Grant] = set()
    for spec in CATALOG:
        topic = namespace + spec.name
        for role in spec.publishers:
            found.add(Grant(_principal(role), Resource.TOPIC, topic, False, Operation.WRITE))
        for role in spec.subscribers:
            found.add(Grant(_principal(role), Resource.TOPIC, topic, False, Operation.READ))
    for principal in PRINCIPALS:
        for name in _own_names(principal):
            for resource in (Resource.GROUP, Resource.TRANSACTIONAL_ID):
                operation = Operation.READ if resource is Resource.GROUP else Operation.WRITE
                found.add(Grant(principal, resource, namespace + name, True, operation))
    # The console and `assist deadletter skip` read other processors' committed offsets and
    # every topic's ends: describe only, never read.
    # Kafka takes no empty prefix: without a namespace, the wildcard `*` says "every name".
    everything = (namespace, True) if namespace else ("*", False)
    for resource in (Resource.TOPIC, Resource.GROUP):
        found.add(Grant("operations", resource, *everything, Operation.DESCRIBE))
    return tuple(sorted(found))


def allowed(
    table: tuple[Grant, ...], principal: str, resource: Resource, name: str, operation: Operation
) -> bool:
    """Whether `table` lets `principal` do `operation` on `name`: what the broker will say."""
    if principal == ADMIN:
        return True
    implied = {operation} | (
        {Operation.READ, Operation.WRITE} if operation is Operation.DESCRIBE else set()
    )
    return any(
        grant.principal == principal
        and grant.resource is resource
        and grant.operation in implied
        and (name.startswith(grant.name) if grant.prefixed else grant.name in (name, "*"))
        for grant in table
    )


def topic_table() -> list[tuple[str, list[str], list[str]]]:
    """(principal, topics it reads, topics it writes) without namespace: the README's table."""
    topic_grants = [g for g in grants() if g.resource is Resource.TOPIC]

    def names(principal: str, operation: Operation) -> list[str]:
        return sorted(
            g.name for g in topic_grants if (g.principal, g.operation) == (principal, operation)
        )

    return [(p, names(p, Operation.READ), names(p, Operation.WRITE)) for p in PRINCIPALS]


def markdown_table() -> str:
    """The README's table of who reads and writes which topic (a test keeps them equal)."""

    every_department = {f"assist.referrals.{d.value}" for d in Department}

    def cell(names: list[str]) -> str:
        if every_department <= set(names):
            names = [n for n in names if n not in every_department] + ["assist.referrals.*"]
        return ", ".join(f"`{n}`" for n in names) or "nothing"

    lines = ["| principal | reads | writes |", "| --- | --- | --- |"]
    shown_departments = False
    for principal, reads, writes in topic_table():
        if principal.startswith("department."):
            if shown_departments:
                continue  # one row says it for every department
            shown_departments = True
            principal = "department.<id>"
            reads = [name.replace(name.rsplit(".", 1)[1], "<id>") for name in reads]
        lines.append(f"| `{principal}` | {cell(reads)} | {cell(writes)} |")
    return "\n".join(lines) + "\n"
