"""The SCRAM passwords of one local broker's principals, in one file only its owner can read.

`<broker data dir>/credentials.json` is a JSON object principal -> password, mode 0600. The
broker's `up` writes the administrator's at first start (the storage is formatted with it);
the other principals' are added by whoever ensures the topics and grants with the
administrator's login (services/runtime/kafka_access.py), once each. Stdlib only: kafkactl
runs before any virtualenv exists.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_NAME = "credentials.json"
ADMIN = "admin"


class CredentialsError(RuntimeError):
    """The credentials file cannot be read or written."""


def credentials_file(broker_data_dir: Path | str) -> Path:
    return Path(broker_data_dir).resolve() / FILE_NAME


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f".{path.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def read_credentials(path: Path) -> dict[str, str]:
    """principal -> password; {} when the file does not exist yet."""
    try:
        found = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise CredentialsError(f"{path}: not a credentials file ({error})") from None
    if not isinstance(found, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in found.items()
    ):
        raise CredentialsError(f"{path}: expected a JSON object of principal -> password")
    return found


def ensure_credentials(path: Path, principals: Iterable[str]) -> dict[str, str]:
    """Every principal's password, new ones made up (and the file written 0600) as needed."""
    with _locked(path):
        known = read_credentials(path)
        missing = [p for p in principals if p not in known]
        if missing:
            # URL-safe characters only: the password is quoted in JAAS and StorageTool syntax.
            known |= {p: secrets.token_urlsafe(24) for p in missing}
            _write(path, known)
        return known


def _write(path: Path, known: dict[str, str]) -> None:
    fresh = path.with_suffix(".tmp")
    fresh.unlink(missing_ok=True)  # created anew, so with mode 0600 whatever was there
    descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(known, out, indent=2, sort_keys=True)
        out.write("\n")
    os.replace(fresh, path)


def remember_password(path: Path, principal: str, password: str) -> None:
    """Record a password made elsewhere (a cluster administrator's), 0600 as the rest."""
    with _locked(path):
        known = read_credentials(path) | {principal: password}
        _write(path, known)


def password_of(path: Path, principal: str) -> str:
    known = read_credentials(path)
    if principal not in known:
        raise CredentialsError(f"{path} has no password for {principal!r}")
    return known[principal]
