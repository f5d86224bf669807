"""Who holds a claimed send, so that a claim whose process is gone is taken back in seconds, not the claim timeout.

A claimed outbox row (status ``claimed``) records its claimant: the machine's boot, the process's PID namespace,
its PID and the time it started (``/proc``). The scheduler's sweep (:func:`gateway.jobs.scheduler.sweep_once`)
takes back a claim with no provider id after the whole claim timeout (the longest a send's job may run), or
sooner when it can tell that the claimant is gone (same boot and same PID namespace as the scheduler, and no
process with that PID and start time): once the claim is :data:`ORPHAN_AGE` old and the scheduler has seen its
claimant gone for :data:`GONE_FOR` (:class:`Orphans`). A claim it cannot judge (another machine or container, no
``/proc``) waits for the timeout as before. Either way the row is unsure: the provider is asked before it is sent
again (docs/send-once.md).

Why each part: a PID alone is reused, and means nothing in another PID namespace (a worker in another container
on the same machine, perhaps with the same host name); the start time tells a reused PID from the claimant; the
boot id tells a reboot. A process SIGKILLed but not yet reaped by its parent still has its entry and counts as
alive until it is reaped: the timeout then applies, which is the safe side.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

# How old a claim must be, and how long its claimant must have been seen gone, before it is taken back. The
# second is counted from the first sweep that saw the process gone, so from after its death: a provider still
# working through a request whose sender died (the whole request was on the wire) has made its message long
# before, and the look-up that comes before any new send finds it.
ORPHAN_AGE = timedelta(seconds=20)
GONE_FOR = timedelta(seconds=10)
PROC = Path("/proc")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def start_time(pid: int, proc: Path = PROC) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of ``/proc/<pid>/stat``), or None when there
    is no such process (or no ``/proc``)."""
    stat = _read(proc / str(pid) / "stat")
    if stat is None:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or parentheses itself: split after it.
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


@functools.cache
def machine(proc: Path = PROC) -> str | None:
    """This boot and this PID namespace (``<boot id>/<pid namespace inode>``), or None where /proc cannot say."""
    boot = _read(proc / "sys" / "kernel" / "random" / "boot_id")
    try:
        namespace = os.readlink(proc / "self" / "ns" / "pid")
    except OSError:
        return None
    return f"{boot}/{namespace}" if boot else None


def claimant(pid: int | None = None, proc: Path = PROC) -> str | None:
    """This process as the holder of a claim (``<boot id>/<pid namespace>/<pid>/<start time>``), or None where it
    cannot be told apart later (no /proc)."""
    pid = os.getpid() if pid is None else pid
    where, started = machine(proc), start_time(pid, proc)
    if where is None or started is None:
        return None
    return f"{where}/{pid}/{started}"


def gone(holder: str | None, proc: Path = PROC) -> bool:
    """True only when ``holder`` (a :func:`claimant`) ran on this boot in this PID namespace and no process with
    its PID and start time is there any more. Unknown (None, another machine or container, unreadable) is not
    gone."""
    where = machine(proc)
    if not holder or where is None or not holder.startswith(where + "/"):
        return False
    pid, _, started = holder[len(where) + 1:].partition("/")
    if not pid.isdigit() or not started:
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists (in this PID namespace)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process: it exists; its start time says whether it is the claimant
    except OSError:
        return False
    seen = start_time(int(pid), proc)  # unreadable (/proc mounted hidepid): unknown, so not gone
    return seen is not None and seen != started


class Orphans:
    """What one scheduler has seen: each claim (outbox id, claimant) held by a gone process, since when. A claim is
    settled once seen gone at every sweep for :data:`GONE_FOR`; one not seen gone at a sweep (taken back, or
    recorded) is forgotten."""

    def __init__(self) -> None:
        self.first_seen: dict[tuple[int, str], datetime] = {}
        self._lock = threading.Lock()

    def settled(self, seen_gone: Iterable[tuple[int, str]], now: datetime) -> list[tuple[int, str]]:
        """Note the claims seen gone at this sweep; return those seen gone for GONE_FOR or longer."""
        with self._lock:
            self.first_seen = {key: self.first_seen.get(key, now) for key in seen_gone}
            return sorted(key for key, since in self.first_seen.items() if now - since >= GONE_FOR)
