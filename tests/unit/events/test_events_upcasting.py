import json
from decimal import Decimal
from pathlib import Path

from events.chain import verify_chain
from events.codec import decode_document
from events.household import ApplicationReceived
from events.upcasting import upcast

STORED_V1 = Path(__file__).parent / "fixtures" / "application_received_v1.json"


def test_a_stored_v1_application_is_read_as_the_current_version() -> None:
    document = json.loads(STORED_V1.read_text())
    event = decode_document(document)
    assert event.schema_version == 2
    assert isinstance(event.payload, ApplicationReceived)
    assert event.payload.rigid_expenses_12m.medical == Decimal("8200.50")
    assert event.payload.rigid_expenses_12m.education == Decimal("0")
    assert event.sequence == 1 and event.hash == document["hash"]


def test_a_stored_v1_event_still_verifies_as_written() -> None:
    # Hashes cover the bytes as written: upcasting happens on read, never in the chain.
    document = json.loads(STORED_V1.read_text())
    assert verify_chain([document]).valid


def test_upcasting_leaves_the_stored_document_untouched() -> None:
    document = json.loads(STORED_V1.read_text())
    before = json.dumps(document, sort_keys=True)
    upcast(document)
    assert json.dumps(document, sort_keys=True) == before


def test_current_version_passes_through_unchanged() -> None:
    document = json.loads(STORED_V1.read_text())
    current = upcast(upcast(document))
    assert current == upcast(document)
