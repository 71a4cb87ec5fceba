"""The demo `make run` feeds: a few households of different tiers and a few signals."""

from __future__ import annotations

from pathlib import Path


def run_demo(data: Path) -> int:
    print("demo: the intake service is not part of this build yet; nothing to feed")
    return 0
