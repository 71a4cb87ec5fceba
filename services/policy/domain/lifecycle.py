"""Who may approve or withdraw a version, and when (over-time.md: maker-checker)."""

from __future__ import annotations

from datetime import date

from services.rules.versions import VersionRecord, VersionStatus


class Refusal(Exception):  # noqa: N818 - a verdict on a request, with its HTTP status
    """The request cannot be done: its HTTP status and the reason given to the user."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


def check_approval(record: VersionRecord, status: VersionStatus, user: str, today: date) -> None:
    """Refusal unless `user` may approve the version now."""
    name = record.name
    if record.withdrawn_by is not None:
        raise Refusal(409, f"version {name} was withdrawn by {record.withdrawn_by}")
    if record.approved_by is not None:
        raise Refusal(
            409, f"version {name} is already {status.value} (approved by {record.approved_by})"
        )
    if record.proposal.proposed_by == user:
        raise Refusal(403, "the proposer cannot approve their own version")
    if record.proposal.effective_from <= today:
        # It would take effect in the past: evaluations never go backwards.
        raise Refusal(
            409,
            f"version {name} was to take effect on {record.proposal.effective_from.isoformat()}, "
            "which is not after today; propose it again with a later date",
        )


def check_withdrawal(record: VersionRecord, status: VersionStatus) -> None:
    """Refusal unless the version can still be withdrawn (it has not taken effect)."""
    name = record.name
    if status is VersionStatus.WITHDRAWN:
        raise Refusal(409, f"version {name} is already withdrawn (by {record.withdrawn_by})")
    if status in (VersionStatus.IN_FORCE, VersionStatus.SUPERSEDED):
        raise Refusal(
            409,
            f"version {name} took effect on {record.proposal.effective_from.isoformat()} "
            f"({status.value}); a version in effect cannot be withdrawn, propose a new one",
        )
