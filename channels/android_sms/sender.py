"""Sending through the app's message API with the official client (``android-sms-gateway`` on PyPI).

``APIClient`` builds the request: basic auth (local mode, or cloud mode with the app's username and password)
or a bearer JWT (cloud mode), and, with a passphrase, the text and phone numbers encrypted by its own
``Encryptor`` (``isEncrypted``). The API URL is the phone itself in local mode (``http://<phone>:8080``) or the
cloud's (``https://api.sms-gate.app/3rdparty/v1``); either way the client posts to ``<api url>/messages``.

Our message id is ``sambat-<outbox id>-<hash>``, so a retried send is refused as a duplicate (409) instead of
going out twice, and the sms:sent / sms:delivered / sms:failed events name our outbox row. A reply leaves
through the device and SIM its SMS came in on: the outbox row's sender reads ``device:<id> sim:<n>``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests
from android_sms_gateway import APIClient, Encryptor, Message, MessagePriority, TextMessage
from android_sms_gateway.errors import APIError
from android_sms_gateway.http import RequestsHttpClient

from channels.base import (
    ChannelConfigError,
    InvalidRecipient,
    OutboundMessage,
    ProviderUnavailable,
    Rejected,
    SendError,
    SendResult,
    StatusReport,
    Throttled,
)

log = logging.getLogger(__name__)

NAME = "android-sms"
# The app's queue order, higher first; 100 and above would bypass the phone's own send limits, so we stay below.
PRIORITY_REPLY, PRIORITY_UPDATE = MessagePriority.DEFAULT, MessagePriority.MINIMUM
DEVICE_ID_MAX = 21  # the API's deviceId (a cloud or private server's device); the local server is the device
STATES = {"Sent": "sent", "Delivered": "delivered", "Failed": "failed", "Cancelled": "canceled"}
_ORIGIN = re.compile(r"(device|sim):(\S+)")


def origin(device_id: str | None, sim_number: int | None) -> str | None:
    """The outbox sender of a message that leaves through this device and SIM: ``device:<id> sim:<n>``."""
    parts = ([f"device:{device_id}"] if device_id else []) + ([f"sim:{sim_number}"] if sim_number else [])
    return " ".join(parts) or None


def parse_origin(sender: str | None) -> tuple[str | None, int | None]:
    """The device id and SIM number an outbox sender names (``sim:2`` alone from before devices were kept)."""
    found = dict(_ORIGIN.findall(sender or ""))
    sim = found.get("sim")
    return found.get("device"), int(sim) if sim and sim.isdigit() else None


class _TimeoutSession(requests.Session):
    """A session whose every request has a timeout (the official client sets none)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


class AndroidSmsSender:
    """Sends SMS through the app's message API, with a delivery report."""

    name = NAME

    def __init__(self, api_url: str, username: str | None = None, password: str | None = None,
                 token: str | None = None, passphrase: str | None = None, timeout: float = 10.0) -> None:
        encryptor = Encryptor(passphrase) if passphrase else None
        login, secret = (username, password) if username and password else (None, token or "")
        self.client = APIClient(login, secret, base_url=api_url, encryptor=encryptor,
                                http=RequestsHttpClient(_TimeoutSession(timeout)))

    @staticmethod
    def message_id(message: OutboundMessage) -> str:
        """Our id for the app: the same for every attempt at one outbox row, so a repeat is a 409."""
        digest = hashlib.sha256(f"{message.recipient}\n{message.body}".encode()).hexdigest()[:10]
        return f"sambat-{message.outbox_id}-{digest}"

    def send(self, message: OutboundMessage) -> SendResult:
        """Hand one SMS to the phone (or the cloud's queue for it).

        Raises:
            SendError: a typed subclass; ``retryable`` tells the outbox whether to try again.
        """
        our_id = self.message_id(message)
        device_id, sim_number = parse_origin(message.sender)
        request = Message(
            id=our_id, phone_numbers=[message.recipient], text_message=TextMessage(text=message.body),
            with_delivery_report=True, sim_number=sim_number,
            priority=PRIORITY_UPDATE if message.kind == "status_update" else PRIORITY_REPLY,
            device_id=device_id if device_id and len(device_id) <= DEVICE_ID_MAX else None,
        )
        try:
            state = self.client.send(request)
        except APIError as error:
            if error.status_code == 409:  # our id is known: an earlier attempt got through
                return SendResult(provider_message_id=our_id, status="queued")
            raise classify_error(error.status_code, _error_text(error)) from None
        except requests.exceptions.RequestException as exc:
            raise ProviderUnavailable(f"SMS gateway unreachable: {type(exc).__name__}: {exc}") from None
        except (KeyError, ValueError, TypeError) as exc:  # taken (2xx), but an answer the client cannot read
            log.warning("android-sms: message %s taken, answer unreadable: %s", our_id, exc)
            return SendResult(provider_message_id=our_id, status="queued")
        return SendResult(provider_message_id=state.id or our_id, status=STATES.get(state.state.value, "queued"))

    def find(self, message: OutboundMessage, since: datetime, known: Callable[[str], bool]) -> SendResult | None:
        """The app's record of this message: ``GET /messages/{our id}`` (the app keeps the id we sent it with).

        Raises:
            ProviderUnavailable: the app could not be asked; the message must not be sent again yet.
        """
        state = self._state(self.message_id(message))
        if state is None:
            return None
        return SendResult(provider_message_id=state.id, status=STATES.get(state.state.value, "queued"))

    def fetch_status(self, provider_message_id: str) -> StatusReport | None:
        """The message's state in the app now; None when the app no longer knows it."""
        state = self._state(provider_message_id)
        if state is None:
            return None
        failed = state.state.value == "Failed"
        errors = [r.error for r in state.recipients if getattr(r, "error", None)] if failed else []
        return StatusReport(provider_message_id=state.id, status=STATES.get(state.state.value, "queued"),
                            error_code=str(errors[0])[:100] if errors else None, raw={"fetched": True})

    def _state(self, our_id: str) -> Any:
        try:
            return self.client.get_state(our_id)
        except APIError as error:
            if error.status_code == 404:
                return None
            raise ProviderUnavailable(f"SMS gateway could not tell the state of {our_id}: "
                                      f"{error.status_code}: {_error_text(error)}") from None
        except requests.exceptions.RequestException as exc:
            raise ProviderUnavailable(f"SMS gateway unreachable: {type(exc).__name__}: {exc}") from None
        except (KeyError, ValueError, TypeError) as exc:
            raise ProviderUnavailable(f"SMS gateway: unreadable state of {our_id}: {exc}") from None


def _error_text(error: APIError) -> str:
    answer = error.response if isinstance(error.response, dict) else {}
    return str(answer.get("message") or answer.get("error") or error)[:300]


def classify_error(status: int | None, text: str) -> SendError:
    """Map the app's HTTP error to the typed error that says whether a retry can help."""
    label = f"SMS gateway {status}: {text}"
    if status is None or status >= 500:  # 503: the cloud's queue is full, or the device offline
        return ProviderUnavailable(label, str(status) if status else None)
    if status == 429:
        return Throttled(label, str(status))
    if status in (401, 403):
        return ChannelConfigError(label + " (check SAMBAT_ANDROID_SMS_USERNAME / _PASSWORD or _TOKEN)", str(status))
    if status == 400 and "phone" in text.lower():
        return InvalidRecipient(label, str(status))
    return Rejected(label, str(status))
