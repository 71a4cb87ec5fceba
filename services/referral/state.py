"""What the referral service knows of one household: its facts, its classification, its open
referrals and the grounds already answered. The handler keeps one per household; the policy
impact report reads them (fed the chain with `replaying=True`, the handler builds them cheaply).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from events.household import HouseholdIdentified
from events.types import Program
from services.classification.domain.classify import Classification
from services.classification.domain.facts import HouseholdFacts
from services.referral.domain.reconcile import AnsweredGround, OpenReferral


@dataclass
class Household:
    facts: HouseholdFacts | None = None
    classification: Classification | None = None
    open_by_program: dict[Program, OpenReferral] = field(default_factory=dict)
    # Identifications not yet classified, by event id: identification may append a newer one
    # before classification answers the older, and a classification must be read with the
    # facts it was computed from (at its effective date).
    unclassified: dict[str, HouseholdIdentified] = field(default_factory=dict)
    # Grounds whose referral got a final answer while they still hold: re-screening with the
    # same result issues nothing new; a ground lost and found again is a new need.
    answered: set[AnsweredGround] = field(default_factory=set)
    closed: bool = False  # no member is left: nothing more is issued
