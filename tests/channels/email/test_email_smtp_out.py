"""Outbound mail through a real SMTP submission server on loopback: STARTTLS or implicit TLS, then AUTH.

The server is aiosmtpd with a throwaway certificate for localhost (made with the openssl command); the sender
trusts it through SSL_CERT_FILE, as it would trust a city's relay through the system's certificate store.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from channels.base import ChannelConfigError, OutboundMessage, ProviderUnavailable
from channels.email.send import SmtpSender

USER, PASSWORD = "sambat@malangkota.go.id", "rahasia-relay-2026"
# aiosmtpd warns about AUTH without STARTTLS; on the implicit-TLS port the whole connection is encrypted.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
MESSAGE = OutboundMessage(outbox_id=7, medium="email", recipient="warga@example.id", body="Tiket 1234 5678 diterima.",
                          subject="Re: Jalan rusak [Tiket 1234 5678]")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


class Relay:
    """Keeps each mail with the user it was submitted as."""

    def __init__(self) -> None:
        self.mails: list[tuple[str | None, object]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        login = session.auth_data.login.decode() if session.auth_data else None
        self.mails.append((login, message_from_bytes(envelope.original_content, policy=policy.default)))
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (USER.encode(),
                                                                                            PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["starttls", "ssl"])
def relay(request: pytest.FixtureRequest, certificate: tuple[Path, Path],
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Relay, int, str]]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler, port = Relay(), _free_port()
    if request.param == "starttls":
        tls = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    else:  # implicit TLS: the whole connection is encrypted (aiosmtpd's auth_require_tls means STARTTLS)
        tls = {"ssl_context": context, "auth_require_tls": False}
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="localhost",
                            authenticator=_authenticate, auth_required=True, **tls)
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the throwaway certificate, as a system store would
    yield handler, port, request.param
    controller.stop()


def test_mail_goes_out_encrypted_and_logged_in(relay: tuple[Relay, int, str]) -> None:
    handler, port, tls = relay
    sender = SmtpSender("localhost", port, USER, PASSWORD, tls=tls, from_address=f"Sambat Kota Malang <{USER}>")
    result = sender.send(MESSAGE)
    [(login, mail)] = handler.mails
    assert login == USER
    assert mail["Subject"] == MESSAGE.subject and mail["Message-ID"] == result.provider_message_id
    assert result.status == "sent"


def test_a_wrong_password_is_a_configuration_error_not_retried(relay: tuple[Relay, int, str]) -> None:
    handler, port, tls = relay
    sender = SmtpSender("localhost", port, USER, "salah", tls=tls, from_address=USER)
    with pytest.raises(ChannelConfigError, match="SAMBAT_MAIL_USERNAME") as raised:
        sender.send(MESSAGE)
    assert raised.value.code == "535" and not raised.value.retryable
    assert handler.mails == []


def test_an_untrusted_certificate_sends_nothing(relay: tuple[Relay, int, str], monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    handler, port, tls = relay
    other = tmp_path / "empty.pem"
    other.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(other))  # the relay's certificate is not trusted
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with pytest.raises(ProviderUnavailable, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        SmtpSender("localhost", port, USER, PASSWORD, tls=tls, from_address=USER).send(MESSAGE)
    assert handler.mails == []


def test_without_tls_the_password_is_never_sent(certificate: tuple[Path, Path]) -> None:
    """A relay that demands TLS before AUTH refuses a sender set to tls: none, before any password."""
    handler, port = Relay(), _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=_authenticate,
                            auth_require_tls=True, auth_required=True)
    controller.start()
    try:
        with pytest.raises((ChannelConfigError, ProviderUnavailable)):
            SmtpSender("127.0.0.1", port, USER, PASSWORD, tls="none", from_address=USER).send(MESSAGE)
    finally:
        controller.stop()
    assert handler.mails == []
