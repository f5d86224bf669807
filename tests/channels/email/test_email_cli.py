"""`sambat up` with smtp.enabled and `sambat smtp` as real processes: mail in, console mail out."""

from __future__ import annotations

import smtplib
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.live import SAMBAT, Up, clean_env, free_port

DATA = Path(__file__).parent.parent / "testdata" / "email"


def _config(workdir: Path, smtp_port: int) -> None:
    text = (ROOT / "config.yaml").read_text()
    text = text.replace("smtp:\n  enabled: false\n  listen: \"127.0.0.1:2525\"",
                        f"smtp:\n  enabled: true\n  listen: \"127.0.0.1:{smtp_port}\"")
    assert f"127.0.0.1:{smtp_port}" in text
    (workdir / "config.yaml").write_text(text)


def _send(port: int, name: str, timeout: float = 20) -> None:
    raw = (DATA / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                smtp.sendmail("warga@example.id", ["sambat@malangkota.go.id"], raw)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.slow
def test_up_starts_the_smtp_listener_when_enabled(tmp_path: Path) -> None:
    smtp_port = free_port()
    _config(tmp_path, smtp_port)
    running = Up(tmp_path, free_port(), {"SAMBAT_CONFIG": str(tmp_path / "config.yaml")})
    try:
        running.wait_ready()
        assert f"SMTP listener on 127.0.0.1:{smtp_port}" in running.output()
        _send(smtp_port, "html_only.eml")
        output = running.wait_for_output("[console EMAIL - NOT SENT")
        # The answer goes to the envelope sender, under Sambat's own subject (the mail's is never echoed).
        assert "to warga@example.id: Aduan [Tiket " in output
        assert "Aduan diterima. Tiket " in output
    finally:
        running.stop()


@pytest.mark.slow
def test_sambat_smtp_command(tmp_path: Path) -> None:
    smtp_port = free_port()
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    log = tmp_path / "smtp.log"
    process = subprocess.Popen([SAMBAT, "smtp", "--listen", f"127.0.0.1:{smtp_port}"], cwd=tmp_path,
                               env=clean_env(SAMBAT_CONFIG=str(tmp_path / "config.yaml")), stdout=log.open("w"),
                               stderr=subprocess.STDOUT)
    try:
        _send(smtp_port, "base64_body.eml")
        deadline = time.monotonic() + 20
        while "[console EMAIL - NOT SENT" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "to warga@example.id: Aduan [Tiket " in log.read_text(), log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert (tmp_path / "instance" / "sambat.sqlite3").exists()
