"""How a channel declares its settings, and the parsers the channels' settings share.

Each channel owns one section of config.yaml as a :class:`Section` (a pydantic model) whose keys are declared
once with :func:`setting`: the default, the environment variable that overrides it, and whether config.yaml
may hold it at all (secrets come from the environment only). ``gateway.settings`` gathers the sections into
the one settings object; nothing here reads a file or the environment.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAIL_TLS = ("starttls", "ssl", "none")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/|per)\s*(s|sec|second|m|min|minute|h|hour)\s*$", re.IGNORECASE)
_PER = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


class Section(BaseModel):
    """One section of config.yaml: unknown keys are refused, values are read-only once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def setting(default: Any = None, *, env: str | None = None, file: bool = True, alias: str | None = None,
            description: str | None = None) -> Any:
    """Declare one key: its default, its environment variable, and whether config.yaml may set it.

    Args:
        default: the value in code, used when neither config.yaml nor the environment gives one.
        env: the environment variable that overrides config.yaml (``SAMBAT_MAIL_HOST``), or None.
        file: False for keys read from the environment only (secrets, credentials).
        alias: the key's name in config.yaml when it is not a Python name (``from``).
        description: what the key means, shown by ``sambat config check``.
    """
    return Field(default, alias=alias, description=description, json_schema_extra={"env": env, "file": file})


def parse_rate(text: str) -> float:
    """A send rate as people write it ("6/min", "1 per second", "100/h") in messages per second.

    Raises:
        ValueError: naming what was given.
    """
    match = _RATE.match(str(text))
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"not a rate like '6/min' or '1/s': {text!r}")
    return float(match.group(1)) / _PER[match.group(2).lower()]


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:25`` for IPv6) to a (host, port) pair.

    Raises:
        ValueError: naming what was given.
    """
    host, _, port = str(text).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, e.g. 0.0.0.0:25, got {text!r}")
    return host.strip("[]"), int(port)


def mail_address(text: str) -> str:
    """The bare address of ``Name <addr@host>`` or ``addr@host``; empty when there is none."""
    address = parseaddr(str(text or ""))[1]
    return address if "@" in address else ""


def http_url(value: str | None) -> str | None:
    """A validator body: None, or an http(s) URL.

    Raises:
        ValueError: naming what was given.
    """
    if value is not None and not str(value).startswith(("http://", "https://")):
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    return value


def whole(value: Any, low: int, high: int | None = None, unit: str = "") -> int:
    """A validator body: a whole number (not a bool) from ``low`` (to ``high``).

    Raises:
        ValueError: saying what is expected.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ValueError(f"must be a whole number{' of ' + unit if unit else ''} {span}, got {value!r}")
    return value
