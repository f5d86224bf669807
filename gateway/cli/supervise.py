"""``sambat up``'s supervisor: the scheduler thread, the job threads and the worker process, restarted if they die.

``sambat up`` runs everything in one command with no outside supervisor (systemd, docker) to bring a dead
part back. Each part is watched with a liveness check and a way to start it again; a part that keeps dying
is restarted with a growing pause (0.5 s ... 30 s), so a broken one never spins.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.jobs.reconnect import MAX_DELAY, delays

log = logging.getLogger("sambat")


@dataclass
class Part:
    """One watched part: is it alive, and how to start it again."""

    name: str
    alive: Callable[[], bool]
    restart: Callable[[], Any]
    restarts: int = 0
    not_before: float = 0.0
    _delays: Any = field(default_factory=lambda: delays(cap=MAX_DELAY))


class Supervisor:
    """Restarts dead parts, checked every ``interval`` seconds on its own thread until ``stop`` is set."""

    def __init__(self, stop: threading.Event, interval: float = 1.0) -> None:
        self.stop, self.interval = stop, interval
        self.parts: list[Part] = []

    def watch(self, name: str, alive: Callable[[], bool], restart: Callable[[], Any]) -> None:
        self.parts.append(Part(name, alive, restart))

    def thread(self, name: str, target: Callable[[], Any]) -> None:
        """Start ``target`` on a daemon thread and watch it: a thread that ends is started again."""
        holder: dict[str, threading.Thread] = {}

        def start() -> None:
            holder["thread"] = threading.Thread(target=target, name=name, daemon=True)
            holder["thread"].start()

        start()
        self.watch(name, lambda: holder["thread"].is_alive(), start)

    def check_once(self) -> list[str]:
        """Restart every dead part whose pause is over; returns their names."""
        restarted = []
        for part in self.parts:
            if self.stop.is_set():
                break
            try:
                alive = part.alive()
            except Exception:  # noqa: BLE001 - a check that fails counts as dead
                alive = False
            if alive or time.monotonic() < part.not_before:
                continue
            part.restarts += 1
            pause = next(part._delays)
            part.not_before = time.monotonic() + pause
            log.error("%s stopped; starting it again (restart %s; the next no sooner than in %.1f s)",
                      part.name, part.restarts, pause)
            try:
                part.restart()
            except Exception:  # noqa: BLE001 - tried again after the pause
                log.exception("%s could not be started again", part.name)
            restarted.append(part.name)
        return restarted

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.check_once()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="sambat-supervisor", daemon=True)
        thread.start()
        return thread
