"""Outbound e-mail: over SMTP when a host is configured, else printed by the console provider.

Every mail carries a Message-ID made from its outbox row (the same on every attempt, so a retried send is
recognisable) and returned as the provider id, which is how a citizen's reply finds its complaint. Replies
carry In-Reply-To and References; all our mail says ``Auto-Submitted`` (RFC 3834) so well-behaved
autoresponders do not answer it, and Outlook's ``X-Auto-Response-Suppress`` for the same reason.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import sys
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, TextIO

from channels.base import (
    ChannelConfigError,
    InvalidRecipient,
    OutboundMessage,
    ProviderUnavailable,
    Rejected,
    SendError,
    SendResult,
)
from channels.config import mail_address

FOOTER = ("\n\n-- \nSambat - {city}. Balas email ini untuk menambah keterangan pada aduan Anda; "
          "kirim CEK <nomor tiket> untuk status.\nReply to this e-mail to add to your complaint.")


def message_id_for(message: OutboundMessage, from_address: str) -> str:
    """A Message-ID fixed by the outbox row: ``<sambat.<outbox id>.<hash>@<our domain>>``."""
    domain = (mail_address(message.sender or from_address) or "sambat@localhost").split("@", 1)[1]
    digest = hashlib.sha256(f"{message.recipient}\n{message.subject}\n{message.body}".encode()).hexdigest()[:12]
    return f"<sambat.{message.outbox_id}.{digest}@{domain}>"


def compose(message: OutboundMessage, from_address: str, city: str = "Sambat") -> EmailMessage:
    """The mail for one outbox row, plain text in UTF-8."""
    mail = EmailMessage()
    mail["From"] = message.sender or from_address
    mail["To"] = message.recipient
    mail["Subject"] = message.subject or "Sambat"
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = message_id_for(message, from_address)
    if message.in_reply_to:
        mail["In-Reply-To"] = message.in_reply_to
    if message.references:
        mail["References"] = message.references
    mail["Auto-Submitted"] = "auto-replied" if message.in_reply_to else "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(message.body + FOOTER.format(city=city))
    return mail


class SmtpSender:
    """Sends mail through an SMTP server (the city's relay, or a provider's submission port)."""

    name = "email"

    def __init__(self, host: str, port: int = 587, username: str | None = None, password: str | None = None,
                 tls: str = "starttls", from_address: str = "sambat@localhost", timeout: float = 10.0,
                 city: str = "Sambat") -> None:
        self.host, self.port, self.username, self.password = host, port, username, password
        self.tls, self.from_address, self.timeout, self.city = tls, from_address, timeout, city

    def send(self, message: OutboundMessage) -> SendResult:
        """Hand the mail to the SMTP server.

        Raises:
            SendError: a typed subclass; 4xx answers and lost connections are retried, 5xx are not.
        """
        mail = compose(message, self.from_address, self.city)
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail, from_addr=mail_address(self.from_address) or None)
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelConfigError(f"SMTP login refused: {exc.smtp_code} {_text(exc.smtp_error)} "
                                     "(check SAMBAT_MAIL_USERNAME / _PASSWORD)", str(exc.smtp_code)) from None
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            error = InvalidRecipient if code >= 500 else ProviderUnavailable
            raise error(f"SMTP refused {message.recipient}: {code} {_text(text)}", str(code)) from None
        except smtplib.SMTPResponseException as exc:
            error = Rejected if exc.smtp_code >= 500 else ProviderUnavailable
            raise error(f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}", str(exc.smtp_code)) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ProviderUnavailable(f"SMTP server {self.host}:{self.port} unreachable: "
                                      f"{type(exc).__name__}: {exc}") from None
        return SendResult(provider_message_id=mail["Message-ID"], status="sent")

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class ConsoleMailSender:
    """With no SMTP host: prints each mail and says plainly that it was not sent."""

    name = "console"

    def __init__(self, from_address: str = "sambat@localhost", stream: TextIO | None = None,
                 city: str = "Sambat") -> None:
        self.from_address, self.stream, self.city = from_address, stream, city

    def send(self, message: OutboundMessage) -> SendResult:
        """Print the mail; its outbox row ends as ``not_sent`` (with its Message-ID, so replies still thread)."""
        mail = compose(message, self.from_address, self.city)
        stream = self.stream or sys.stdout
        stream.write(f"[console EMAIL - NOT SENT, no SMTP host configured] to {message.recipient}: "
                     f"{mail['Subject']}: {message.body}\n")
        stream.flush()
        return SendResult(provider_message_id=mail["Message-ID"], status="not_sent")


def build_mail_sender(settings: Any) -> SmtpSender | ConsoleMailSender:
    """SMTP when ``mail.host`` is set, else the console provider."""
    if not settings.mail.host:
        return ConsoleMailSender(settings.mail.sender, city=settings.city)
    return SmtpSender(settings.mail.host, settings.mail.port, settings.mail.username, settings.secret("mail.password"),
                      tls=settings.mail.tls, from_address=settings.mail.sender, timeout=settings.outbox.send_timeout,
                      city=settings.city)


__all__ = ["ConsoleMailSender", "SendError", "SmtpSender", "build_mail_sender", "compose", "message_id_for"]
