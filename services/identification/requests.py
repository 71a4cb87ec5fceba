"""What identification asks of people: a home visit, a risk warning (payloads only)."""

from __future__ import annotations

from events.envelope import Envelope, derived_event_id
from events.household import Discrepancy, HouseholdDeclaration, VisitRequested
from events.monitoring import RiskWarningRaised, SignalReceived
from services.identification.domain.warnings import Warning


def visit_id_for(cause: Envelope) -> str:
    """The same cause always asks for the same visit."""
    return f"V-{derived_event_id(cause.event_id, 'visit').hex[:16]}"


def visit_for_discrepancies(
    cause: Envelope, declaration: HouseholdDeclaration, discrepancies: list[Discrepancy]
) -> VisitRequested:
    return VisitRequested(
        visit_id=visit_id_for(cause),
        region_code=declaration.region_code,
        reason="declared income lower than the records by more than 10 %",
        person_ids=[d.person_id for d in discrepancies],
        discrepancies=discrepancies,
    )


def warning_and_visit(
    signal_event: Envelope, signal: SignalReceived, warning: Warning
) -> tuple[RiskWarningRaised, VisitRequested]:
    """The warning a signal about a person of no known household raises, and the visit."""
    raised = RiskWarningRaised(
        person_id=signal.person_id,
        region_code=signal.region_code,
        signal_kind=signal.kind,
        signal_event_id=str(signal_event.event_id),
        reason=warning.reason,
        amount=signal.amount,
        threshold=warning.threshold,
    )
    visit = VisitRequested(
        visit_id=visit_id_for(signal_event),
        region_code=signal.region_code,
        reason=f"risk warning: {warning.reason}",
        person_ids=[signal.person_id],
    )
    return raised, visit
