"""A checkpoint or a tree head as an auditor keeps it outside the system: one JSON file with
its public key."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from events.audit import AnyTreeHead, Checkpoint, TreeHead, TreeHeadV1, parse_tree_head
from services.runtime.signing_keys import load_public_pem

Kept = TypeVar("Kept", Checkpoint, TreeHead | TreeHeadV1)
FORMAT = "assist-checkpoint/1"
TREE_HEAD_FORMAT = "assist-tree-head/1"


class CheckpointFileError(ValueError):
    pass


def write_checkpoint_file(
    path: Path, checkpoint: Checkpoint, public_key_pem: str, source: str
) -> None:
    _write(path, FORMAT, "checkpoint", checkpoint, public_key_pem, source)


def read_checkpoint_file(path: Path) -> tuple[Checkpoint, Ed25519PublicKey]:
    """The kept checkpoint and the public key kept with it (not yet verified: see verify)."""
    return _read(path, FORMAT, "checkpoint", Checkpoint.model_validate)


def write_tree_head_file(path: Path, head: AnyTreeHead, public_key_pem: str, source: str) -> None:
    """The whole record: the signed fields and, of a version 2 head, its partition trees."""
    _write(path, TREE_HEAD_FORMAT, "tree_head", head, public_key_pem, source)


def read_tree_head_file(path: Path) -> tuple[AnyTreeHead, Ed25519PublicKey]:
    """The kept tree head (of either version) and the public key kept with it (not yet
    verified)."""
    return _read(path, TREE_HEAD_FORMAT, "tree_head", parse_tree_head)


def is_tree_head_file(path: Path) -> bool:
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and document.get("format") == TREE_HEAD_FORMAT


def _write(
    path: Path,
    file_format: str,
    name: str,
    signed: Checkpoint | AnyTreeHead,
    public_key_pem: str,
    source: str,
) -> None:
    document = {
        "format": file_format,
        "exported_at": datetime.now(UTC).isoformat(),
        "source": source,
        "public_key": {
            "algorithm": signed.algorithm,
            "key_id": signed.key_id,
            "public_key_pem": public_key_pem,
        },
        name: signed.model_dump(mode="json"),
    }
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _read(
    path: Path, file_format: str, name: str, parse: Callable[[Any], Kept]
) -> tuple[Kept, Ed25519PublicKey]:
    """The signed document of a kept file and its public key (neither verified yet)."""
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointFileError(f"{path}: cannot read a kept file: {error}") from None
    if not isinstance(document, dict) or document.get("format") != file_format:
        raise CheckpointFileError(f"{path}: not an exported {name} (format {file_format})")
    try:
        signed = parse(document[name])
        return signed, load_public_pem(str(document["public_key"]["public_key_pem"]))
    except (KeyError, TypeError, ValueError, ValidationError) as error:
        raise CheckpointFileError(f"{path}: {error}") from None
