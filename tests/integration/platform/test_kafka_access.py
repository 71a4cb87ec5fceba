"""The broker is the boundary between organisations: who may read and write which topic.

On the real broker with SASL/SCRAM and the ACLs of contracts/access.py: no client connects
without credentials, and every principal x every topic x read/write is refused or allowed
exactly as the table says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from support.kafka_io import read_all
from support.logins import Logins

from contracts.access import (
    ADMIN,
    AUDITOR,
    PRINCIPALS,
    Grant,
    Operation,
    Resource,
    allowed,
    department_principal,
    grants,
)
from contracts.topics import TopicNames, catalog
from services.runtime.kafka import connection_options, make_consumer, make_producer
from services.runtime.kafka_access import CreateAcls, acl_of, send_request
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.topic_admin import ensure_topics

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def authenticated(logins: Logins) -> Logins:
    # The suite's own broker always has authentication; an outside cluster must give the
    # administrator's login (KAFKA_SASL_*) for these tests to mean anything.
    assert logins.credentials is not None, "this broker has no authentication"
    return logins


async def _can_write(kafka: KafkaSettings, topic: str) -> bool:
    producer = make_producer(kafka)
    try:
        # A principal that may write no topic at all may not even get a producer id.
        await producer.start()
        await asyncio.wait_for(producer.send_and_wait(topic, b'{"probe": 1}', key=b"k"), 30)
        return True
    except (TopicAuthorizationFailedError, ClusterAuthorizationFailedError):
        return False
    finally:
        await producer.stop()


async def _eventually(probe: Callable[[], Awaitable[bool]], wanted: bool) -> bool:
    """A change of ACLs reaches the authorizer through the metadata log, a moment later."""
    for _ in range(40):
        if await probe() == wanted:
            return True
        await asyncio.sleep(0.25)
    return False


async def _put(admin: KafkaSettings, *names: str) -> None:
    """A record on partition 0 of each topic, for a reader to find."""
    producer = make_producer(admin)
    await producer.start()
    try:
        for name in names:
            await producer.send_and_wait(name, b'{"probe": 0}', key=b"k", partition=0)
    finally:
        await producer.stop()


async def _can_read(kafka: KafkaSettings, topic: str) -> bool:
    """Read partition 0 from its beginning, where the administrator wrote a record."""
    consumer = make_consumer(kafka, group_id=None)
    await consumer.start()
    try:
        # A topic the principal may not even describe is refused in the metadata answer (the
        # consumer would wait for its leader for ever); one it may describe but not read, at
        # the fetch.
        await consumer._client.add_topic(topic)  # noqa: SLF001
        if topic in consumer._client.cluster.unauthorized_topics:  # noqa: SLF001
            return False
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        for _ in range(40):
            records = await consumer.getmany(partition, timeout_ms=250)
            if records.get(partition):
                return True
        raise AssertionError(f"{kafka.sasl_username} read nothing of {topic}, and no refusal")
    except TopicAuthorizationFailedError:
        return False
    finally:
        await consumer.stop()


async def test_a_client_without_credentials_or_with_a_wrong_password_is_refused(
    authenticated: Logins,
) -> None:
    bootstrap = authenticated.admin.bootstrap_servers
    anonymous = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):
        await anonymous.start()
    await anonymous.stop()

    wrong = authenticated.settings("intake").as_principal("intake", "not-the-password")
    impostor = AIOKafkaProducer(**connection_options(wrong), request_timeout_ms=5000)
    with pytest.raises(KafkaError):
        await impostor.start()
    await impostor.stop()


async def test_a_forged_event_from_anyone_but_the_chain_writer_is_refused(
    authenticated: Logins, topics: TopicNames
) -> None:
    for principal in ("intake", "feedback", department_principal("medical_security"), AUDITOR):
        assert not await _can_write(authenticated.settings(principal), topics.chain), principal
    assert await read_all(authenticated.admin, topics.chain) == []  # nothing reached it
    assert await _can_write(authenticated.settings("chainwriter"), topics.chain)


async def test_a_department_reads_its_own_topic_in_its_own_group_and_nothing_else(
    authenticated: Logins, topics: TopicNames
) -> None:
    await _put(authenticated.admin, topics.referrals("education"), topics.referrals("housing"))
    education = authenticated.settings(department_principal("education"))
    assert await _can_read(education, topics.referrals("education"))
    assert not await _can_read(education, topics.referrals("housing"))
    assert not await _can_read(education, topics.chain)

    async def join(group: str) -> None:
        consumer = AIOKafkaConsumer(
            topics.referrals("education"),
            **connection_options(education),
            group_id=group,
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            await consumer.getmany(timeout_ms=2000)
        finally:
            await consumer.stop()

    await join(f"{topics.namespace}department.education")
    await join(f"{topics.namespace}department.education.worklist")
    with pytest.raises(GroupAuthorizationFailedError):
        await join(f"{topics.namespace}department.housing")


async def test_every_principal_reads_and_writes_every_topic_exactly_as_the_table_says(
    authenticated: Logins, topics: TopicNames
) -> None:
    table = grants(topics.namespace)
    names = [spec.name for spec in catalog(topics.namespace)]
    await _put(authenticated.admin, *names)  # something to read in every topic

    async def observe(principal: str) -> list[tuple[str, str, str, bool, bool]]:
        kafka = authenticated.settings(principal)
        seen = []
        for name in names:
            for operation, probe in ((Operation.READ, _can_read), (Operation.WRITE, _can_write)):
                expected = allowed(table, principal, Resource.TOPIC, name, operation)
                seen.append((principal, name, operation.value, expected, await probe(kafka, name)))
        return seen

    observed = [row for rows in await asyncio.gather(*map(observe, PRINCIPALS)) for row in rows]
    wrong = [row for row in observed if row[3] != row[4]]
    assert not wrong, "\n".join(
        f"{p} {op} {t}: expected {'allowed' if e else 'refused'}, was "
        f"{'allowed' if o else 'refused'}"
        for p, t, op, e, o in wrong
    )
    assert len(observed) == len(PRINCIPALS) * len(names) * 2
    # Not a table that allows nothing: every topic has a writer and a reader besides the admin.
    for name in names:
        assert any(o for _, t, op, _, o in observed if t == name and op == "write"), name
        assert any(o for _, t, op, _, o in observed if t == name and op == "read"), name
    assert allowed(table, ADMIN, Resource.TOPIC, topics.chain, Operation.WRITE)


async def test_a_grant_the_table_no_longer_has_is_revoked_when_topics_are_ensured(
    authenticated: Logins, topics: TopicNames
) -> None:
    # As if an older table had let intake write the chain.
    stale = Grant("intake", Resource.TOPIC, topics.chain, False, Operation.WRITE)
    admin = AIOKafkaAdminClient(**connection_options(authenticated.admin))
    await admin.start()
    try:
        created = await send_request(admin, CreateAcls([acl_of(stale)]))
        assert [code for code, _ in created.creation_responses] == [0], created
    finally:
        await admin.close()
    intake = authenticated.settings("intake")
    assert await _eventually(lambda: _can_write(intake, topics.chain), True)

    await ensure_topics(authenticated.admin, TopicSettings(namespace=topics.namespace))
    assert await _eventually(lambda: _can_write(intake, topics.chain), False)
    assert await _can_write(intake, topics.events)  # what the table grants stays
