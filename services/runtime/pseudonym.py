"""Keyed pseudonyms of resident ids: what a Kafka message key says instead of the id itself.

A message key is seen by far more than the service that reads the message (partition dumps,
broker tools, replication, anyone allowed to describe a topic), so `assist.monitoring` is
keyed by HMAC-SHA256(secret, person_id), in hex. The same person always gets the same key, so
each person's records and signals still share a partition, in order. A plain hash would not
do: resident ids are few and structured (region, birth date, serial, check character), so
hashing every possible id turns a plain hash back into the id in minutes; without the secret
of the deployment the keyed one cannot be reversed that way.

The secret comes from ASSIST_PSEUDONYM_KEY (a secret store), else the file named by
ASSIST_PSEUDONYM_KEY_FILE, else `<ASSIST_DATA_DIR>/pseudonym.key`, created on first start with
mode 0600 as the audit's signing key is. Every instance that keys a topic must use the same
secret: a changed secret moves each person to another partition, and order across the change
is lost.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.logging import get_logger

KEY_FILE = "pseudonym.key"
# 16 characters of a random secret are far beyond guessing; anything shorter is a mistake.
MIN_SECRET_LENGTH = 16
log = get_logger()


class PseudonymSettings(BaseSettings):
    """ASSIST_PSEUDONYM_KEY (the secret) or ASSIST_PSEUDONYM_KEY_FILE (a file holding it)."""

    model_config = SettingsConfigDict(env_prefix="ASSIST_PSEUDONYM_", extra="ignore")
    key: SecretStr | None = None
    key_file: Path | None = None


class Pseudonyms:
    """person_id -> its keyed pseudonym under one deployment's secret."""

    def __init__(self, secret: str) -> None:
        secret = secret.strip()
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"the pseudonym secret needs at least {MIN_SECRET_LENGTH} characters")
        self._secret = secret.encode()

    def of(self, person_id: str) -> str:
        """HMAC-SHA256(secret, person_id) in hex: 64 characters, the same for the same person."""
        return hmac.new(self._secret, person_id.encode(), hashlib.sha256).hexdigest()

    def key(self, person_id: str) -> bytes:
        """The Kafka message key of a message about this person."""
        return self.of(person_id).encode()

    def __repr__(self) -> str:  # never the secret, not even in a traceback
        return "Pseudonyms(<secret>)"


def load_pseudonyms(data_dir: Path, settings: PseudonymSettings | None = None) -> Pseudonyms:
    """The deployment's pseudonyms: from the environment's secret, its file, or the data dir's."""
    settings = settings or PseudonymSettings()
    if settings.key is not None:
        return Pseudonyms(settings.key.get_secret_value())
    if settings.key_file is not None:
        return Pseudonyms(read_key_file(settings.key_file))
    path = ensure_key_file(data_dir / KEY_FILE)
    # Fine for one process on one machine; a deployment gives every instance the same secret,
    # or each would key the same person differently (and a lost data dir, a new secret).
    log.warning(
        "pseudonym secret from the data dir: set ASSIST_PSEUDONYM_KEY or _KEY_FILE in a deployment",
        file=str(path),
    )
    return Pseudonyms(read_key_file(path))


def ensure_key_file(path: Path) -> Path:
    """Create a file holding a new random secret (mode 0600) unless it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # kept, or another process created it first: use that one
        return path
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_hex(32) + "\n")
    return path


def read_key_file(path: Path) -> str:
    """The secret in `path`; a file others may read is used, and said to be a risk."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        # Not refused: a secret mounted by an orchestrator is often 0644 inside its container.
        log.warning("pseudonym secret file readable by others", file=str(path), mode=f"{mode:04o}")
    return path.read_text()
