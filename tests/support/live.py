"""The app running for real, as a person or an integrator meets it: `sambat up` on a port, and Chromium.

``live_app`` starts `sambat up` as its own process against the test PostgreSQL and Redis (so rq jobs
are worked by its worker process) with SMS going to the Twilio stand-in. ``browser_page`` drives
Debian's Chromium through Playwright; a failing test leaves a screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest

SAMBAT = str(Path(sys.executable).with_name("sambat"))
CHROMIUM = os.environ.get("SAMBAT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Flags that keep Chromium off the network it cannot reach here, and quiet in a container.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without Sambat or service settings (a fresh machine), plus ``extra``."""
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("SAMBAT_", "TWILIO_")) and k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    if "SAMBAT_CONFIG" not in extra:
        extra["SAMBAT_CONFIG"] = str(Path(__file__).resolve().parents[2] / "config.yaml")
    return {**keep, **extra}


class Up:
    """`sambat up` running in the background, its output in a log file."""

    def __init__(self, workdir: Path, port: int, env: dict[str, str]) -> None:
        self.port = port
        self.env = env
        self.log = workdir / f"up-{port}.log"
        self.process = subprocess.Popen([SAMBAT, "up", "--port", str(port)], cwd=workdir, env=clean_env(**env),
                                        stdout=self.log.open("w"), stderr=subprocess.STDOUT, text=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 30) -> Up:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                with urlopen(self.url("/healthz"), timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"sambat up did not answer /healthz in {timeout}s:\n{self.output()}")

    def wait_for_output(self, needle: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.output():
                return self.output()
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} never printed:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def live_app(postgres_url: str, twilio_standin, tmp_path: Path) -> Iterator[Up]:  # noqa: ANN001
    """`sambat up` on PostgreSQL and Redis, SMS to the Twilio stand-in; tables emptied afterwards."""
    from redis import Redis

    from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, CITY_NUMBER, REDIS_URL, _empty_tables

    port = free_port()
    Redis.from_url(REDIS_URL).flushdb()
    running = Up(tmp_path, port, {
        "DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL, "SAMBAT_QUEUE_NAME": f"sambat-live-{port}",
        "SECRET_KEY": "live-test-secret-of-32-characters-at-least",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SAMBAT_TWILIO_FROM": CITY_NUMBER, "SAMBAT_TWILIO_API_BASE_URL": twilio_standin.base_url,
        "SAMBAT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # As in the Flask tests: the router assigns without console users (tests/gateway/web/admin/test_unstaffed.py
        # checks admin.hold_without_users, on as config.yaml ships it).
        "SAMBAT_HOLD_WITHOUT_USERS": "false",
    })
    try:
        yield running.wait_ready()
    finally:
        running.stop()
        Redis.from_url(REDIS_URL).flushdb()
        _empty_tables(postgres_url)


@pytest.fixture(scope="session")
def chromium():  # noqa: ANN201 - a playwright Browser
    """Debian's Chromium driven by Playwright (no browser download: executable_path)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (scripts/test does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, request: pytest.FixtureRequest):  # noqa: ANN001, ANN201 - a playwright Page
    """A fresh page in a small-phone viewport; a screenshot in test-artifacts/ when the test fails."""
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="id-ID")
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
