"""Policy versions as `assist.policy` tells them: proposed, approved, withdrawn, in force.

A pure fold (no Kafka, no clock: `today` is passed in). Every processor that judges households
keeps one, so the book it classifies with is the shipped standards plus every approved version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from events.envelope import Envelope
from events.policy import PolicyVersionApproved, PolicyVersionProposed, PolicyVersionWithdrawn
from services.rules.standards import PolicyBook


class VersionStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"  # approved, not yet in effect
    WITHDRAWN = "withdrawn"
    IN_FORCE = "in_force"
    SUPERSEDED = "superseded"


@dataclass
class VersionRecord:
    """One version and its decisions."""

    proposal: PolicyVersionProposed
    proposed_at: str
    approved_by: str | None = None
    approved_at: str | None = None
    withdrawn_by: str | None = None
    withdrawn_at: str | None = None
    withdrawal_reason: str | None = None

    @property
    def name(self) -> str:
        return self.proposal.policy_version


@dataclass
class PolicyVersions:
    """The fold of `assist.policy`, starting from the shipped standards."""

    book: PolicyBook = field(default_factory=PolicyBook.load_default)
    records: dict[str, VersionRecord] = field(default_factory=dict)

    def fold(self, event: Envelope) -> bool:
        """Take one event of `assist.policy`; True when the book of approved versions changed."""
        payload, at = event.payload, event.recorded_at.isoformat()
        if isinstance(payload, PolicyVersionProposed):
            if payload.policy_version not in self.records:
                self.records[payload.policy_version] = VersionRecord(payload, at)
            return False
        record = self.records.get(getattr(payload, "policy_version", ""))
        if record is None:
            return False
        if isinstance(payload, PolicyVersionApproved) and record.approved_by is None:
            if record.withdrawn_by is not None:
                return False
            record.approved_by, record.approved_at = payload.approved_by, at
            before = self.book
            self.book = self.book.with_version(record.proposal)
            return self.book is not before
        if isinstance(payload, PolicyVersionWithdrawn) and record.withdrawn_by is None:
            record.withdrawn_by, record.withdrawn_at = payload.withdrawn_by, at
            record.withdrawal_reason = payload.reason
            if record.approved_by is not None:
                self.book = PolicyBook(
                    tuple(v for v in self.book.versions if v.policy_version != record.name)
                )
                return True
        return False

    def status(self, name: str, today: date) -> VersionStatus:
        record = self.records[name]
        if record.withdrawn_by is not None:
            return VersionStatus.WITHDRAWN
        if record.approved_by is None:
            return VersionStatus.PROPOSED
        if record.proposal.effective_from > today:
            return VersionStatus.APPROVED
        in_force = self.book.table_in_force(today)
        if in_force.policy_version == name:
            return VersionStatus.IN_FORCE
        return VersionStatus.SUPERSEDED
