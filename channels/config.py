"""The channels' settings, checked at start-up: each bad value stops the program naming its key.

Called from :func:`gateway.settings._validate`; reads only fields of the settings object.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import parseaddr
from typing import Any

MAIL_TLS = ("starttls", "ssl", "none")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/|per)\s*(s|sec|second|m|min|minute|h|hour)\s*$", re.IGNORECASE)
_PER = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


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


def validate_channels(settings: Any, source: str) -> None:
    """Check the Android SMS, mail, SMTP, IMAP and send-rate settings.

    Raises:
        gateway.settings.ConfigError: naming the first bad key.
    """
    from gateway.settings import ConfigError

    url = settings.android_sms_api_url
    if url is not None and not str(url).startswith(("http://", "https://")):
        raise ConfigError(f"SAMBAT_ANDROID_SMS_API_URL: must be an http(s) URL, got {url!r}")
    if settings.sms_provider == "android-sms" and not url:
        raise ConfigError("SAMBAT_ANDROID_SMS_API_URL: required when sms.provider is android-sms")
    if url and not (settings.android_sms_username and settings.android_sms_password) \
            and not settings.android_sms_token:
        raise ConfigError("SAMBAT_ANDROID_SMS_USERNAME and SAMBAT_ANDROID_SMS_PASSWORD: required with "
                          "SAMBAT_ANDROID_SMS_API_URL (the credentials shown in the app), or, in cloud mode, "
                          "SAMBAT_ANDROID_SMS_TOKEN (a JWT)")
    if not isinstance(settings.android_sms_max_age, int) or settings.android_sms_max_age < 1:
        raise ConfigError(f"{source}: android_sms.max_age: must be a whole number of seconds >= 1")
    minutes = settings.android_sms_silent_alert_minutes
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
        raise ConfigError(f"{source}: android_sms.silent_alert_minutes: must be a whole number of minutes >= 0 "
                          f"(0: no alert), got {minutes!r}")
    if settings.mail_tls not in MAIL_TLS:
        raise ConfigError(f"{source}: mail.tls: must be one of {', '.join(MAIL_TLS)}, got {settings.mail_tls!r}")
    if settings.imap_tls not in MAIL_TLS:
        raise ConfigError(f"{source}: imap.tls: must be one of {', '.join(MAIL_TLS)}, got {settings.imap_tls!r}")
    for key, port in (("mail.port", settings.mail_port), ("imap.port", settings.imap_port)):
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"{source}: {key}: must be a port number 1-65535, got {port!r}")
    if not mail_address(settings.mail_from):
        raise ConfigError(f"{source}: mail.from: not an e-mail address: {settings.mail_from!r}")
    if not isinstance(settings.mail_max_mb, int | float) or settings.mail_max_mb <= 0:
        raise ConfigError(f"{source}: mail.max_mb: must be a number of megabytes > 0")
    try:
        parse_listen(settings.smtp_listen)
    except ValueError as exc:
        raise ConfigError(f"SAMBAT_SMTP_LISTEN (smtp.listen): {exc}") from None
    if not isinstance(settings.smtp_accept, list | tuple) or not all(mail_address(a) for a in settings.smtp_accept):
        raise ConfigError(f"{source}: smtp.accept: must be a list of e-mail addresses")
    if not isinstance(settings.imap_interval, int | float) or settings.imap_interval <= 0:
        raise ConfigError(f"{source}: imap.interval: must be a number of seconds > 0")
    if settings.imap_host and not (settings.imap_username and settings.imap_password):
        raise ConfigError("SAMBAT_IMAP_USERNAME and SAMBAT_IMAP_PASSWORD: required with imap.host")
    if not isinstance(settings.send_rates, Mapping):
        raise ConfigError(f"{source}: send_rates: must be a mapping of provider to rate, e.g. android-sms: 6/min")
    for provider, rate in settings.send_rates.items():
        try:
            parse_rate(rate)
        except ValueError as exc:
            raise ConfigError(f"{source}: send_rates.{provider}: {exc}") from None
