"""Files a service keeps on its local disk between starts."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def replace_atomically(path: Path, *parts: bytes) -> None:
    """Write `parts` to `path` at once: a crash leaves the old file or the new one, never half.
    The partial file has a name of its own, so processes sharing a directory never write into
    one another's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{uuid.uuid4().hex}.partial")
    with partial.open("wb") as out:
        for part in parts:
            out.write(part)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)
