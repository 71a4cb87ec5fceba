"""The audit service's app over in-memory parts: an index folded from given records (with the
chain writer's signatures), a store that serves them, an access recorder that keeps what it is
given, and a tree head signed over the index; plus a small reader of the pages' HTML."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from unit.audit.audit_histories import chained
from unit.audit.test_audit_writer_signatures import WRITER, genuine

from events.audit import AnyTreeHead, ChainAccessed
from events.envelope import Envelope
from services.audit.app import AuditDeps, create_app
from services.audit.config import CheckpointSettings
from services.audit.domain.tree_head import make_tree_head
from services.audit.indexer import ChainIndexer
from services.audit.rebuild import RebuildReport
from services.runtime.auth import TokenEntry, TokenStore
from services.runtime.signing_keys import SigningKey

AUDIT_KEY = Ed25519PrivateKey.generate()
SIGNED_AT = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
TOKENS = {
    "auditor": "auditor-secret",
    "operator": "operator-secret",
    "department:education": "education-secret",
    "policy": "policy-secret",
}
USERS = {
    "auditor": "auditor.zhang",
    "operator": "ops.li",
    "department:education": "edu.wu",
    "policy": "policy.chen",
}
Written = list[tuple[bytes, tuple[tuple[str, bytes], ...]]]


def written(events: list[Envelope]) -> Written:
    """The events as the chain writer appends them: linked, and each record signed."""
    return genuine([e.to_document() for e in chained(events)])


class KeptAccess:
    """Keeps every access record; `failing` makes recording fail (the read must be refused)."""

    def __init__(self) -> None:
        self.records: list[ChainAccessed] = []
        self.failing = False

    async def record(self, access: ChainAccessed) -> None:
        if self.failing:
            raise RuntimeError("the broker did not acknowledge")
        self.records.append(access)


class ServedRecords:
    """The records of each household, as the store reads them from the log."""

    def __init__(self, chains: dict[str, list[bytes | None]]) -> None:
        self.chains = chains

    async def records(self, household_id: str) -> list[bytes | None] | None:
        values = self.chains.get(household_id)
        return list(values) if values is not None else None


@dataclass
class AuditDouble:
    indexer: ChainIndexer
    access: KeptAccess
    served: ServedRecords
    tree_head: AnyTreeHead | None = None
    clients: list[TestClient] = field(default_factory=list)

    def append(self, household_id: str, records: Written) -> None:
        """Fold records into the index (as the log grows) and serve them."""
        index = self.indexer.index
        for value, headers in records:
            index.fold(0, index.positions.get(0, 0), household_id.encode(), value, headers)
            self.served.chains.setdefault(household_id, []).append(value)

    def sign_tree_head(self) -> AnyTreeHead:
        """A tree head over the log as folded now, signed with the audit's key."""
        sizes = self.indexer.index.tree_sizes()
        self.tree_head = make_tree_head(
            sizes, key=AUDIT_KEY, created_at=SIGNED_AT, chain_topic="assist.chain"
        )
        return self.tree_head

    def client(self, role: str | None = None) -> TestClient:
        """A client of the app: with `role`'s bearer token, else with none (a browser)."""
        deps = AuditDeps(
            TokenStore([TokenEntry(USERS[r], r, t) for r, t in TOKENS.items()]),
            lambda: self.indexer,
            self.served,  # type: ignore[arg-type]
            self.access,  # type: ignore[arg-type]
            SigningKey(AUDIT_KEY, AUDIT_KEY.public_key()),
            _no_rebuild,
            lambda: None,
            lambda: self.tree_head,
            None,
            WRITER.public_key(),
            session_seconds=3600,
        )
        headers = {"Authorization": f"Bearer {TOKENS[role]}"} if role else {}
        client = TestClient(create_app(deps), headers=headers, follow_redirects=False)
        self.clients.append(client)
        return client


async def _no_rebuild() -> RebuildReport:
    raise AssertionError("not asked")


def audit_double(chains: dict[str, Written], signed: bool = True) -> AuditDouble:
    """An audit whose log holds `chains`; with a tree head over all of it when `signed`."""
    double = AuditDouble(
        ChainIndexer(CheckpointSettings(), 0, lambda _: True, WRITER.public_key()),
        KeptAccess(),
        ServedRecords({}),
    )
    for household_id, records in chains.items():
        double.append(household_id, records)
    if signed:
        double.sign_tree_head()
    return double


@dataclass
class Element:
    tag: str
    attributes: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def walk(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, selector: str) -> Element:
        found = self.find_all(selector)
        assert found, f"no {selector} on the page"
        return found[0]

    def find_all(self, selector: str) -> list[Element]:
        """`#id`, `tag`, `.class` or `tag.class`: enough for these pages."""
        tag, _, rest = selector.partition(".")
        if selector.startswith("#"):
            return [e for e in self.walk() if e.attributes.get("id") == selector[1:]]
        return [
            e
            for e in self.walk()
            if (not tag or e.tag == tag)
            and (not rest or rest in e.attributes.get("class", "").split())
        ]

    def __getitem__(self, name: str) -> str:
        return self.attributes[name]


_VOID = {"br", "input", "meta", "link", "img", "hr"}


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Element("document", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.open[-1].children.append(element)
        if tag not in _VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while len(self.open) > 1:
            if self.open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self.open:
            element.text += data


def page(html: str) -> Element:
    builder = _Builder()
    builder.feed(html)
    return builder.root


def text_of(element: Element) -> str:
    return " ".join(element.text.split())


def rows(root: Element, selector: str, *attributes: str) -> list[dict[str, Any]]:
    return [{a: e.attributes.get(a) for a in attributes} for e in root.find_all(selector)]
