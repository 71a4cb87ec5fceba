"""Dead letters as operators see them: folded from assist.deadletter and its re-drive records.

Pure: no Kafka, no clock. The console's processor and the `assist deadletter` commands fold the
same two topics through `DeadLetterLog`, and `redrive_refusal` is the one place that says when
a dead letter may not be re-published.

A truncated dead letter (its original was too large to quote whole, services/runtime/limits.py)
holds the original's first bytes, size and SHA-256; the original itself is read back from its
source offset when it is needed whole (redrive.py).
"""

from __future__ import annotations

import base64
import json
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contracts.topics import TopicNames
from events.feedback import DeadLetter, DeadLetterRedriven
from services.runtime.messages import Inbound, Outbound


@dataclass
class DeadLetterEntry:
    """A dead letter with its original bytes decoded for reading, and its re-drives."""

    letter: DeadLetter
    redrives: list[DeadLetterRedriven] = field(default_factory=list)

    @property
    def dead_letter_id(self) -> str:
        return str(self.letter.dead_letter_id)

    @property
    def truncated(self) -> bool:
        """The original was too large to quote whole: it is at the source offset."""
        return self.letter.truncated

    @property
    def value(self) -> bytes | None:
        """The original bytes, or None when the dead letter holds only their first bytes."""
        if self.truncated:
            return None
        return base64.b64decode(self.letter.value_base64 or "")

    @property
    def quoted(self) -> bytes:
        """What the dead letter holds of the original: all of it, or its first bytes."""
        if self.truncated:
            return base64.b64decode(self.letter.value_prefix_base64 or "")
        return base64.b64decode(self.letter.value_base64 or "")

    @property
    def value_bytes(self) -> int:
        """The original's size (older dead letters: what they quote, which is all of it)."""
        size = self.letter.value_bytes
        return size if size is not None else len(self.quoted)

    @property
    def key(self) -> bytes | None:
        """The original key, or None when there was none or it is too long to be quoted."""
        key = self.letter.source.key_base64
        return base64.b64decode(key) if key is not None else None

    @property
    def key_truncated(self) -> bool:
        return self.letter.source.key_sha256 is not None

    @property
    def key_text(self) -> str | None:
        source = self.letter.source
        if source.key_prefix_base64 is not None:
            prefix = base64.b64decode(source.key_prefix_base64).decode("utf-8", "replace")
            return f"{prefix}… ({source.key_bytes} bytes)"
        return self.key.decode("utf-8", "replace") if self.key is not None else None

    @property
    def value_text(self) -> str | None:
        """The original bytes as text (pretty when JSON), or None when they are not UTF-8; of a
        truncated dead letter, its first bytes as they are."""
        try:
            text = self.quoted.decode("utf-8")
        except UnicodeDecodeError:
            if not self.truncated:
                return None
            # The cut may fall inside a character: what comes before it is still text.
            text = self.quoted.decode("utf-8", "ignore")
        if self.truncated:
            return text
        try:
            return json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False)
        except ValueError:
            return text

    @property
    def source(self) -> str:
        source = self.letter.source
        return f"{source.topic}/{source.partition}@{source.offset}"


class DeadLetterLog:
    """Recent dead letters (bounded), counts by service and source topic, and re-drives."""

    def __init__(self, topics: TopicNames, keep: int = 500) -> None:
        self.topics = topics
        self.keep = keep
        self.entries: OrderedDict[str, DeadLetterEntry] = OrderedDict()
        self.total = 0
        self.by_service: Counter[str] = Counter()
        self.by_topic: Counter[str] = Counter()
        self.unreadable = 0
        # Re-drives are kept for every id, also those whose letter fell out of `entries`.
        self.redrives: dict[str, list[DeadLetterRedriven]] = {}
        self._seen: set[str] = set()

    # -- the stream handler side ----------------------------------------------------------
    def handle(self, message: Inbound, replaying: bool) -> Sequence[Outbound]:
        # Never Rejected: a dead letter about a dead letter would come back here forever.
        self.observe(message.topic, message.value)
        return []

    def tick(self, now: datetime) -> Sequence[Outbound]:
        return []

    # -- folding ---------------------------------------------------------------------------
    def observe(self, topic: str, value: bytes | None) -> None:
        try:
            if topic == self.topics.deadletter_redriven:
                self._redriven(DeadLetterRedriven.model_validate_json(value or b""))
            else:
                self._letter(DeadLetter.model_validate_json(value or b""))
        except ValidationError:
            self.unreadable += 1

    def _letter(self, letter: DeadLetter) -> None:
        key = str(letter.dead_letter_id)
        if key in self._seen:  # the same failure seen again after its processor restarted
            return
        self._seen.add(key)
        self.total += 1
        self.by_service[letter.service] += 1
        self.by_topic[letter.source.topic] += 1
        self.entries[key] = DeadLetterEntry(letter, list(self.redrives.get(key, [])))
        while len(self.entries) > self.keep:
            self.entries.popitem(last=False)

    def _redriven(self, record: DeadLetterRedriven) -> None:
        key = str(record.dead_letter_id)
        self.redrives.setdefault(key, []).append(record)
        entry = self.entries.get(key)
        if entry is not None:
            entry.redrives.append(record)

    # -- reading ---------------------------------------------------------------------------
    def recent(self, limit: int | None = None, service: str | None = None) -> list[DeadLetterEntry]:
        """Newest first."""
        found = [
            e
            for e in reversed(self.entries.values())
            if service is None or e.letter.service == service
        ]
        return found if limit is None else found[:limit]

    def find(self, id_or_prefix: str) -> DeadLetterEntry:
        """The entry with this id, or with this unique id prefix (operators type short ids)."""
        wanted = id_or_prefix.strip().lower()
        if wanted in self.entries:
            return self.entries[wanted]
        matches = [e for k, e in self.entries.items() if wanted and k.startswith(wanted)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise LookupError(f"no dead letter {id_or_prefix!r}")
        raise LookupError(f"{id_or_prefix!r} matches {len(matches)} dead letters; give more of it")


def redrive_refusal(entry: DeadLetterEntry, topics: TopicNames, force: bool) -> str | None:
    """Why this dead letter may not be re-published now, or None when it may."""
    topic = entry.letter.source.topic
    if topic == topics.chain:
        return (
            f"{topic} is written only by the chain writer: re-publishing there would break "
            "the household's hash chain. Fix the service that failed, then submit again the "
            "input (application, signal, feedback) whose consequence is missing."
        )
    if topic not in {topics.events, topics.monitoring, topics.feedback}:
        return f"{topic} is not a topic that dead letters are re-driven to"
    if entry.redrives and not force:
        last = entry.redrives[-1]
        return (
            f"already re-driven at {last.redriven_at.isoformat()} to "
            f"{last.topic}/{last.partition}@{last.offset}; use --force to re-drive it again"
        )
    return None


def json_refusal(value: bytes) -> str | None:
    """Every topic that takes re-drives carries JSON: refuse anything else before sending it."""
    try:
        json.loads(value)
    except (ValueError, UnicodeDecodeError) as error:
        return f"the value is not JSON ({error}); nothing was published"
    return None


def describe(entry: DeadLetterEntry) -> dict[str, Any]:
    """A plain document of one dead letter (callers mask it before showing it)."""
    letter = entry.letter
    return {
        "dead_letter_id": entry.dead_letter_id,
        "service": letter.service,
        "reason": letter.reason,
        "failed_at": letter.failed_at.isoformat(),
        "source": {
            "topic": letter.source.topic,
            "partition": letter.source.partition,
            "offset": letter.source.offset,
        },
        "key": entry.key_text,
        "value_text": entry.value_text,
        "value_bytes": entry.value_bytes,
        "value_sha256": letter.value_sha256,
        "truncated": entry.truncated,
        # How much of the original the dead letter holds (all of it unless truncated).
        "quoted_bytes": len(entry.quoted),
        "original_at": None
        if not entry.truncated
        else f"{letter.source.topic}/{letter.source.partition}@{letter.source.offset}",
        "redrives": [r.model_dump(mode="json") for r in entry.redrives],
    }
