"""Ed25519 key pairs: the audit's, that signs checkpoints, and the chain writer's, that signs
what it appends (services/runtime/writer_signature.py); created on first start, kept under the
data dir.

The private key file is created with mode 0600 and refused if others can read it (as ssh does);
the public key is served over HTTP and kept by auditors with the checkpoints they export.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

PRIVATE_FILE = "checkpoint-signing.key"
PUBLIC_FILE = "checkpoint-signing.pub"


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex characters of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    public: Ed25519PublicKey

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    @property
    def public_pem(self) -> str:
        return public_pem(self.public)


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_pem(pem: str) -> Ed25519PublicKey:
    key = load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("public_key: not an Ed25519 key")
    return key


def load_or_create(
    directory: Path, private_file: str = PRIVATE_FILE, public_file: str = PUBLIC_FILE
) -> SigningKey:
    """The key pair under `directory`, created there (private key mode 0600) if absent."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_path = directory / private_file
    if not private_path.exists():
        _create(private_path)
    mode = stat.S_IMODE(private_path.stat().st_mode)
    if mode & 0o077:
        raise PermissionError(
            f"{private_path} is readable by others (mode {mode:04o}); it must be 0600"
        )
    key = load_pem_private_key(private_path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{private_path}: not an Ed25519 private key")
    signing = SigningKey(key, key.public_key())
    (directory / public_file).write_text(signing.public_pem)
    return signing


def _create(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return
    with os.fdopen(fd, "wb") as file:
        file.write(pem)
