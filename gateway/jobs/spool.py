"""Accept while the database is down: what a provider sends is spooled to Redis, answered, imported later.

Twilio does not retry an inbound SMS webhook, and a delivery report answered 503 is gone: when PostgreSQL
cannot be reached, the webhooks (Twilio SMS and status, the Android gateway's events) and the mail the SMTP
listener or the IMAP poller takes are written to a Redis list (:class:`RedisSpool`) and answered 2xx. Only
when Redis is down too does a webhook answer 503 (and the SMTP listener 451). Why Redis and what a
deployment must configure (the AOF, fsync every second or always): docs/spool.md.

The scheduler's loop runs :func:`drain` every few seconds: entries are imported oldest first, each through
the same code the webhook runs (store under the provider id, apply a delivery report by rank, a channel's
own store), so an entry imported twice (a crash between import and removal) changes nothing. One drainer
at a time (a Redis lock) keeps the order; an entry is removed only if it is still the oldest (a compare
and pop), so even two drainers never drop one. An entry that fails for another reason than an outage (a
bug) moves to the dead list, with its error, and the rest go on.

``sambat up`` without Redis (the embedded queue) spools to a local append-only file instead
(:class:`FileSpool`, fsynced per entry), drained the same way by its scheduler thread.

Entries are JSON: the parsed item (``channels.base`` dataclasses, bytes, datetimes) written by
:func:`encode`; :func:`decode` only rebuilds dataclasses of the ``channels`` package.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.jobs.reconnect import DATABASE, database_unavailable, outage_for
from gateway.runtime import Runtime
from models import utcnow

log = logging.getLogger(__name__)

MESSAGE, REPORT, STORE, MAIL = "message", "report", "store", "mail"  # what an entry holds
DRAIN_BATCH = 500  # entries imported per scheduler tick at most
LOCK_SECONDS = 60

# Pop the oldest entry only if it is the one just imported (no other drainer took it meanwhile).
_POP_IF_FIRST = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  return redis.call('LPOP', KEYS[1])
end
return false
"""


class RedisSpool:
    """A Redis list of entries waiting for the database: ``<queue>:spool`` and ``<queue>:spool:dead``."""

    def __init__(self, connection: Any, name: str = "sambat") -> None:
        self.connection = connection
        self.key, self.dead_key, self.lock_key = f"{name}:spool", f"{name}:spool:dead", f"{name}:spool:lock"
        self._pop_if_first = connection.register_script(_POP_IF_FIRST)

    def push(self, kind: str, data: Any, **extra: Any) -> str:
        """Append one entry (RPUSH: one command, in the AOF when it returns); returns its id."""
        entry_id = uuid.uuid4().hex
        entry = {"id": entry_id, "kind": kind, "spooled_at": utcnow().isoformat(), "data": encode(data), **extra}
        self.connection.rpush(self.key, json.dumps(entry, separators=(",", ":")))
        return entry_id

    def depth(self) -> int:
        """Entries waiting to be imported."""
        return int(self.connection.llen(self.key))

    def dead(self) -> int:
        """Entries that failed to import for another reason than an outage (kept for a person to look at)."""
        return int(self.connection.llen(self.dead_key))

    def oldest(self) -> bytes | None:
        return self.connection.lindex(self.key, 0)

    def drain_lock(self) -> Any:
        """One drainer at a time, across processes (a Redis lock that expires if its holder dies)."""
        return self.connection.lock(self.lock_key, timeout=LOCK_SECONDS, blocking=False)

    def remove_oldest(self, raw: bytes) -> bool:
        """Remove the oldest entry if it is still ``raw``; False when another drainer took it."""
        return self._pop_if_first(keys=[self.key], args=[raw]) is not None

    def bury(self, raw: bytes, error: BaseException) -> None:
        """Keep an entry that cannot be imported on the dead list, with the error, and take it off the spool."""
        entry = json.loads(raw)
        entry["error"] = f"{type(error).__name__}: {error}"[:2000]
        with self.connection.pipeline() as pipeline:  # MULTI: both or neither
            pipeline.rpush(self.dead_key, json.dumps(entry, separators=(",", ":")))
            pipeline.lrem(self.key, 1, raw)
            pipeline.execute()


class FileSpool:
    """A local append-only file of entries, for ``sambat up`` without Redis (docs/spool.md).

    ``spool.jsonl`` holds one JSON entry a line, each appended and fsynced before the webhook answers;
    ``spool.offset`` says how much of it is imported (rewritten atomically), and the file starts afresh once
    everything is. Entries that cannot be imported go to ``spool.dead.jsonl``. One process (``sambat up``)
    writes and drains it; a lock orders its threads.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path, self.offset_path = self.directory / "spool.jsonl", self.directory / "spool.offset"
        self.dead_path = self.directory / "spool.dead.jsonl"
        self.key, self.dead_key = str(self.path), str(self.dead_path)
        self._lock = threading.RLock()
        self._draining = threading.Lock()

    def push(self, kind: str, data: Any, **extra: Any) -> str:
        entry_id = uuid.uuid4().hex
        entry = {"id": entry_id, "kind": kind, "spooled_at": utcnow().isoformat(), "data": encode(data), **extra}
        self._append(self.path, json.dumps(entry, separators=(",", ":")).encode())
        return entry_id

    def _append(self, path: Path, line: bytes) -> None:
        with self._lock:
            new = not path.exists()
            self.directory.mkdir(parents=True, exist_ok=True)
            with path.open("ab") as spool:
                spool.write(line + b"\n")
                spool.flush()
                os.fsync(spool.fileno())
            if new:  # the file's name must survive a crash too
                directory = os.open(self.directory, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)

    def _offset(self) -> int:
        try:
            return int(self.offset_path.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def _rest(self) -> bytes:
        try:
            with self.path.open("rb") as spool:
                spool.seek(self._offset())
                return spool.read()
        except FileNotFoundError:
            return b""

    def depth(self) -> int:
        with self._lock:
            return self._rest().count(b"\n")

    def dead(self) -> int:
        with self._lock:
            return self.dead_path.read_bytes().count(b"\n") if self.dead_path.exists() else 0

    def oldest(self) -> bytes | None:
        with self._lock:
            line, newline, _ = self._rest().partition(b"\n")
            return line if newline else None

    def remove_oldest(self, raw: bytes) -> bool:
        with self._lock:
            if self.oldest() != raw:
                return False
            offset = self._offset() + len(raw) + 1
            if offset >= self.path.stat().st_size:  # all imported: start afresh
                with self.path.open("r+b") as spool:
                    spool.truncate(0)
                    os.fsync(spool.fileno())
                offset = 0
            temporary = self.offset_path.with_suffix(".tmp")
            with temporary.open("w") as written:
                written.write(str(offset))
                written.flush()
                os.fsync(written.fileno())
            os.replace(temporary, self.offset_path)
            return True

    def bury(self, raw: bytes, error: BaseException) -> None:
        try:
            entry = json.loads(raw)
        except ValueError:
            entry = {"raw": raw.decode("utf-8", "replace")}
        entry["error"] = f"{type(error).__name__}: {error}"[:2000]
        with self._lock:
            self._append(self.dead_path, json.dumps(entry, separators=(",", ":")).encode())
            self.remove_oldest(raw)

    def drain_lock(self) -> Any:
        return _ThreadLock(self._draining)


class _ThreadLock:
    """The drain lock of a :class:`FileSpool`: the interface of redis-py's lock, within one process."""

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock

    def acquire(self) -> bool:
        return self.lock.acquire(blocking=False)

    def extend(self, *_: Any, **__: Any) -> None:
        pass

    def release(self) -> None:
        self.lock.release()


def build_spool(queue: Any) -> RedisSpool | None:
    """The spool beside an rq queue (the same Redis, named after the queue); None for the embedded queue."""
    connection = getattr(queue, "connection", None)
    queues = getattr(queue, "queues", None)
    if connection is None or not queues:
        return None
    from gateway.runtime import DEFAULT

    return RedisSpool(connection, queues[DEFAULT].name)


def depth(runtime: Runtime) -> int | None:
    """How many entries wait in the spool (for /metrics): 0 where there is no spool (the embedded queue),
    None when it cannot be read (Redis is down)."""
    spool = getattr(runtime, "spool", None)
    if spool is None:
        return 0
    try:
        return spool.depth()
    except Exception:  # noqa: BLE001 - a gauge must not fail the page it is on
        return None


# --- accepting ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spooled:
    """What the intake answers for an item spooled instead of stored (message_id is not known yet)."""

    entry_id: str
    message_id: None = None
    created: bool = True
    automated: str | None = None
    spooled: bool = True

    def __str__(self) -> str:
        return "spooled: stored when the database is back"


def accept_or_spool(runtime: Runtime, kind: str, item: Any, work: Callable[[], Any], **extra: Any) -> Any:
    """Run ``work`` (store ``item`` in the database); when the database cannot be reached, spool ``item``.

    Returns what ``work`` returned, or a :class:`Spooled`. When the spool fails too (no Redis, or no spool
    in this process), the database's error is raised, and the caller answers 503 (the provider retries).
    """
    try:
        outcome = work()
    except Exception as error:
        spool = getattr(runtime, "spool", None)
        if not database_unavailable(error) or spool is None:
            raise
        try:
            entry_id = spool.push(kind, item, **extra)
        except Exception as spool_error:  # noqa: BLE001 - both are down: the caller answers 503
            log.error("the database and the spool are both unreachable (%s; %s): answering 503",
                      type(error).__name__, spool_error)
            raise error from None
        DATABASE.failed(error, "webhooks and mail are spooled to Redis until it is back")
        log.info("spooled %s %s as %s", kind, _label(item), entry_id)
        return Spooled(entry_id)
    DATABASE.recovered()
    return outcome


def accept_mail_or_spool(runtime: Runtime, raw: bytes, envelope_from: str | None = None) -> Any:
    """The SMTP listener's and IMAP poller's intake: :func:`gateway.jobs.mail.accept_mail`, else spooled."""
    from gateway.jobs.mail import accept_mail

    return accept_or_spool(runtime, MAIL, {"raw": raw, "envelope_from": envelope_from},
                           lambda: accept_mail(runtime, raw, envelope_from))


def _label(item: Any) -> str:
    for name in ("provider_message_id", "event_id"):
        if hasattr(item, name):
            return f"{type(item).__name__} {getattr(item, name)}"
    return type(item).__name__


# --- draining -----------------------------------------------------------------------------------------


def import_entry(runtime: Runtime, entry: dict[str, Any]) -> Any:
    """Import one entry through the code its webhook runs; safe to run twice (provider ids, status ranks)."""
    from gateway.jobs.inbound import store_and_enqueue
    from gateway.jobs.mail import accept_mail
    from gateway.jobs.outbox import apply_report

    data = decode(entry["data"])
    kind = entry["kind"]
    if kind == MESSAGE:
        return store_and_enqueue(runtime, data)
    if kind == REPORT:
        return apply_report(runtime, data)
    if kind == STORE:
        return getattr(runtime.channels[entry["channel"]], entry["method"])(runtime, data)
    if kind == MAIL:
        return accept_mail(runtime, data["raw"], data["envelope_from"])
    raise ValueError(f"unknown spool entry kind {kind!r}")


def drain(runtime: Runtime, limit: int = DRAIN_BATCH) -> int:
    """Import up to ``limit`` spooled entries, oldest first; returns how many left the spool.

    Raises the outage error (database or Redis) when one stops it: the entry stays first, for the next try.
    """
    spool = getattr(runtime, "spool", None)
    if spool is None:
        return 0
    lock = spool.drain_lock()
    if not lock.acquire():
        return 0  # another process drains
    done = 0
    try:
        while done < limit:
            raw = spool.oldest()
            if raw is None:
                break
            try:
                import_entry(runtime, json.loads(raw))
            except Exception as error:  # noqa: BLE001 - sorted: an outage stops the drain, anything else is buried
                if outage_for(error) is not None:
                    raise
                log.exception("spool entry could not be imported; kept on %s", spool.dead_key)
                spool.bury(raw, error)
            else:
                spool.remove_oldest(raw)
            done += 1
            if done % 50 == 0:
                lock.extend(LOCK_SECONDS, replace_ttl=True)
    finally:
        try:
            lock.release()
        except Exception:  # noqa: BLE001 - expired or Redis gone: it times out by itself
            pass
    if done:
        log.info("spool: %s entr%s imported, %s waiting", done, "y" if done == 1 else "ies", spool.depth())
    return done


def check_durability(spool: RedisSpool | None) -> str | None:
    """A warning when the spool's Redis would lose what it was given on a crash (no AOF, or no fsync);
    None when it is configured as docs/spool.md asks, or when Redis will not say (CONFIG disabled)."""
    if not isinstance(spool, RedisSpool):
        return None  # none, or a FileSpool: fsynced at each entry
    try:
        config = spool.connection.config_get("append*")
    except Exception:  # noqa: BLE001 - managed Redis often disables CONFIG: nothing to check
        return None
    config = {_text(key): _text(value) for key, value in config.items()}
    appendonly, fsync = config.get("appendonly", ""), config.get("appendfsync", "")
    if appendonly != "yes" or fsync not in ("everysec", "always"):
        return (f"Redis runs with appendonly {appendonly or '?'}, appendfsync {fsync or '?'}: what the spool holds "
                "while the database is down is lost if Redis restarts; set appendonly yes and appendfsync everysec "
                "or always (docs/spool.md)")
    return None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# --- the entries' JSON ------------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """JSON for a parsed item: dataclasses (by module and name), bytes, datetimes and tuples tagged."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        return {"__dataclass__": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(item) for item in value]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    return value


def decode(value: Any) -> Any:
    """The item :func:`encode` wrote; only dataclasses of the ``channels`` package are rebuilt."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "__dataclass__" in value:
        module, _, name = value["__dataclass__"].partition(":")
        if not (module == "channels" or module.startswith("channels.")):
            raise ValueError(f"spool entry names {module}:{name}, outside the channels package")
        cls: Any = importlib.import_module(module)
        for part in name.split("."):
            cls = getattr(cls, part)
        if not dataclasses.is_dataclass(cls):
            raise ValueError(f"spool entry names {module}:{name}, which is not a dataclass")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: decode(item) for key, item in value["fields"].items() if key in known})
    if "__bytes__" in value:
        return base64.b64decode(value["__bytes__"])
    if "__datetime__" in value:
        return datetime.fromisoformat(value["__datetime__"])
    if "__tuple__" in value:
        return tuple(decode(item) for item in value["__tuple__"])
    return {key: decode(item) for key, item in value.items()}
