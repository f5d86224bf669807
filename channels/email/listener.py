"""``sambat smtp``: an aiosmtpd listener for a city that points a mail route (MX or relay) at Sambat.

The listener only takes mail for Sambat (``smtp.accept``; it never relays), refuses mail over
``mail.max_mb`` at once (552), and answers ``250`` only after the mail is committed to the database (or,
while the database is down, spooled durably by the gateway: docs/spool.md); a failure to do either answers
``451`` so the sending server tries again later.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.base import InboundError
from channels.config import mail_address, parse_listen

log = logging.getLogger(__name__)


class IntakeHandler:
    """aiosmtpd handler: RCPT checks the address is ours, DATA stores the mail through the pipeline."""

    def __init__(self, runtime: Any, intake: Callable[[bytes, str], Any]) -> None:
        self.runtime, self.intake = runtime, intake
        self.accept = {mail_address(a).lower() for a in runtime.settings.smtp.accept}

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if self.accept and address.lower() not in self.accept:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        mail_from = envelope.mail_from if envelope.mail_from not in (None, "<>") else ""
        try:
            accepted = await asyncio.get_running_loop().run_in_executor(None, self.intake, raw, mail_from)
        except InboundError as error:
            return f"550 5.6.0 {error}"
        except Exception:  # noqa: BLE001 - not stored: the sender must keep the mail and try again
            log.exception("could not store a mail from %s", envelope.mail_from)
            return "451 4.3.0 Sambat cannot store mail right now, please try again later"
        if getattr(accepted, "spooled", False):
            return "250 2.0.0 queued: stored when the database is back"
        return f"250 2.0.0 stored as message {accepted.message_id}"


def start_listener(runtime: Any, listen: str | None = None,
                   intake: Callable[[bytes, str], Any] | None = None) -> Controller:
    """Start the listener on its own thread; returns the aiosmtpd controller (``.stop()`` ends it).

    Args:
        runtime: the process's runtime (its settings).
        listen: ``host:port``, else ``smtp.listen``.
        intake: stores one mail (raw bytes, envelope sender) and returns what was stored; default the
            runtime's ``mail_intake``, which the gateway wires up.
    """
    host, port = parse_listen(listen or runtime.settings.smtp.listen)
    limit = int(runtime.settings.mail.max_mb * 1024 * 1024)
    controller = Controller(IntakeHandler(runtime, intake or runtime.mail_intake), hostname=host, port=port,
                            data_size_limit=limit, ident="Sambat", decode_data=False)
    controller.start()
    log.info("SMTP listener on %s:%s (mail up to %s MB)", host, port, runtime.settings.mail.max_mb)
    return controller


def serve_forever(runtime: Any, listen: str | None = None,
                  intake: Callable[[bytes, str], Any] | None = None) -> None:
    """Run the listener until SIGINT or SIGTERM (``sambat smtp``)."""
    controller = start_listener(runtime, listen, intake)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    try:
        stopped.wait()
    finally:
        controller.stop()
