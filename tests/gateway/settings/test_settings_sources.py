"""One typed settings object: each value's source named, unknown keys refused, every error at once, secrets hidden."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gateway.settings import ConfigError, load_settings
from tests.support.live import SAMBAT, clean_env

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = (ROOT / "config.yaml").read_text()


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if fragment in line)


def refusal(tmp_path: Path, text: str = SHIPPED, **environ: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ=environ, config_path=write_config(tmp_path, text))
    return str(raised.value)


@pytest.mark.parametrize(("label", "edit", "expected"), [
    ("misspelt section key", ("  provider: auto", "  provder: auto"),
     "sms.provder: unknown key; did you mean provider?"),
    ("misspelt top-level key", ("timezone: Asia/Jakarta", "timezon: Asia/Jakarta"),
     "timezon: unknown key; did you mean timezone?"),
    ("key no section has", ("city: Kota Malang", "city: Kota Malang\nweather: sunny"),
     "weather: unknown key; known keys:"),
    ("misspelt mail key", ("  max_mb: 35", "  max_mbs: 35"), "mail.max_mbs: unknown key; did you mean max_mb?"),
], ids=lambda value: value if isinstance(value, str) and " " in value else "")
def test_unknown_keys_are_refused_by_name_and_line(tmp_path: Path, label: str, edit: tuple[str, str],
                                                   expected: str) -> None:
    text = SHIPPED.replace(edit[0], edit[1], 1)
    message = refusal(tmp_path, text)
    assert f"config.yaml line {line_of(text, edit[1].splitlines()[-1])}: {expected}" in message


def test_a_bad_environment_variable_is_blamed_on_the_variable(tmp_path: Path) -> None:
    message = refusal(tmp_path, SAMBAT_TIMEZONE="Mars/Olympus")
    assert message == "SAMBAT_TIMEZONE: timezone: unknown time zone 'Mars/Olympus'"


def test_a_bad_file_value_names_the_file_and_line(tmp_path: Path) -> None:
    text = SHIPPED.replace("timezone: Asia/Jakarta", "timezone: Mars/Olympus")
    assert refusal(tmp_path, text).endswith(
        f"config.yaml line {line_of(text, 'Mars/Olympus')}: timezone: unknown time zone 'Mars/Olympus'")


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    text = (SHIPPED.replace("  provider: auto", "  provider: pigeon").replace("max_attempts: 6", "max_attempts: zero")
            .replace("  tls: starttls", "  tls: sometimes"))
    lines = refusal(tmp_path, text, SAMBAT_PROXY_HOPS="one", SAMBAT_IMAP_PORT="99999").splitlines()
    assert len(lines) == 5, lines
    assert any(line.endswith("sms.provider: must be one of auto, twilio, android-sms, console, got 'pigeon'")
               for line in lines)
    assert any("outbox.max_attempts: must be a whole number, got 'zero'" in line for line in lines)
    assert any("mail.tls: must be one of starttls, ssl, none, got 'sometimes'" in line for line in lines)
    assert "SAMBAT_PROXY_HOPS: expected a int, got 'one'" in lines
    assert "SAMBAT_IMAP_PORT: imap.port: must be a port number 1-65535, got 99999" in lines


def test_secrets_come_from_the_environment_and_are_never_printed(tmp_path: Path) -> None:
    token = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
    settings = load_settings(environ={"TWILIO_AUTH_TOKEN": token, "SAMBAT_MAIL_PASSWORD": "hunter2-hunter2"},
                             config_path=str(ROOT / "config.yaml"))
    assert settings.secret("sms.twilio_auth_token") == token
    shown = repr(settings) + str(settings) + "\n".join(map(str, settings.explain()))
    assert token not in shown and "hunter2" not in shown
    text = SHIPPED.replace("  username: null\n  tls: starttls",
                           "  username: null\n  password: hunter2\n  tls: starttls")
    assert "mail.password: secrets are read from the environment only (SAMBAT_MAIL_PASSWORD)" in refusal(tmp_path, text)


def test_settings_are_parsed_once_per_process() -> None:
    environ = {"DATABASE_URL": "sqlite://"}
    first = load_settings(environ=environ, config_path=str(ROOT / "config.yaml"))
    assert load_settings(environ=dict(environ), config_path=str(ROOT / "config.yaml")) is first
    assert load_settings(environ={"DATABASE_URL": "sqlite:///other"}, config_path=str(ROOT / "config.yaml")) \
        is not first


def test_overrides_merge_a_section_key_by_key() -> None:
    settings = load_settings(environ={}, config_path=str(ROOT / "config.yaml"))
    changed = settings.with_overrides(intake__media_dir="/srv/media", mail={"port": 2525})
    assert (changed.intake.media_dir, changed.intake.max_photos) == ("/srv/media", settings.intake.max_photos)
    assert (changed.mail.port, changed.mail.sender) == (2525, settings.mail.sender)
    with pytest.raises(ConfigError, match="overrides: intake.max_photos: must be a whole number from 0 to 10"):
        settings.with_overrides(intake__max_photos=50)


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAMBAT, *args], cwd=tmp_path, env=clean_env(**env), capture_output=True, text=True,
                          timeout=120)


def test_config_check_shows_each_value_and_its_source(tmp_path: Path) -> None:
    result = run(tmp_path, "config", "check", TWILIO_AUTH_TOKEN="f0e1d2c3b4a5968778695a4b3c2d1e0f",
                 SAMBAT_TIMEZONE="Asia/Makassar", DATABASE_URL="postgresql://sambat:s3cret@db/sambat")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert lines["timezone"].endswith("'Asia/Makassar'  [SAMBAT_TIMEZONE]")
    assert lines["city"].endswith(f"'Kota Malang'  [{ROOT / 'config.yaml'} line {line_of(SHIPPED, 'city:')}]")
    assert lines["queue_name"].endswith("[default (set SAMBAT_QUEUE_NAME to change)]")
    assert lines["sms.twilio_auth_token"].endswith("**********  [TWILIO_AUTH_TOKEN]")
    assert "s3cret" not in result.stdout and "f0e1d2c3" not in result.stdout
    assert "postgresql://sambat:****@db/sambat" in lines["database_url"]


@pytest.mark.parametrize("command", [("config", "check"), ("db", "upgrade"), ("route", "jalan rusak")])
def test_every_command_checks_the_configuration_first(tmp_path: Path, command: tuple[str, ...]) -> None:
    database = tmp_path / "never.sqlite3"
    result = run(tmp_path, *command, SAMBAT_TIMEZONE="Mars/Olympus", DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 1
    assert "SAMBAT_TIMEZONE: timezone: unknown time zone 'Mars/Olympus'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not database.exists()
