"""Answers sent over HTTP that the feedback processor has not folded back from the chain yet.

A retry with the same Idempotency-Key is answered as the first call was, and a second final
answer is refused at once, even before the chain has the first. Once the ledger has folded an
answer it is the ledger's to remember, so these are forgotten then: memory holds the answers in
flight, not every answer since the start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.feedback.ledger import Answer, Ledger

# Past this many answers in flight, those the ledger has folded are forgotten (one scan).
FORGET_AT = 1000


@dataclass
class InFlight:
    sent: dict[str, Answer] = field(default_factory=dict)  # by its outcome event's id
    final: set[str] = field(default_factory=set)  # referral ids with a final answer sent
    forget_at: int = FORGET_AT

    def answer(self, taken_as: str, ledger: Ledger) -> Answer | None:
        """The answer taken as `taken_as`, sent from here or already folded by the ledger."""
        self.forget_folded(ledger)
        return self.sent.get(taken_as) or ledger.answers.get(taken_as)

    def record(self, taken_as: str, answer: Answer, final: bool) -> None:
        self.sent[taken_as] = answer
        if final:
            self.final.add(answer.referral_id)

    def forget_folded(self, ledger: Ledger) -> None:
        if len(self.sent) + len(self.final) < self.forget_at:
            return
        for key in [k for k in self.sent if k in ledger.answers]:
            del self.sent[key]
        for referral_id in list(self.final):
            referral = ledger.referrals.get(referral_id)
            if referral is None or referral.final:  # the ledger refuses a second answer itself
                self.final.discard(referral_id)
