"""`sambat imap` against a real IMAP server: Dovecot on loopback, a throwaway user and Maildir in a temp dir.

Dovecot comes from Debian's dovecot-imapd (scripts/test installs it when missing).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select

from channels.email.poller import DONE, connect, poll_once, run_forever
from models import Complaint, Database, InboundMessage
from tests.conftest import Stack, _empty_tables, _stack
from tests.support.live import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DATA = Path(__file__).parent.parent / "testdata" / "email"
USER, PASSWORD = "aduan", "rahasia-uji-123"

CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass
class Mailbox:
    host: str
    port: int

    def append(self, raw: bytes) -> None:
        """A mail arrives in INBOX (IMAP APPEND, as a delivery agent would put it there)."""
        with IMAPClient(self.host, port=self.port, ssl=False) as client:
            client.login(USER, PASSWORD)
            client.append("INBOX", raw)

    def flags(self) -> list[tuple[bytes, ...]]:
        with IMAPClient(self.host, port=self.port, ssl=False) as client:
            client.login(USER, PASSWORD)
            client.select_folder("INBOX", readonly=True)
            fetched = client.fetch(client.search(["ALL"]), ["FLAGS"])
            return [fetched[uid][b"FLAGS"] for uid in sorted(fetched)]


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Mailbox]:
    """Dovecot serving one user's Maildir on a free loopback port, for this module's tests."""
    if not os.path.exists(DOVECOT):
        pytest.fail("dovecot not found: apt-get install dovecot-imapd (scripts/test installs it)")
    root = Path(tempfile.mkdtemp(prefix="sambat-dovecot-"))
    root.chmod(0o755)
    if os.getuid() == 0:  # Dovecot never gives mail to root: use its own unprivileged users
        owner, login = pwd.getpwnam("dovecot"), "dovenull"
    else:
        owner, login = pwd.getpwuid(os.getuid()), pwd.getpwuid(os.getuid()).pw_name
    for folder in ("mail", "home", "state"):
        (root / folder).mkdir()
        os.chown(root / folder, owner.pw_uid, owner.pw_gid)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = free_port()
    (root / "dovecot.conf").write_text(CONFIG.format(
        root=root, port=port, uid=owner.pw_uid, gid=owner.pw_gid, user=owner.pw_name,
        group=grp.getgrgid(owner.pw_gid).gr_name, login_user=login))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while True:
        try:
            with IMAPClient("127.0.0.1", port=port, ssl=False, timeout=2) as client:
                client.login(USER, PASSWORD)
            break
        except Exception:  # noqa: BLE001 - not up yet
            if process.poll() is not None or time.monotonic() > deadline:
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                pytest.fail(f"dovecot did not start: {process.stdout.read().decode() if process.stdout else ''}{log}")
            time.sleep(0.2)
    yield Mailbox("127.0.0.1", port)
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["postgres", "sqlite"])
def imap_stack(request: pytest.FixtureRequest, twilio_standin, dovecot: Mailbox, tmp_path: Path) -> Iterator[Stack]:  # noqa: ANN001
    url = request.getfixturevalue(f"{request.param}_url")
    built = _stack(request.param, url, twilio_standin, imap__host=dovecot.host, imap__port=dovecot.port,
                   imap__tls="none", imap__username=USER, imap__password=PASSWORD, imap__interval=1.0,
                   intake__media_dir=str(tmp_path / "media"), send_rates={})
    client, _ = connect(built.runtime.settings)
    client.delete_messages(client.search(["ALL"]))
    client.expunge()
    client.logout()
    yield built
    built.runtime.db.dispose()
    _empty_tables(url)


def test_poll_stores_then_flags_done_and_leaves_mail_unread(imap_stack: Stack, dovecot: Mailbox) -> None:
    for name in ("html_only.eml", "photo_gmail.eml", "auto_reply_gmail.eml"):
        dovecot.append((DATA / name).read_bytes())
    client, flag = connect(imap_stack.runtime.settings)
    assert flag == DONE  # Dovecot takes new keywords

    assert poll_once(imap_stack.runtime, client, flag) == 3
    assert poll_once(imap_stack.runtime, client, flag) == 0  # nothing left to do
    client.logout()
    imap_stack.work()

    assert all(DONE in flags and b"\\Seen" not in flags for flags in dovecot.flags())  # BODY.PEEK: still unread
    with imap_stack.runtime.db.session() as session:
        messages = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [(m.channel, m.sender, m.automated) for m in messages] == [
            ("email", "warga.klojen@yahoo.co.id", False), ("email", "andi.pratama.mlg@gmail.com", False),
            ("email", "budi.santoso1987@gmail.com", True)]
        assert session.scalar(select(func.count()).select_from(Complaint)) == 2


def test_mail_is_flagged_done_only_after_commit(imap_stack: Stack, dovecot: Mailbox) -> None:
    dovecot.append((DATA / "base64_body.eml").read_bytes())
    runtime = imap_stack.runtime
    working_db = runtime.db
    runtime.db = Database("postgresql+psycopg://postgres@127.0.0.1:1/unreachable")  # the database is down
    runtime.spool = None  # and Redis too (with Redis the mail is spooled, then flagged: docs/spool.md)
    client, flag = connect(runtime.settings)
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        poll_once(runtime, client, flag)
    assert dovecot.flags() == [()]  # not done: the next poll takes it again
    runtime.db = working_db
    assert poll_once(runtime, client, flag) == 1
    client.logout()
    assert dovecot.flags() == [(DONE,)]
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_run_forever_idles_and_takes_new_mail(imap_stack: Stack, dovecot: Mailbox) -> None:
    stop = threading.Event()
    poller = threading.Thread(target=run_forever, args=(imap_stack.runtime, stop), daemon=True)
    poller.start()
    time.sleep(0.5)  # connected and IDLE
    dovecot.append((DATA / "windows_1252.eml").read_bytes())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with imap_stack.runtime.db.session() as session:
            if session.scalar(select(func.count()).select_from(InboundMessage)):
                break
        time.sleep(0.2)
    stop.set()
    poller.join(timeout=5)
    with imap_stack.runtime.db.session() as session:
        assert session.scalar(select(InboundMessage.sender)) == "jan.devries@hetnet.nl"
