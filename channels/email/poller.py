"""``sambat imap``: take complaints from an existing mailbox (imapclient).

Each new mail is fetched with ``BODY.PEEK[]`` (reading it does not mark it read for the people who share
the mailbox), stored and committed, and only then flagged done with the keyword ``$SambatDone`` (or
``\\Seen`` where the server allows no keywords). A crash in between fetches it again next time, and its
Message-ID makes the second store a no-op. Between polls it IDLEs when the server can, else sleeps.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from channels.base import InboundError

log = logging.getLogger(__name__)

DONE = b"$SambatDone"
SEEN = b"\\Seen"


def connect(settings: Any) -> tuple[IMAPClient, bytes]:
    """Log in, select the folder, and choose the done flag: our keyword when the folder takes new keywords
    (PERMANENTFLAGS has ``\\*``), else ``\\Seen``."""
    use_ssl = settings.imap.tls == "ssl"
    client = IMAPClient(settings.imap.host, port=settings.imap.port, ssl=use_ssl, timeout=30,
                        ssl_context=ssl.create_default_context() if use_ssl else None)
    if settings.imap.tls == "starttls":
        client.starttls(ssl.create_default_context())
    client.login(settings.imap.username, settings.secret("imap.password"))
    selected = client.select_folder(settings.imap.folder)
    return client, DONE if b"\\*" in selected.get(b"PERMANENTFLAGS", (b"\\*",)) else SEEN


def poll_once(runtime: Any, client: IMAPClient, flag: bytes = DONE,
              intake: Callable[[bytes], Any] | None = None) -> int:
    """Store every mail not yet flagged done; returns how many were stored (new or repeated).

    ``intake`` stores one mail and returns what was stored; default the runtime's ``mail_intake``.
    """
    accept_mail = intake or runtime.mail_intake
    criteria = ["NOT", "DELETED", "NOT", "KEYWORD", flag.decode()] if flag != SEEN else ["UNSEEN"]
    uids = client.search(criteria)
    handled = 0
    for uid in uids:
        fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
        raw = fetched.get(b"BODY[]")
        if raw is None:
            continue
        try:
            accept_mail(raw)
        except InboundError as error:  # unreadable as a message from someone: flag it so it is not retried
            log.warning("mail uid %s in %s refused: %s", uid, runtime.settings.imap.folder, error)
        client.add_flags([uid], [flag])  # done only now, after the commit
        handled += 1
    return handled


def run_forever(runtime: Any, stop: threading.Event | None = None,
                intake: Callable[[bytes], Any] | None = None) -> None:
    """Poll, then IDLE (or sleep ``imap.interval``) until ``stop``; reconnect after a lost connection."""
    stop = stop or threading.Event()
    settings = runtime.settings
    while not stop.is_set():
        try:
            client, flag = connect(settings)
            idle = b"IDLE" in client.capabilities()
            while not stop.is_set():
                stored = poll_once(runtime, client, flag, intake)
                if stored:
                    log.info("imap: %s mail(s) stored from %s", stored, settings.imap.folder)
                if idle:
                    client.idle()
                    client.idle_check(timeout=settings.imap.interval)
                    client.idle_done()
                else:
                    stop.wait(settings.imap.interval)
        except (IMAPClientError, OSError) as exc:
            log.warning("imap: %s: %s; reconnecting in %ss", type(exc).__name__, exc, settings.imap.interval)
            stop.wait(settings.imap.interval)
