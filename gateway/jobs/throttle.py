"""Outbound pacing per provider: at most ``send_rates[provider]`` messages, shared by every worker.

A phone in a drawer sends only a few SMS a minute before the carrier blocks its SIM; Twilio numbers have
their own limits. Each send asks for a slot (GCRA: one slot every 1/rate seconds, a burst of up to ten
seconds' worth). With Redis the slots are kept there, atomically (a Lua script, Redis's own clock), so all
workers share one budget; with the embedded queue they are kept in this process.

Ticket replies go before status updates that are already waiting: a reply that finds no free slot
*reserves* the next one (for its outbox row) and waits for it; a status update takes only a free slot and
otherwise steps back without reserving, so it can never take a slot a reply is waiting for. A wait of up
to :data:`SLEEP_LIMIT` seconds is slept in the worker; a longer one hands the row back to the scheduler.
"""

from __future__ import annotations

import math
import random
import threading
import time
from typing import Any

from channels.config import parse_rate

SLEEP_LIMIT = 2.0  # seconds a worker may sleep for its slot rather than hand the row back
BURST_SECONDS = 10.0  # a provider may take up to this many seconds' worth of messages at once

_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local urgent, member, sleep_limit = ARGV[3] == '1', ARGV[4], tonumber(ARGV[5])
local reserved = redis.call('HGET', KEYS[2], member)
if reserved then
  local slot = tonumber(reserved)
  if slot <= now then redis.call('HDEL', KEYS[2], member); return '0' end
  return tostring(slot - now)
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - interval * (burst - 1) - now
if wait > 0 and not urgent and wait > sleep_limit then return tostring(-wait) end
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil((tat + interval - now) * 1000) + 60000)
if wait > sleep_limit then
  redis.call('HSET', KEYS[2], member, tostring(now + wait))
  redis.call('EXPIRE', KEYS[2], 86400)
end
if wait < 0 then return '0' end
return tostring(wait)
"""


class Throttle:
    """Slots per provider. :meth:`acquire` says how long the caller must wait for its send.

    Returns of :meth:`acquire`: ``0`` send now; ``0 < w <= SLEEP_LIMIT`` sleep ``w`` then send; ``w >
    SLEEP_LIMIT`` a slot is reserved for this member in ``w`` seconds; ``w < 0`` no slot: try again in ``-w``.
    """

    def __init__(self, rates: dict[str, float], redis: Any = None, namespace: str = "sambat",
                 sleep_limit: float = SLEEP_LIMIT, burst_seconds: float = BURST_SECONDS) -> None:
        self.rates, self.redis, self.namespace, self.sleep_limit = rates, redis, namespace, sleep_limit
        self.burst_seconds = burst_seconds
        self._script = redis.register_script(_GCRA) if redis is not None else None
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._reserved: dict[tuple[str, str], float] = {}

    def rate(self, provider: str) -> float | None:
        """Messages per second for a provider, or None when it is not paced."""
        return self.rates.get(provider)

    def acquire(self, provider: str, member: str, urgent: bool) -> float:
        """Ask for a slot for one message (``member``: its outbox id) of ``provider``."""
        rate = self.rates.get(provider)
        if not rate:
            return 0.0
        interval, burst = 1.0 / rate, max(1, math.floor(rate * self.burst_seconds))
        if self._script is not None:
            keys = [f"{self.namespace}:throttle:{provider}", f"{self.namespace}:throttle:{provider}:reserved"]
            return float(self._script(keys=keys, args=[interval, burst, int(urgent), member, self.sleep_limit]))
        with self._lock:
            return self._local(provider, member, urgent, interval, burst, time.monotonic())

    def _local(self, provider: str, member: str, urgent: bool, interval: float, burst: int, now: float) -> float:
        slot = self._reserved.get((provider, member))
        if slot is not None:
            if slot <= now:
                del self._reserved[(provider, member)]
                return 0.0
            return slot - now
        tat = max(self._tat.get(provider, now), now)
        wait = tat - interval * (burst - 1) - now
        if wait > self.sleep_limit and not urgent:
            return -wait
        self._tat[provider] = tat + interval
        if wait > self.sleep_limit:
            self._reserved[(provider, member)] = now + wait
        return max(0.0, wait)


def build_throttle(settings: Any, queue: Any) -> Throttle:
    """The throttle for a runtime: in Redis when the queue is rq's, else in this process."""
    rates = {provider: parse_rate(rate) for provider, rate in (settings.send_rates or {}).items()}
    connection = getattr(queue, "connection", None)
    return Throttle(rates, redis=connection, namespace=settings.queue_name)


def pace(throttle: Throttle | None, provider: str, outbox_id: int, urgent: bool) -> float:
    """Wait for a send's slot; returns 0 to send now, or the seconds to hand the row back for."""
    if throttle is None:
        return 0.0
    wait = throttle.acquire(provider, str(outbox_id), urgent)
    if 0 < wait <= throttle.sleep_limit:
        time.sleep(wait)
        return 0.0
    if wait < 0:  # a status update without a slot: step back, a little jitter so they do not all return at once
        return -wait + random.uniform(0, min(5.0, -wait))
    return wait
