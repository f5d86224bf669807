"""Settings: layered defaults, config.yaml and environment; every bad value named by its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = (ROOT / "config.yaml").read_text()


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def test_defaults_file_then_environment(tmp_path: Path) -> None:
    path = write_config(tmp_path, SHIPPED.replace("phone_region: ID", "phone_region: MY"))
    settings = load_settings(environ={"SAMBAT_PHONE_REGION": "SG", "DATABASE_URL": "sqlite://"}, config_path=path)
    assert settings.phone_region == "SG"  # environment beats the file
    assert settings.database_url == "sqlite://"
    assert load_settings(environ={}, config_path=path).phone_region == "MY"  # file beats the default
    assert settings.queue_name == "sambat"  # default in code


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write_config(tmp_path, SHIPPED.replace("city: Kota Malang", "city: Kota Batu"))
    assert load_settings(environ={"SAMBAT_CONFIG": path}).city == "Kota Batu"


def test_console_provider_without_credentials() -> None:
    settings = load_settings(environ={}, config_path=str(ROOT / "config.yaml"))
    assert settings.outbound_sms_provider == "console"
    with_twilio = load_settings(environ={"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t" * 32},
                                config_path=str(ROOT / "config.yaml"))
    assert with_twilio.outbound_sms_provider == "twilio"


@pytest.mark.parametrize(
    ("label", "edit", "environ", "names"),
    [
        ("missing file", None, {"SAMBAT_CONFIG": "/nonexistent/config.yaml"}, "SAMBAT_CONFIG"),
        ("unknown provider", ("provider: auto", "provider: carrier-pigeon"), {}, "sms.provider"),
        ("twilio without credentials", ("provider: auto", "provider: twilio"), {}, "TWILIO_ACCOUNT_SID"),
        ("bad sender number", ('twilio_from: "+15005550006"', 'twilio_from: "12"'), {}, "sms.twilio_from"),
        ("unknown region", ("phone_region: ID", "phone_region: XX"), {}, "phone_region"),
        ("unknown language", ("default_language: id", "default_language: jv"), {}, "default_language"),
        ("unknown time zone", ("timezone: Asia/Jakarta", "timezone: Mars/Olympus"), {}, "timezone"),
        ("bad attempts", ("max_attempts: 6", "max_attempts: zero"), {}, "outbox.max_attempts"),
        ("bad backoff", ("retry_backoff: [10, 30, 120, 600, 1800]", "retry_backoff: [-1]"), {},
         "outbox.retry_backoff"),
        ("missing template", ('    help: "SAMBAT: kirim', '    helpless: "SAMBAT: kirim'), {}, "templates.id.help"),
        ("unknown placeholder", ("Tiket {code}. Diteruskan", "Tiket {kode}. Diteruskan"), {},
         "templates.id.ticket_created"),
        ("secret in the file", ("city: Kota Malang", "city: Kota Malang\nsecret_key: hunter2"), {}, "secret_key"),
        ("not a mapping", None, {"SAMBAT_CONFIG": "LIST"}, "the top level must be a mapping"),
        ("broken YAML", ("city: Kota Malang", "city: [Kota Malang"), {}, "while parsing a flow sequence at line 6"),
        ("bad environment number", None, {"SAMBAT_OUTBOX_MAX_ATTEMPTS": "many"}, "SAMBAT_OUTBOX_MAX_ATTEMPTS"),
        ("bad public URL", None, {"SAMBAT_PUBLIC_URL": "sambat.example"}, "SAMBAT_PUBLIC_URL"),
        ("Twilio API URL without a host", None, {"SAMBAT_TWILIO_API_BASE_URL": "https://"}, "not a URL with a host"),
        ("bad router config", ("router:\n  threshold:", "router:\n  threshold: 7\n  old_threshold:"), {},
         "threshold"),
        # issue 15
        ("bad questionnaire days", ("after_days: 3 ", "after_days: -1 "), {}, "questionnaire.after_days"),
        ("bad answer days", ("answer_days: 14 ", "answer_days: soon "), {}, "questionnaire.answer_days"),
        ("bad short reply days", ("short_replies:\n  days: 3", "short_replies:\n  days: many"), {},
         "short_replies.days"),
        ("referral without English", ('      en: "Electricity is PLN', '      fr: "Electricity is PLN'), {},
         "admin.referrals.PLN"),
        ("missing reopened name", ("    reopened: Dibuka kembali\n", ""), {}, "statuses.id.reopened"),
        ("missing questionnaire text", ('    questionnaire: "Tiket {code} sudah', '    quiz: "Tiket {code} sudah'),
         {}, "templates.id.questionnaire"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_settings_name_the_key(tmp_path: Path, label: str, edit: tuple[str, str] | None,
                                   environ: dict[str, str], names: str) -> None:
    text = SHIPPED
    if edit:
        assert edit[0] in text, f"test edit {edit[0]!r} no longer matches config.yaml"
        text = text.replace(edit[0], edit[1], 1)
    if environ.get("SAMBAT_CONFIG") == "LIST":
        environ = {"SAMBAT_CONFIG": write_config(tmp_path, "- just\n- a list\n")}
    path = environ.get("SAMBAT_CONFIG") or write_config(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_settings(environ=environ, config_path=path)
    assert names in str(raised.value)
