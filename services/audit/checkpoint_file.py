"""A checkpoint as an auditor keeps it outside the system: one JSON file with its public key."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from events.audit import Checkpoint
from services.audit.keys import load_public_pem

FORMAT = "assist-checkpoint/1"


class CheckpointFileError(ValueError):
    pass


def write_checkpoint_file(
    path: Path, checkpoint: Checkpoint, public_key_pem: str, source: str
) -> None:
    document = {
        "format": FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "source": source,
        "public_key": {
            "algorithm": checkpoint.algorithm,
            "key_id": checkpoint.key_id,
            "public_key_pem": public_key_pem,
        },
        "checkpoint": checkpoint.model_dump(mode="json"),
    }
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def read_checkpoint_file(path: Path) -> tuple[Checkpoint, Ed25519PublicKey]:
    """The kept checkpoint and the public key kept with it (not yet verified: see verify)."""
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointFileError(f"{path}: cannot read a checkpoint file: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointFileError(f"{path}: not an exported checkpoint (format {FORMAT})")
    try:
        checkpoint = Checkpoint.model_validate(document["checkpoint"])
        key = load_public_pem(str(document["public_key"]["public_key_pem"]))
    except (KeyError, TypeError, ValueError, ValidationError) as error:
        raise CheckpointFileError(f"{path}: {error}") from None
    return checkpoint, key
