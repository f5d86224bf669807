"""The e-mail channel's settings: ``mail:`` (sending), ``smtp:`` (Sambat's listener) and ``imap:`` (a mailbox)."""

from __future__ import annotations

from pydantic import SecretStr, field_validator

from channels.config import MAIL_TLS, Section, mail_address, parse_listen, setting


class _MailServer(Section):
    """What a mail server's section checks alike: the TLS mode and the port (its keys are the subclass's)."""

    @field_validator("tls", check_fields=False)
    @classmethod
    def _tls(cls, value: str) -> str:
        return tls_mode(value)

    @field_validator("port", check_fields=False)
    @classmethod
    def _port(cls, value: int) -> int:
        return port_number(value)


class MailSettings(_MailServer):
    """``mail:``: outbound e-mail over SMTP (none: printed by the console provider)."""

    host: str | None = setting(None, env="SAMBAT_MAIL_HOST")
    port: int = setting(587, env="SAMBAT_MAIL_PORT")
    username: str | None = setting(None, env="SAMBAT_MAIL_USERNAME")
    password: SecretStr | None = setting(None, env="SAMBAT_MAIL_PASSWORD", file=False)
    tls: str = setting("starttls", env="SAMBAT_MAIL_TLS", description="starttls, ssl or none")
    sender: str = setting("Sambat <sambat@localhost>", env="SAMBAT_MAIL_FROM", alias="from")
    max_mb: float = setting(35, description="larger mails are refused by the listener")
    authserv_id: str = setting("", description="whose Authentication-Results count (e.g. mx.malangkota.go.id); "
                               "empty: the topmost")

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not mail_address(value):
            raise ValueError(f"not an e-mail address: {value!r}")
        return value

    @field_validator("max_mb")
    @classmethod
    def _max_mb(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a number of megabytes > 0")
        return value


class SmtpSettings(Section):
    """``smtp:``: Sambat's own listener, for a city that routes its complaint address to it."""

    enabled: bool = setting(False)
    listen: str = setting("127.0.0.1:2525", env="SAMBAT_SMTP_LISTEN", description="host:port")
    accept: tuple[str, ...] = setting((), description="our addresses; empty: any recipient")

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @field_validator("accept")
    @classmethod
    def _accept(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not all(mail_address(address) for address in value):
            raise ValueError("must be a list of e-mail addresses")
        return value


class ImapSettings(_MailServer):
    """``imap:``: take complaints from an existing mailbox (``sambat imap``)."""

    host: str | None = setting(None, env="SAMBAT_IMAP_HOST")
    port: int = setting(993, env="SAMBAT_IMAP_PORT")
    username: str | None = setting(None, env="SAMBAT_IMAP_USERNAME")
    password: SecretStr | None = setting(None, env="SAMBAT_IMAP_PASSWORD", file=False)
    tls: str = setting("ssl", env="SAMBAT_IMAP_TLS", description="ssl, starttls or none")
    folder: str = setting("INBOX")
    interval: float = setting(60, description="seconds between polls when the server has no IDLE")

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a number of seconds > 0")
        return value


def tls_mode(value: str) -> str:
    """A validator body: ``starttls``, ``ssl`` or ``none``."""
    if value not in MAIL_TLS:
        raise ValueError(f"must be one of {', '.join(MAIL_TLS)}, got {value!r}")
    return value


def port_number(value: int) -> int:
    """A validator body: a port number (not a bool) from 1 to 65535."""
    if isinstance(value, bool) or not 0 < value < 65536:
        raise ValueError(f"must be a port number 1-65535, got {value!r}")
    return value
