"""Twilio: SMS, MMS and WhatsApp in through a signed webhook, out through one POST to Twilio's Messages API.

Inbound checks go in a fixed order, each failure with its own 4xx: the X-Twilio-Signature (403), the
required fields (400), the sender's number to E.164 (400). Outbound errors become the typed
exceptions of :mod:`channels.base`, so only the ones a retry can help are retried. A message is sent with a
plain form POST over a kept-alive urllib3 pool (twilio's client costs several times the CPU per message for the
same request); the rare look-ups (:meth:`TwilioSender.find`, :meth:`TwilioSender.fetch_status`) use twilio's client.

A WhatsApp location pin (``Latitude``, ``Longitude``, ``Address``, ``Label``) becomes the message's
location. MMS and WhatsApp photos stay URLs in the message; the worker downloads them later with
:func:`fetch_media` (HTTP basic auth with the account's SID and token, sent only to Twilio's hosts). Past
WhatsApp's 24-hour window a message goes as an approved Content API template (``ContentSid`` and
``ContentVariables`` instead of ``Body``); Twilio's 63016 ("outside the allowed window") is
:class:`channels.base.WindowClosed`, whether it comes as the API's answer or in a status callback.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import math
import os
import platform
from base64 import b64encode
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlparse, urlsplit

import phonenumbers
import requests
import urllib3
from pydantic import SecretStr, field_validator
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    add_port,
    get_signature_algorithm,
    remove_port,
)
from twilio.rest import Client
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from channels.base import (
    BadSignature,
    ChannelConfigError,
    FetchedMedia,
    Ignored,
    InboundMessage,
    InvalidRecipient,
    Location,
    Media,
    MediaFetchError,
    MissingField,
    OutboundMessage,
    ProviderUnavailable,
    RecipientOptedOut,
    Rejected,
    SendError,
    SendResult,
    StatusReport,
    Throttled,
    WindowClosed,
)
from channels.config import Section, http_url, setting
from channels.phone import to_e164
from channels.registry import ChannelSpec, Webhook

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Every MessageStatus Twilio documents for status callbacks; anything else is answered and ignored.
KNOWN_STATUSES = {
    "accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read",
    "canceled", "partially_delivered", "receiving", "received",
}
# Twilio error codes that say the message can never go to this recipient.
OPTED_OUT_CODES = {21610}
INVALID_RECIPIENT_CODES = {21211, 21214, 21612, 21614, 21408, 63003}
THROTTLED_CODES = {20429, 14107, 30022}
CONFIG_CODES = {20003, 20404, 21606, 21659, 21660, 21606, 63007}
# 63016: "Failed to send freeform message because you are outside the allowed window" (WhatsApp's 24 hours).
WINDOW_CLOSED_CODES = {63016}
FAILED_STATUSES = {"failed", "undelivered"}
MEDIA_CHUNK = 64 * 1024
LIST_PAGE_SIZE = 50  # List Messages page while looking for a message whose send had no known outcome
CREATE_MESSAGE_PATH = "/2010-04-01/Accounts/{account_sid}/Messages.json"
USER_AGENT = f"Sambat (urllib3/{urllib3.__version__}; Python/{platform.python_version()})"
# Connections kept per sender, as twilio's own client keeps; threads beyond it open and drop their own.
POOL_SIZE = min(32, (os.cpu_count() or 1) + 4)


class SignatureCheck(RequestValidator):
    """twilio's RequestValidator, doing less for the same answer on a webhook's form.

    twilio's ``validate`` parses the URL again on every request, always computes two HMACs (the URL without and
    with its port, since Twilio signs either), builds the signed string by repeated concatenation, finds each field
    of a werkzeug MultiDict only after an AttributeError (it tries Django's ``getall`` first), and compares in a
    Python loop. Here the two URLs are worked out once per URL, the one written as given tried first and the other
    only if that fails; the string is the URL and every distinct (name, value) pair in sorted order (the same
    string as twilio's, names sorted, then each name's distinct values sorted); the HMAC is one call and the
    comparison :func:`hmac.compare_digest`. A JSON body (``bodySHA256``, a string) and an algorithm twilio does not
    know go to twilio's ``validate`` unchanged. tests/channels/test_twilio_signature.py checks both give the same
    answer and the same signature.
    """

    def validate(self, uri: str, params: Any, signature: str, algorithm: str | None = None) -> bool:
        hashed = (algorithm or HMAC_SHA1).upper()
        if isinstance(params, str) or hashed not in SIGNATURE_HASHES:
            return super().validate(uri, params, signature, algorithm)
        fields = self._fields(params)
        expected = signature.encode("utf-8", "replace")
        return any(hmac.compare_digest(self._sign(url + fields, hashed), expected) for url in signed_urls(uri))

    def compute_signature(self, uri: str, params: Any, algorithm: str | None = None) -> str:
        hashed = (algorithm or HMAC_SHA1).upper()
        if isinstance(params, str) or hashed not in SIGNATURE_HASHES:
            return super().compute_signature(uri, params, algorithm)
        return self._sign(uri + self._fields(params), hashed).decode("ascii")

    def _fields(self, params: Any) -> str:
        """The signed string's fields: each distinct (name, value) pair, sorted, as name + value."""
        if isinstance(params, MultiDict):  # werkzeug's form: its repeated fields without a look-up per name
            pairs: Iterable[tuple[str, str]] = params.items(multi=True)
        else:  # any other mapping, read as twilio reads it
            pairs = ((name, value) for name in params or () for value in self.get_values(params, name))
        return "".join(name + value for name, value in sorted(set(pairs)))

    def _sign(self, text: str, algorithm: str) -> bytes:
        return b64encode(hmac.digest(self.token, text.encode("utf-8"), SIGNATURE_HASHES[algorithm]))


SIGNATURE_HASHES = {HMAC_SHA1: "sha1", HMAC_SHA256: "sha256"}


@functools.lru_cache(maxsize=64)
def signed_urls(uri: str) -> tuple[str, str]:
    """The two URLs Twilio may have signed for ``uri``, as twilio's ``validate`` tries them (without and with the
    port), the one written as given first."""
    parsed = urlparse(uri)
    return (add_port(parsed), remove_port(parsed)) if parsed.port else (remove_port(parsed), add_port(parsed))


class TwilioChannel:
    """Parses Twilio's webhooks (messages and status callbacks) for one account."""

    name = "twilio"

    def __init__(self, auth_token: str | None, region: str = "ID") -> None:
        self.auth_token = auth_token
        self.region = region

    def verify(self, request: Request, url: str) -> None:
        """Check X-Twilio-Signature over the public URL and the form fields.

        Raises:
            BadSignature: when the header is missing, the account has no auth token, or it does not match.
        """
        signature = request.headers.get("X-Twilio-Signature")
        if not signature:
            raise BadSignature("missing X-Twilio-Signature header")
        if not self.auth_token:
            raise BadSignature("TWILIO_AUTH_TOKEN is not set, so no Twilio signature can be checked")
        algorithm = get_signature_algorithm(request.headers.get("X-Twilio-Webhooks-Signature-Settings"))
        # The MultiDict itself: repeated fields are read with getlist().
        if not SignatureCheck(self.auth_token).validate(url, request.form, signature, algorithm=algorithm):
            raise BadSignature(f"X-Twilio-Signature does not match this request to {url}")

    def parse_inbound(self, request: Request, url: str) -> InboundMessage:
        """Read an incoming SMS, MMS or WhatsApp message after checking its signature."""
        self.verify(request, url)
        form = request.form
        sid = form.get("MessageSid") or form.get("SmsMessageSid")
        for field_name, value in (("MessageSid", sid), ("From", form.get("From"))):
            if not value:
                raise MissingField(f"missing required field {field_name}")
        sender_raw = form["From"]
        medium = "whatsapp" if sender_raw.lower().startswith("whatsapp:") else "sms"
        sender = to_e164(sender_raw, self.region)
        media = tuple(
            Media(url=form[f"MediaUrl{i}"], content_type=form.get(f"MediaContentType{i}"))
            for i in range(_media_count(form))
            if form.get(f"MediaUrl{i}")
        )
        if media and medium == "sms":
            medium = "mms"
        return InboundMessage(
            channel=self.name,
            medium=medium,
            provider_message_id=sid,
            sender=sender,
            recipient=form.get("To"),
            text=form.get("Body", ""),
            media=media,
            raw=form.to_dict(flat=True),
            location=_location(form),
        )

    def parse_status(self, request: Request, url: str) -> StatusReport:
        """Read a status callback; ``?outbox=<id>`` in the URL ties it to our row even before we know the sid."""
        self.verify(request, url)
        form = request.form
        sid = form.get("MessageSid") or form.get("SmsSid")
        status = form.get("MessageStatus") or form.get("SmsStatus")
        for field_name, value in (("MessageSid", sid), ("MessageStatus", status)):
            if not value:
                raise MissingField(f"missing required field {field_name}")
        if status not in KNOWN_STATUSES:
            raise Ignored(f"ignoring unknown status {status!r}")
        outbox = request.args.get("outbox", "")
        error_code = form.get("ErrorCode") or None
        return StatusReport(
            provider_message_id=sid,
            status=status,
            error_code=error_code,
            outbox_id=int(outbox) if outbox.isdigit() else None,
            raw=form.to_dict(flat=True),
            window_closed=status in FAILED_STATUSES and error_code is not None
            and error_code.isdigit() and int(error_code) in WINDOW_CLOSED_CODES,
        )

    def answer(self) -> Response:
        """An empty TwiML response: we reply later through the API, never inline."""
        return Response(EMPTY_TWIML, status=200, mimetype="text/xml")


def _media_count(form: Any) -> int:
    try:
        return max(0, min(int(form.get("NumMedia", "0") or 0), 10))
    except ValueError:
        return 0


def _location(form: Any) -> Location | None:
    """A WhatsApp location pin; None when the message has none (or coordinates that are not a place on Earth)."""
    try:
        latitude, longitude = float(form.get("Latitude", "")), float(form.get("Longitude", ""))
    except ValueError:
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)) or abs(latitude) > 90 or abs(longitude) > 180:
        return None
    address, label = (form.get("Address") or "").strip(), (form.get("Label") or "").strip()
    return Location(latitude=latitude, longitude=longitude, address=address[:400] or None, label=label[:200] or None)


class _BaseUrlHttpClient(TwilioHttpClient):
    """twilio's own HTTP client, sending to another base URL (a local stand-in, a staging proxy)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if self.base_url != TWILIO_API and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


class TwilioSender:
    """Sends SMS and WhatsApp messages with one POST to Create Message; finds and fetches them with twilio's client.

    Shared by the threads that run jobs: the urllib3 pool behind :meth:`send` is thread-safe.
    """

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_number: str | None = None,
                 messaging_service_sid: str | None = None, api_base_url: str = TWILIO_API,
                 timeout: float = 10.0) -> None:
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.client = Client(account_sid, auth_token, http_client=_BaseUrlHttpClient(api_base_url, timeout))
        base = api_base_url.rstrip("/")
        self._create_path = urlsplit(base).path + CREATE_MESSAGE_PATH.format(account_sid=account_sid)
        self._pool, self._create_url = _connection_pool(base, self._create_path, timeout)
        self._headers = {
            "Authorization": _basic_auth(account_sid, auth_token),
            "User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Charset": "utf-8",
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def send(self, message: OutboundMessage) -> SendResult:
        """Create the message at Twilio: one form POST, the answer's ``sid`` and ``status`` read from its JSON.

        Raises:
            SendError: a typed subclass; ``retryable`` tells the outbox whether to try again.
        """
        fields = {"To": _address(message.medium, message.recipient)}
        if message.template:  # an approved template (Content API): WhatsApp past its 24-hour window
            fields["ContentSid"] = message.template
            fields["ContentVariables"] = json.dumps(message.template_variables or {}, ensure_ascii=False)
        else:
            fields["Body"] = message.body
        sender = message.sender or self.from_number
        if sender:
            fields["From"] = _address(message.medium, sender)
        elif self.messaging_service_sid:
            fields["MessagingServiceSid"] = self.messaging_service_sid
        else:
            raise ChannelConfigError("no sender: set sms.twilio_from or sms.twilio_messaging_service_sid")
        if message.status_callback:
            fields["StatusCallback"] = message.status_callback
        try:
            answer = self._pool.urlopen("POST", self._create_url, body=urlencode(fields).encode(),
                                        headers=self._headers, retries=False, redirect=False)
        except urllib3.exceptions.HTTPError as exc:  # refused, reset, timed out, TLS, proxy
            raise ProviderUnavailable(f"Twilio unreachable: {type(exc).__name__}: {exc}") from None
        try:
            document = json.loads(answer.data)
        except ValueError:
            document = None
        resource = document if isinstance(document, dict) else {}
        if 200 <= answer.status < 300:
            if not isinstance(resource.get("sid"), str):
                # Twilio may well have taken the message: the outbox asks (find) before it sends again.
                raise ProviderUnavailable(f"Twilio answered {answer.status} without a Message resource: "
                                          f"{_excerpt(answer.data)}")
            return SendResult(provider_message_id=resource["sid"], status=resource.get("status") or "queued")
        # Twilio's error JSON ({code, message, more_info, status}); any other answer maps by its HTTP status.
        code = resource.get("code")
        text = str(resource.get("message") or "") if document is not None else \
            f"an answer that is not JSON: {_excerpt(answer.data)}"
        error = TwilioRestException(answer.status, self._create_path, text,
                                    code=code if isinstance(code, int) else None, method="POST")
        raise classify_error(error) from None

    def find(self, message: OutboundMessage, since: datetime, known: Callable[[str], bool]) -> SendResult | None:
        """Twilio's record of this message: List Messages to its number, newest first, back to ``since`` (less a
        minute: Twilio's dates are whole seconds), matching the sender and the body (a template's text is
        Twilio's to fill in: any message of ours not already recorded matches it).

        Raises:
            ProviderUnavailable: Twilio could not be asked; the message must not be sent again yet.
        """
        to = _address(message.medium, message.recipient)
        sender = message.sender or self.from_number
        oldest = since - timedelta(minutes=1)
        try:
            for found in self.client.messages.stream(to=to, page_size=LIST_PAGE_SIZE):
                if found.date_created is not None and found.date_created < oldest:
                    break
                if not str(found.direction or "").startswith("outbound") or known(found.sid):
                    continue
                if sender and found.from_ and found.from_ != _address(message.medium, sender):
                    continue
                if message.template or found.body == message.body:
                    return SendResult(provider_message_id=found.sid, status=found.status or "queued")
        except TwilioRestException as exc:
            raise ProviderUnavailable(f"Twilio could not list messages: {classify_error(exc)}") from None
        except TwilioException as exc:  # a page Twilio answered with an error
            raise ProviderUnavailable(f"Twilio could not list messages: {exc}") from None
        except requests.exceptions.RequestException as exc:
            raise ProviderUnavailable(f"Twilio unreachable: {type(exc).__name__}: {exc}") from None
        return None

    def fetch_status(self, provider_message_id: str) -> StatusReport | None:
        """The Message resource's status now (Fetch Message); None when Twilio no longer has it (404)."""
        try:
            found = self.client.messages(provider_message_id).fetch()
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise ProviderUnavailable(f"Twilio could not fetch {provider_message_id}: {classify_error(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise ProviderUnavailable(f"Twilio unreachable: {type(exc).__name__}: {exc}") from None
        code = found.error_code
        return StatusReport(provider_message_id=found.sid, status=found.status,
                            error_code=str(code) if code else None, raw={"fetched": True},
                            window_closed=found.status in FAILED_STATUSES and code in WINDOW_CLOSED_CODES)


def _connection_pool(base_url: str, path: str, timeout: float
                     ) -> tuple[urllib3.HTTPConnectionPool | urllib3.ProxyManager, str]:
    """A kept-alive pool to ``base_url`` and the URL to give its ``urlopen`` for ``path``.

    The environment counts as it does for requests (and so for twilio's client): ``HTTPS_PROXY``/``NO_PROXY``,
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, else certifi's certificates.
    """
    environment = requests.Session().merge_environment_settings(base_url, {}, None, None, None)
    options: dict[str, Any] = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False,
                               "maxsize": POOL_SIZE, "block": False}
    if base_url.startswith("https:"):
        verify = environment["verify"]
        certificates = requests.certs.where() if verify is True else str(verify)
        options["ca_cert_dir" if os.path.isdir(certificates) else "ca_certs"] = certificates
    proxy = requests.utils.select_proxy(base_url, environment["proxies"])
    if proxy:
        user, password = requests.utils.get_auth_from_url(proxy)
        headers = {"Proxy-Authorization": _basic_auth(user, password)} if user else None
        return urllib3.ProxyManager(proxy, num_pools=1, proxy_headers=headers, **options), \
            urllib3.util.parse_url(base_url)._replace(path=path).url
    return urllib3.connection_from_url(base_url, **options), path


def _basic_auth(user: str, password: str) -> str:
    return "Basic " + b64encode(f"{user}:{password}".encode()).decode("ascii")


def _excerpt(data: bytes) -> str:
    """The start of an answer's body, for an error message."""
    text = data[:200].decode("utf-8", "replace")
    return repr(text + ("..." if len(data) > 200 else ""))


def _address(medium: str, number: str) -> str:
    bare = number.removeprefix("whatsapp:")
    return f"whatsapp:{bare}" if medium == "whatsapp" else bare


def classify_error(exc: TwilioRestException) -> SendError:
    """Map a Twilio REST error to the typed error that says whether a retry can help."""
    code = exc.code if isinstance(exc.code, int) else None
    label = f"Twilio {exc.status}" + (f" error {code}" if code else "") + f": {exc.msg}"
    code_text = str(code) if code else str(exc.status)
    if code in WINDOW_CLOSED_CODES:
        return WindowClosed(label, code_text)
    if code in OPTED_OUT_CODES:
        return RecipientOptedOut(label, code_text)
    if code in INVALID_RECIPIENT_CODES:
        return InvalidRecipient(label, code_text)
    if exc.status == 429 or code in THROTTLED_CODES:
        return Throttled(label, code_text)
    if exc.status >= 500:
        return ProviderUnavailable(label, code_text)
    if exc.status in (401, 403) or code in CONFIG_CODES:
        return ChannelConfigError(label, code_text)
    return Rejected(label, code_text)


def _build_sender(settings: Any) -> TwilioSender | None:
    """Twilio sends when its credentials are set, unless ``sms.provider`` is the ``console`` safety switch."""
    if settings.sms.provider == "console" or not (settings.sms.twilio_account_sid and settings.sms.twilio_auth_token):
        return None
    return TwilioSender(
        settings.sms.twilio_account_sid, settings.secret("sms.twilio_auth_token"),
        from_number=settings.sms.twilio_from, messaging_service_sid=settings.sms.twilio_messaging_service_sid,
        api_base_url=settings.sms.twilio_api_base_url, timeout=settings.outbox.send_timeout,
    )


def _status_callback(settings: Any, outbox_id: int) -> str | None:
    """Twilio reports delivery of each message to this URL; None without a public URL."""
    if not settings.public_url:
        return None
    return f"{settings.public_url.rstrip('/')}/webhooks/twilio/status?outbox={outbox_id}"


def fetch_media(settings: Any, url: str, max_bytes: int) -> FetchedMedia:
    """Download an MMS or WhatsApp file Twilio hosts, at most ``max_bytes``.

    Twilio may require HTTP basic auth on media (account SID and auth token); they are sent only to Twilio's
    own hosts (and to the host of ``SAMBAT_TWILIO_API_BASE_URL``, a stand-in or staging proxy), and requests
    drops them when Twilio redirects to its CDN.

    Raises:
        MediaFetchError: too_large and not_found are final; unavailable (network, 5xx, 429) and refused
            (401/403: credentials, which an operator may fix) are worth another try.
    """
    token = settings.secret("sms.twilio_auth_token")
    auth = (settings.sms.twilio_account_sid, token) if _is_twilio_host(settings, url) else None
    try:
        with requests.get(url, auth=auth if auth and all(auth) else None, stream=True,
                          timeout=settings.outbox.send_timeout, headers={"Accept": "*/*"}) as response:
            if response.status_code in (404, 410):
                raise MediaFetchError(f"media {response.status_code}: gone at Twilio", "not_found")
            if response.status_code in (401, 403):
                raise MediaFetchError(f"media {response.status_code}: Twilio refused our credentials "
                                      "(TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)", "refused", retryable=True)
            if response.status_code == 429 or response.status_code >= 500:
                raise MediaFetchError(f"media {response.status_code} from Twilio", "unavailable", retryable=True)
            if response.status_code != 200:
                raise MediaFetchError(f"media {response.status_code} from Twilio", "rejected")
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise MediaFetchError(f"media of {length} bytes is over {max_bytes}", "too_large")
            data = bytearray()
            for chunk in response.iter_content(MEDIA_CHUNK):
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise MediaFetchError(f"media over {max_bytes} bytes", "too_large")
            content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip() or None
            return FetchedMedia(data=bytes(data), content_type=content_type)
    except requests.exceptions.RequestException as exc:
        raise MediaFetchError(f"Twilio media unreachable: {type(exc).__name__}: {exc}", "unavailable",
                              retryable=True) from None


def _is_twilio_host(settings: Any, url: str) -> bool:
    """True for api.twilio.com and its siblings, and for the configured API base URL's host."""
    host = (urlsplit(url).hostname or "").lower()
    configured = (urlsplit(settings.sms.twilio_api_base_url or TWILIO_API).hostname or "").lower()
    return host == "twilio.com" or host.endswith(".twilio.com") or host == configured


SPEC = ChannelSpec(
    name="twilio",
    build_channel=lambda settings: TwilioChannel(settings.secret("sms.twilio_auth_token"),
                                                 region=settings.phone_region),
    build_sender=_build_sender,
    webhooks=(Webhook("/twilio/sms", "twilio_sms", "parse_inbound"),
              Webhook("/twilio/status", "twilio_status", "parse_status")),
    status_callback=_status_callback,
    fetch_media=fetch_media,
)


SMS_PROVIDERS = ("auto", "twilio", "android-sms", "console")


class SmsSettings(Section):
    """``sms:``: which provider sends the SMS Sambat starts, and Twilio's numbers and credentials."""

    provider: str = setting("auto", env="SAMBAT_SMS_PROVIDER",
                            description="auto, twilio, android-sms or console (auto: whichever has credentials)")
    twilio_from: str | None = setting(None, env="SAMBAT_TWILIO_FROM", description="the city's number, E.164")
    twilio_messaging_service_sid: str | None = setting(None, env="SAMBAT_TWILIO_MESSAGING_SERVICE_SID")
    twilio_api_base_url: str = setting("https://api.twilio.com", env="SAMBAT_TWILIO_API_BASE_URL")
    twilio_account_sid: str | None = setting(None, env="TWILIO_ACCOUNT_SID", file=False)
    twilio_auth_token: SecretStr | None = setting(None, env="TWILIO_AUTH_TOKEN", file=False)
    allowed_regions: tuple[str, ...] = setting(("ID",), description="countries (ISO codes) that get SMS; * any")
    per_number_daily: int = setting(5, description="SMS Sambat starts to one number in 24 hours, at most")
    daily_budget: int = setting(1000, description="SMS Sambat starts in 24 hours, at most (80%: e-mail alert)")

    @field_validator("allowed_regions", mode="before")
    @classmethod
    def _regions(cls, value: Any) -> tuple[str, ...]:
        values = (value,) if isinstance(value, str) else tuple(value or ())
        regions = tuple(str(region).strip().upper() for region in values)
        unknown = [region for region in regions if region != "*" and region not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"not a country code phonenumbers knows: {', '.join(unknown)} (e.g. ID, MY, SG; * any)")
        return regions

    @field_validator("per_number_daily", "daily_budget")
    @classmethod
    def _counts(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be a whole number of SMS, at least 1")
        return value

    @field_validator("provider")
    @classmethod
    def _provider(cls, value: str) -> str:
        if value not in SMS_PROVIDERS:
            raise ValueError(f"must be one of {', '.join(SMS_PROVIDERS)}, got {value!r}")
        return value

    @field_validator("twilio_from")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            possible = phonenumbers.is_possible_number(phonenumbers.parse(value, None))
        except phonenumbers.NumberParseException:
            possible = False
        if not possible:
            raise ValueError(f"not an E.164 phone number: {value!r}")
        return value

    @field_validator("twilio_api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        http_url(value)
        try:
            host = urllib3.util.parse_url(value).host
        except urllib3.exceptions.LocationParseError:
            host = None
        if not host:
            raise ValueError(f"not a URL with a host name: {value!r}")
        return value
