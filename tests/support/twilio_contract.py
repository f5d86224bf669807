"""Contract checks for Twilio's CreateMessage call, from the OpenAPI description plus Twilio's documented rules.

The spec (twilio-oai ``twilio_api_v2010.json``, MIT) is read from ``$SAMBAT_TWILIO_OPENAPI`` or the copy in
``tests/support/contracts/twilio/`` (licence and source beside it), parsed once per process and trimmed to
the Messages paths so openapi-core builds it in a fraction of a second. Its server is ``https://api.twilio.com``;
the stand-in presents every request to openapi-core under that host (:class:`TwilioFormRequest`), so the spec
is used as is.

openapi-core builds its casters and jsonschema validators anew for every request and every form field, about 4 ms
of CPU per CreateMessage, as much as the app's whole send path. :class:`CreateMessageSpec` builds the same
validators once and checks a request whose fields are all strings (what senders send) with them; any request it
does not pass goes through openapi-core as before, so a bad request gets openapi-core's own errors.

Each problem is a :class:`Violation` carrying the Twilio error code and the HTTP status Twilio would answer.
"""

from __future__ import annotations

import json
import os
import re
import threading
from base64 import b64decode
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from jsonschema_path import SchemaPath
from openapi_core import Config, OpenAPI
from openapi_core.casting.schemas.exceptions import CastError
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.media_types.exceptions import MediaTypeDeserializeError
from openapi_core.schema.schemas import get_properties
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from werkzeug.datastructures import Headers, ImmutableMultiDict

# The copy kept in the repository (tests/support/contracts/twilio), unless SAMBAT_TWILIO_OPENAPI says otherwise.
SPEC_PATH = Path(os.environ.get(
    "SAMBAT_TWILIO_OPENAPI",
    Path(__file__).resolve().parent / "contracts" / "twilio" / "twilio_api_v2010.json",
))
TWILIO_HOST_URL = "https://api.twilio.com"
MESSAGES_PATH = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
MESSAGE_PATH = "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json"
FORM = "application/x-www-form-urlencoded"
BODY_MAX_CHARS = 1600
# https://www.twilio.com/docs/errors/70002 "Bad request": a value of the wrong type or outside the schema.
INVALID_PARAMETER = 70002
# Which error Twilio's 400 answer reports first when a request breaks several rules.
ANSWER_ORDER = (21604, 21211, 21603, 21212, 21910, 21602, 21617, 21609, 21656, INVALID_PARAMETER)

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
API_KEY_SID = re.compile(r"^SK[0-9a-fA-F]{32}$")
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
CHANNEL_ADDRESS = re.compile(r"^[a-z]+:\S+$")
SHORT_CODE = re.compile(r"^\d{3,8}$")
ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
HOSTNAME = re.compile(r"^[A-Za-z0-9.-]+$")

_validation_lock = threading.Lock()


@dataclass(frozen=True)
class Violation:
    """One way a request breaks Twilio's contract.

    Attributes:
        param: The offending parameter (``To``, ``Authorization``...), or ``None`` for the request as a whole.
        code: The Twilio error code, https://www.twilio.com/docs/errors/<code>.
        message: What is wrong, naming the parameter and the value.
        status: The HTTP status Twilio answers; 201 for a warning Twilio ignores (unknown parameter).
        source: ``"openapi"`` for the spec, ``"twilio-docs"`` for a documented rule the spec cannot express.
    """

    param: str | None
    code: int
    message: str
    status: int = 400
    source: str = "twilio-docs"

    def __str__(self) -> str:
        return f"[{self.code}] {self.param or '(request)'}: {self.message} ({self.source})"


class TwilioFormRequest:
    """A received request shaped for openapi-core's ``Request`` protocol, presented as sent to api.twilio.com."""

    host_url = TWILIO_HOST_URL

    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes, content_type: str,
                 query: dict[str, list[str]] | None = None) -> None:
        self.method = method.lower()
        self.path = path
        self.body = body
        self.content_type = content_type.lower()
        self.headers = headers
        self.query = query or {}

    @cached_property
    def parameters(self) -> RequestParameters:
        """Headers and query as openapi-core reads them; built on first use, since a request that
        :class:`CreateMessageSpec` passes never reaches openapi-core."""
        pairs = [(name, value) for name, values in self.query.items() for value in values]
        return RequestParameters(header=Headers(self.headers), query=ImmutableMultiDict(pairs), path={})


@cache
def load_spec() -> dict[str, Any]:
    """Return the Messages part of the Twilio v2010 description, read from disk once per process."""
    full = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    paths = {path: full["paths"][path] for path in (MESSAGES_PATH, MESSAGE_PATH)}
    return {key: full[key] for key in ("openapi", "info", "servers", "security", "components")} | {"paths": paths}


@cache
def messages_api() -> OpenAPI:
    """Return the openapi-core object for the Messages paths, built once per process.

    The spec's ``phone-number`` format (To and From, in the form and in ListMessage's query) has no formatter in
    openapi-core: any string passes here, and Twilio's own rule for it (E.164 or a channel address) is checked by
    :func:`_documented_rules` and :func:`check_list_messages`.
    """
    config = Config(extra_format_validators={"phone-number": lambda value: isinstance(value, str)},
                    extra_format_unmarshallers={"phone-number": str})
    return OpenAPI.from_dict(load_spec(), config=config)


@cache
def create_message_properties() -> dict[str, dict[str, Any]]:
    """Return the CreateMessage form parameters by name, as the spec declares them."""
    operation = load_spec()["paths"][MESSAGES_PATH]["post"]
    return operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["properties"]


class CreateMessageSpec:
    """CreateMessage's path, content type and form checked with the validators openapi-core would build, built once.

    For a form of string fields (and arrays of strings) openapi-core's work per request comes down to this: find
    the operation by path, check the path parameters against their schemas, parse the UTF-8 form, keep the
    declared fields (a string field's first value, an array's every value; strings are not cast) and validate
    that object against the body schema (jsonschema, with openapi-core's format checker and this module's
    ``phone-number`` format); unmarshalling a valid object cannot fail. :meth:`passes` does the same with
    validators made once by openapi-core's own factory, with the same options. It only ever says "no spec
    violation": a request with a field openapi-core casts (boolean, integer, number), another content type or
    body, or anything the validators reject, is left to openapi-core, so what is reported for a bad request is
    openapi-core's own words.
    """

    def __init__(self, api: OpenAPI) -> None:
        unmarshaller = api.request_unmarshaller
        spec = unmarshaller.spec
        operation = spec / "paths" / MESSAGES_PATH / "post"
        media_type = operation / "requestBody" / "content" / FORM
        body = media_type / "schema"

        def validator(schema: SchemaPath) -> Any:
            return unmarshaller.schema_validators_factory.create(
                spec, schema, format_validators=unmarshaller.format_validators,
                extra_format_validators=unmarshaller.extra_format_validators,
                forbid_unspecified_additional_properties=unmarshaller.forbid_unspecified_additional_properties,
                enforce_properties_required=unmarshaller.enforce_properties_required,
            ).validator

        properties = get_properties(body)
        parameters = [*(spec / "paths" / MESSAGES_PATH).get("parameters", []), *operation.get("parameters", [])]
        self.path = re.compile(re.escape(MESSAGES_PATH).replace(r"\{AccountSid\}", "(?P<AccountSid>[^/]+)"))
        self.strings = {name for name, schema in properties.items() if _type(schema) == "string"}
        self.lists = {name for name, schema in properties.items()
                      if _type(schema) == "array" and _type(schema / "items") == "string"}
        self.cast = set(properties) - self.strings - self.lists
        self.mirrored = _decoded_as_documented(parameters, media_type, properties)
        if self.mirrored:
            self.account_sid = validator(parameters[0] / "schema")
            self.body = validator(body)

    def passes(self, request: TwilioFormRequest, form: dict[str, list[str]]) -> bool:
        """Whether openapi-core surely finds no violation in ``request`` (``form`` is its parsed body; the security
        scheme is :func:`check_auth`'s); ``False`` means openapi-core has to look."""
        if not self.mirrored or request.method != "post" or request.content_type != FORM or not request.body:
            return False
        route = self.path.fullmatch(request.path)
        if route is None or not self.cast.isdisjoint(form):
            return False
        try:
            request.body.decode("utf-8")  # openapi-core decodes strictly; the stand-in's form replaces bad bytes
        except UnicodeDecodeError:
            return False
        document: dict[str, Any] = {name: values[0] for name, values in form.items() if name in self.strings}
        document.update((name, values) for name, values in form.items() if name in self.lists)
        with _validation_lock:
            return self.account_sid.is_valid(route["AccountSid"]) and self.body.is_valid(document)


def _type(schema: SchemaPath) -> str | None:
    return (schema / "type").read_str(None)


def _decoded_as_documented(parameters: list[SchemaPath], media_type: SchemaPath,
                           properties: dict[str, SchemaPath]) -> bool:
    """Whether the spec leaves openapi-core's decoding as :class:`CreateMessageSpec` mirrors it: the one path
    parameter ``AccountSid``, no other parameters, form style for every field (no ``encoding``), no defaults to
    fill in and no ``oneOf``/``anyOf``/``allOf`` to pick a schema by. A spec swapped in through
    ``$SAMBAT_TWILIO_OPENAPI`` that breaks this is checked by openapi-core alone."""
    body = media_type / "schema"
    return (
        [((parameter / "in").read_str(), (parameter / "name").read_str()) for parameter in parameters]
        == [("path", "AccountSid")]
        and "encoding" not in media_type
        and not any(key in body for key in ("oneOf", "anyOf", "allOf"))
        and not any("default" in schema for schema in properties.values())
    )


@cache
def create_message_spec() -> CreateMessageSpec:
    """Return the CreateMessage checks, built once per process."""
    return CreateMessageSpec(messages_api())


def check_auth(account_sid: str, authorization: str | None, auth_token: str | None = None) -> Violation | None:
    """Check HTTP Basic auth the way Twilio does: user is the AccountSid in the path (or an API key SID).

    Twilio answers 401 with https://www.twilio.com/docs/errors/20003 "Authenticate" otherwise.
    """
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return Violation("Authorization", 20003, "missing HTTP Basic credentials", status=401)
    try:
        user, _, password = b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except ValueError:
        return Violation("Authorization", 20003, "Basic credentials are not valid base64", status=401)
    if user != account_sid and not API_KEY_SID.match(user):
        return Violation("Authorization", 20003, f"user {user!r} does not match AccountSid {account_sid!r}", status=401)
    if auth_token is not None and password != auth_token:
        return Violation("Authorization", 20003, "auth token does not match", status=401)
    return None


def check_create_message(request: TwilioFormRequest, form: dict[str, list[str]]) -> list[Violation]:
    """Check a CreateMessage request against the spec and Twilio's documented rules.

    Args:
        request: The request as received, with its raw form body.
        form: The parsed form, every key with all its values in order.

    Returns:
        The violations; those with status 400 come in the order Twilio's answer should report them.
    """
    violations = _documented_rules(form) + _spec_violations(request, form)
    properties = create_message_properties()
    for name, values in form.items():
        if name not in properties:
            # https://www.twilio.com/docs/errors/20001: unknown parameters are ignored, with a warning.
            warning = f"unknown parameter {name!r} is ignored by Twilio"
            violations.append(Violation(name, 20001, warning, status=201, source="openapi"))
        elif len(values) > 1 and properties[name].get("type") != "array":
            violations.append(Violation(name, INVALID_PARAMETER, f"sent {len(values)} times but takes one value"))
    return sorted(violations, key=_answer_rank)


def check_list_messages(request: TwilioFormRequest, query: dict[str, list[str]]) -> list[Violation]:
    """Check a ListMessage request (``GET .../Messages.json``): its query against the spec's parameters.

    Twilio ignores a query parameter it does not know; the stand-in reports one, since it would filter nothing.
    """
    violations = []
    with _validation_lock:
        result = messages_api().unmarshal_request(request)
    for error in result.errors:
        cause = error.__cause__
        if "Security" in type(error).__name__:
            continue  # checked by check_auth, which answers Twilio's 401
        violations.append(Violation(None, INVALID_PARAMETER, f"{error}" + (f" ({cause})" if cause else ""),
                                    source="openapi"))
    declared = {p["name"] for p in load_spec()["paths"][MESSAGES_PATH]["get"]["parameters"] if p["in"] == "query"}
    for name in ("To", "From"):
        value = (query.get(name) or [""])[0]
        if name in query and not (E164.match(value) or CHANNEL_ADDRESS.match(value)):
            violations.append(Violation(name, 21211, f"The {name!r} filter {value!r} is not a valid phone number."))
    for name, values in query.items():
        if name not in declared:
            violations.append(Violation(name, 20001, f"unknown query parameter {name!r} filters nothing", status=201,
                                        source="openapi"))
        elif len(values) > 1:
            violations.append(Violation(name, INVALID_PARAMETER, f"sent {len(values)} times but takes one value"))
    return violations


def _answer_rank(violation: Violation) -> tuple[bool, int]:
    """Sort key: errors before warnings, then Twilio's reporting order."""
    rank = ANSWER_ORDER.index(violation.code) if violation.code in ANSWER_ORDER else len(ANSWER_ORDER)
    return violation.status != 400, rank


def _spec_violations(request: TwilioFormRequest, form: dict[str, list[str]]) -> list[Violation]:
    """The request's violations of the spec: none if :class:`CreateMessageSpec` passes it, else openapi-core's."""
    if create_message_spec().passes(request, form):
        return []
    return _openapi_violations(request, form)


def _openapi_violations(request: TwilioFormRequest, form: dict[str, list[str]]) -> list[Violation]:
    """Run openapi-core over the request and name the parameter behind each error.

    openapi-core stops at the first value it cannot cast (``ValidityPeriod=soon``); that parameter is then
    dropped and the rest validated again, so every bad parameter is reported.
    """
    violations: list[Violation] = []
    for _ in range(len(form) + 1):
        with _validation_lock:
            result = messages_api().unmarshal_request(request)
        uncastable = []
        for error in result.errors:
            cause = error.__cause__
            if isinstance(cause, InvalidSchemaValue):
                found = [_from_schema_error(schema_error) for schema_error in cause.schema_errors]
            elif isinstance(cause, CastError):
                param = next((name for name, values in form.items() if cause.value in values), None)
                uncastable.append(param)
                found = [Violation(param, INVALID_PARAMETER, str(cause), source="openapi")]
            elif "Security" in type(error).__name__:
                found = []  # checked by check_auth, which answers Twilio's 401
            elif isinstance(cause, MediaTypeDeserializeError):
                # Its own message decodes the body strictly, and raises for the one body it is about: not UTF-8.
                found = [Violation(None, INVALID_PARAMETER, f"Request body validation error: the {cause.mimetype} "
                                   f"body is not UTF-8: {cause.value[:200]!r}", source="openapi")]
            else:
                found = [Violation(None, INVALID_PARAMETER, f"{error} ({cause})", source="openapi")]
            violations.extend(violation for violation in found if violation not in violations)
        if not uncastable or None in uncastable:
            return violations
        form = {name: values for name, values in form.items() if name not in uncastable}
        body = urlencode(form, doseq=True).encode("utf-8")
        request = TwilioFormRequest(request.method, request.path, dict(request.headers), body, request.content_type)
    return violations


def _from_schema_error(schema_error: Any) -> Violation:
    """Turn one jsonschema error into a violation, with Twilio's code for a missing To."""
    if schema_error.validator == "required" and "'To'" in schema_error.message:
        # https://www.twilio.com/docs/errors/21604 "A 'To' phone number is required."
        return Violation("To", 21604, "A 'To' phone number is required.", source="openapi")
    param = str(schema_error.path[0]) if schema_error.path else None
    return Violation(param, INVALID_PARAMETER, schema_error.message, source="openapi")


def _documented_rules(form: dict[str, list[str]]) -> list[Violation]:
    """Rules from the Messages resource docs and error pages that the OpenAPI schema cannot express."""
    first = {name: values[0] for name, values in form.items() if values}
    violations = []
    to = first.get("To")
    # 21211: To must be E.164 for SMS/MMS, or a channel address such as whatsapp:+15552229999.
    if to is not None and not (E164.match(to) or CHANNEL_ADDRESS.match(to)):
        violations.append(Violation("To", 21211, f"The 'To' number {to!r} is not a valid phone number."))
    sender = first.get("From")
    # 21603: "From" is required unless a MessagingServiceSid picks the sender from its pool.
    if not sender and not first.get("MessagingServiceSid"):
        violations.append(Violation("From", 21603, "A 'From' phone number is required."))
    # 21212: From is an E.164 number, short code, alphanumeric sender ID (<= 11 chars) or channel address.
    elif sender and not any(p.match(sender) for p in (E164, SHORT_CODE, ALPHANUMERIC_SENDER, CHANNEL_ADDRESS)):
        violations.append(Violation("From", 21212, f"The 'From' number {sender!r} is not a valid phone number."))
    # 21602: Body is required unless MediaUrl or ContentSid carries the content.
    if not first.get("Body") and not first.get("MediaUrl") and not first.get("ContentSid"):
        violations.append(Violation("Body", 21602, "Message body is required."))
    # 21617: an outgoing Body is at most 1600 characters.
    if len(first.get("Body", "")) > BODY_MAX_CHARS:
        violations.append(
            Violation("Body", 21617, f"The concatenated message body exceeds the {BODY_MAX_CHARS} character limit.")
        )
    callback = first.get("StatusCallback")
    if callback is not None and (problem := _status_callback_problem(callback)):
        violations.append(Violation("StatusCallback", 21609, f"Invalid 'StatusCallback' {callback!r}: {problem}"))
    # ValidityPeriod: "Accepted values are integers from 1 to 36000" (Messages resource).
    validity = first.get("ValidityPeriod", "")
    if validity.isdigit() and not 1 <= int(validity) <= 36000:
        violations.append(Violation("ValidityPeriod", INVALID_PARAMETER, f"{validity} is outside 1..36000"))
    # ContentVariables: "content_sid parameter must also be provided".
    if "ContentVariables" in first and "ContentSid" not in first:
        violations.append(Violation("ContentVariables", INVALID_PARAMETER, "given without ContentSid"))
    # 21656: ContentVariables is a JSON object of variable names to string values, e.g. {"1": "12345678"}.
    if "ContentVariables" in first and (problem := _content_variables_problem(first["ContentVariables"])):
        violations.append(Violation("ContentVariables", 21656, f"The ContentVariables Parameter is invalid: {problem}"))
    # 21910: From and To are addresses on the same channel (both whatsapp:, or both plain numbers).
    if to and sender and _channel(to) != _channel(sender):
        violations.append(Violation("To", 21910, f"Invalid From and To pair {sender!r} -> {to!r}: From and To "
                                                 "should be of the same channel"))
    # ShortenUrls: "If true, the messaging_service_sid parameter must also be provided".
    if first.get("ShortenUrls") == "true" and "MessagingServiceSid" not in first:
        violations.append(Violation("ShortenUrls", INVALID_PARAMETER, "true without MessagingServiceSid"))
    return violations


def _content_variables_problem(text: str) -> str | None:
    """Why ContentVariables is not a JSON object of string values (Twilio error 21656), or ``None``."""
    try:
        variables = json.loads(text)
    except ValueError as error:
        return f"not JSON ({error})"
    if not isinstance(variables, dict):
        return "not a JSON object"
    if not all(isinstance(value, str) for value in variables.values()):
        return "every value must be a string"
    return None


def _channel(address: str) -> str:
    """The channel of an address: ``whatsapp`` for ``whatsapp:+1...``, ``""`` for a phone number or sender ID."""
    return address.split(":", 1)[0].lower() if CHANNEL_ADDRESS.match(address) else ""


def _status_callback_problem(url: str) -> str | None:
    """Why a StatusCallback URL fails Twilio error 21609, or ``None``.

    Per https://www.twilio.com/docs/errors/21609: a fully qualified http(s) URL, at most 4000 characters,
    with a valid hostname (no underscores).
    """
    if len(url) > 4000:
        return "longer than 4000 characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "scheme must be http or https"
    if not parts.hostname or not HOSTNAME.match(parts.hostname):
        return "hostname missing or invalid (underscores are not allowed)"
    if any(char.isspace() for char in url):
        return "contains unencoded whitespace"
    return None
