"""What a process uses, from /proc (Linux): CPU time so far, resident memory now and at peak.

CPU time, unlike wall time, is not stretched by other programs on a shared machine: the CPU
milliseconds each service spends per household say what a household costs, and which
service costs most, however busy the machine was.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])  # "VmHWM:   123456 kB"
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM: the highest resident set size the process has had, in MiB (None: no such pid)."""
    kib = _status_kib(pid, "VmHWM")
    return round(kib / 1024, 1) if kib is not None else None


def rss_mib(pid: int) -> float | None:
    """VmRSS: the resident set size now, in MiB."""
    kib = _status_kib(pid, "VmRSS")
    return round(kib / 1024, 1) if kib is not None else None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used so far (None: no such pid)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command: state is field 3 of stat(5), utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    found = {name: cpu_seconds(pid) for name, pid in pids.items()}
    return {name: seconds for name, seconds in found.items() if seconds is not None}


def cpu_ms_per_item(
    before: dict[str, float], after: dict[str, float], items: int
) -> dict[str, float]:
    """CPU milliseconds per item of each process between two snapshots, plus their total."""
    spent = {name: after[name] - before[name] for name in after if name in before}
    per = {name: round(seconds * 1000 / items, 3) for name, seconds in spent.items()}
    per["total"] = round(sum(spent.values()) * 1000 / items, 3) if items else 0.0
    return per
