"""Make the broker's users and ACLs what contracts/access.py says, with the administrator's
login: SCRAM credentials (AlterUserScramCredentials) and grants (CreateAcls).

aiokafka's admin client has neither call, so the two requests are sent as Kafka protocol
structs through its connection (which already logged in with SASL). Both are idempotent: an
upsert of a user's password, a creation of an ACL that exists (the broker keeps one).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    DeleteAclsRequest_v1,
    DescribeAclsRequest_v1,
)
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from contracts.access import PRINCIPALS, Grant, Operation, Resource, grants
from services.runtime.logging import get_logger

log = get_logger()

SCRAM_SHA_512 = 2  # ScramMechanism in the Kafka protocol (1 is SCRAM-SHA-256)
SCRAM_ITERATIONS = 4096  # the minimum Kafka takes for SHA-512

# Kafka's protocol codes (org.apache.kafka.common.resource / acl).
_RESOURCE = {Resource.TOPIC: 2, Resource.GROUP: 3, Resource.TRANSACTIONAL_ID: 5}
_ANY = 1  # as a filter: any resource type, pattern, operation or permission
_PATTERN_LITERAL, _PATTERN_PREFIXED = 3, 4
_OPERATION = {Operation.READ: 3, Operation.WRITE: 4, Operation.DESCRIBE: 8}
_ALLOW = 3

Acl = tuple[
    int, str, int, str, str, int, int
]  # resource, name, pattern, principal, host, op, permission


class AccessError(RuntimeError):
    """The broker refused to make a user or a grant."""


# -- AlterUserScramCredentials (API key 51), v0: flexible ------------------------------------


class _AlterScramResponse(Response):  # type: ignore[misc]  # aiokafka's protocol is untyped
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScramStruct(RequestStruct):  # type: ignore[misc]  # aiokafka's protocol is untyped
    API_KEY = 51
    API_VERSION = 0
    FLEXIBLE_VERSION = True
    RESPONSE_TYPE = _AlterScramResponse
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("tags", TaggedFields),
            ),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScramRequest(Request[_AlterScramStruct]):  # type: ignore[misc]  # aiokafka's protocol is untyped
    API_KEY = 51

    def __init__(self, upsertions: list[tuple[str, int, int, bytes, bytes, dict[int, bytes]]]):
        self._upsertions = upsertions

    def build(self, request_struct_class: type[_AlterScramStruct]) -> _AlterScramStruct:
        return request_struct_class([], self._upsertions, {})


def salted_password(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> bytes:
    """SCRAM's SaltedPassword (RFC 5802): what the broker keeps instead of the password."""
    return hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)


# -- CreateAcls (API key 30), v1: one request for every grant ---------------------------------


class CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]  # aiokafka's protocol is untyped
    API_KEY = 30

    def __init__(self, creations: list[Acl]) -> None:
        self._creations = creations

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(self._creations)


class _DescribeAllAclsRequest(Request[DescribeAclsRequest_v1]):  # type: ignore[misc]  # untyped
    API_KEY = 29

    def build(self, request_struct_class: type[DescribeAclsRequest_v1]) -> DescribeAclsRequest_v1:
        return request_struct_class(_ANY, None, _ANY, None, None, _ANY, _ANY)


class _DeleteAclsRequest(Request[DeleteAclsRequest_v1]):  # type: ignore[misc]  # untyped
    API_KEY = 31

    def __init__(self, filters: list[Acl]) -> None:
        self._filters = filters

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class(self._filters)


def acl_of(grant: Grant) -> Acl:
    """A grant as CreateAcls' creation: resource, pattern, principal, any host, allow."""
    pattern = _PATTERN_PREFIXED if grant.prefixed else _PATTERN_LITERAL
    return (
        _RESOURCE[grant.resource],
        grant.name,
        pattern,
        f"User:{grant.principal}",
        "*",
        _OPERATION[grant.operation],
        _ALLOW,
    )


async def send_request(admin: AIOKafkaAdminClient, request: Request[Any]) -> Any:
    # The admin client has no public call for these requests; its connection is logged in.
    return await admin._send_to_controller(request)  # noqa: SLF001


async def ensure_users(admin: AIOKafkaAdminClient, passwords: Mapping[str, str]) -> None:
    """Give each principal its SCRAM-SHA-512 credential (an upsert: the same password again is
    harmless)."""
    upsertions: list[tuple[str, int, int, bytes, bytes, dict[int, bytes]]] = []
    for user, password in sorted(passwords.items()):
        salt = secrets.token_bytes(32)
        upsertions.append(
            (user, SCRAM_SHA_512, SCRAM_ITERATIONS, salt, salted_password(password, salt), {})
        )
    response = await send_request(admin, _AlterScramRequest(upsertions))
    failed = [(user, code, text) for user, code, text, _ in response.results if code != 0]
    if failed:
        raise AccessError(f"the broker refused SCRAM credentials: {failed}")
    log.info("kafka users ensured", users=len(upsertions))


async def ensure_grants(admin: AIOKafkaAdminClient, namespace: str = "") -> tuple[Grant, ...]:
    """Make the broker's ACLs of the table's principals over `namespace`'s resources exactly the
    table's: create what is missing, revoke what the table no longer grants (least privilege
    after an upgrade that narrowed it). ACLs of other principals or namespaces stay."""
    table = grants(namespace)
    wanted = {acl_of(g) for g in table}
    response = await send_request(admin, CreateAcls(sorted(wanted)))
    failed = [code for code, _ in response.creation_responses if code != 0]
    if failed:
        texts = sorted({text for code, text in response.creation_responses if code != 0})
        raise AccessError(f"the broker refused {len(failed)} ACLs: {texts[:3]}")
    stale = [acl for acl in await _acls(admin) if _ours(acl, namespace) and acl not in wanted]
    if stale:
        await send_request(admin, _DeleteAclsRequest(stale))
        log.warning("kafka grants revoked", namespace=namespace, revoked=len(stale))
    log.info("kafka grants ensured", namespace=namespace, grants=len(table))
    return table


async def _acls(admin: AIOKafkaAdminClient) -> list[Acl]:
    response = await send_request(admin, _DescribeAllAclsRequest())
    if response.error_code != 0:
        raise AccessError(f"the broker did not list its ACLs: {response.error_message}")
    return [
        (resource, name, pattern, principal, host, operation, permission)
        for resource, name, pattern, acls in response.resources
        for principal, host, operation, permission in acls
    ]


_OUR_PRINCIPALS = {f"User:{p}" for p in PRINCIPALS}


def _ours(acl: Acl, namespace: str) -> bool:
    """Whether an ACL is one the table decides: one of its principals, on a resource of this
    namespace (without a namespace, every resource)."""
    _, name, _, principal, _, _, _ = acl
    return principal in _OUR_PRINCIPALS and name.startswith(namespace)
