"""The console provider: prints each outbound message and says plainly that it did not send it.

Chosen when no provider credentials are set (``sambat up`` on a fresh machine), so a demo shows
every reply without an SMS account, and nobody mistakes a printed message for a delivered one.
"""

from __future__ import annotations

import logging
import sys
import uuid
from typing import TextIO

from channels.base import OutboundMessage, SendResult

log = logging.getLogger(__name__)


NAME = "console"


class ConsoleSender:
    """Writes messages to a stream (standard output by default) instead of sending them."""

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, message: OutboundMessage) -> SendResult:
        """Print the message; its outbox row ends as ``not_sent``."""
        stream = self.stream or sys.stdout
        stream.write(
            f"[console {message.medium.upper()} - NOT SENT, no provider configured] "
            f"to {message.recipient}: {message.body}\n"
        )
        stream.flush()
        return SendResult(provider_message_id=f"console-{uuid.uuid4().hex}", status="not_sent")
