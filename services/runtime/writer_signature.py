"""The chain writer's signature on each record it appends to `assist.chain`.

Anyone who can write to the topic can append a record with a correct hash link; only the chain
writer holds its private key. It signs each record's hash (which covers the household, the
sequence, the link and the content) and sends the signature in a Kafka record header, so the
event itself, its hash and every schema stay as they are. Readers that have the chain writer's
public key (the audit) tell its appends from anything else on the topic.

The key pair is kept apart from the audit's: a leaked audit key cannot forge appends, and the
reverse. It is created on first start under `<ASSIST_DATA_DIR>/chainwriter/`; the audit reads
the public half from there, or from ASSIST_CHAIN_WRITER_PUBLIC_KEY.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HEADER = "assist-writer-signature"
PRIVATE_FILE = "chain-writer-signing.key"
PUBLIC_FILE = "chain-writer-signing.pub"
_DOMAIN = b"assist-chain-writer/1\x00"  # a signature over a record hash, and nothing else


def _signed_bytes(record_hash: str) -> bytes:
    return _DOMAIN + bytes.fromhex(record_hash)


def sign_record(key: Ed25519PrivateKey, record_hash: str) -> tuple[str, bytes]:
    """The header to send with a record whose hash is `record_hash`."""
    return HEADER, key.sign(_signed_bytes(record_hash))


def signed_by_writer(
    key: Ed25519PublicKey, record_hash: object, headers: Iterable[tuple[str, bytes]]
) -> bool:
    """Did the chain writer append this record? (A signature over its hash, in its headers.)"""
    if not isinstance(record_hash, str):
        return False
    for name, value in headers:
        if name == HEADER:
            try:
                key.verify(value, _signed_bytes(record_hash))
                return True
            except (InvalidSignature, ValueError):
                return False
    return False


def writer_key_dir(data_dir: Path) -> Path:
    return data_dir / "chainwriter"


def writer_public_key_file(data_dir: Path) -> Path | None:
    """Where the audit finds the chain writer's public key, if anywhere."""
    named = os.environ.get("ASSIST_CHAIN_WRITER_PUBLIC_KEY")
    if named:
        return Path(named)
    default = writer_key_dir(data_dir) / PUBLIC_FILE
    return default if default.exists() else None
