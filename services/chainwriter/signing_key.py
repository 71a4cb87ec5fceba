"""The chain writer's own key pair (services/runtime/writer_signature.py says what it signs)."""

from __future__ import annotations

from pathlib import Path

from services.runtime.signing_keys import SigningKey, load_or_create
from services.runtime.writer_signature import PRIVATE_FILE, PUBLIC_FILE, writer_key_dir


def ensure_writer_key(data_dir: Path) -> SigningKey:
    """The key pair under `<data_dir>/chainwriter/`, created there if absent. `make run` and the
    tests create it before any service starts, so the audit finds the public half at its start."""
    return load_or_create(writer_key_dir(data_dir), PRIVATE_FILE, PUBLIC_FILE)
