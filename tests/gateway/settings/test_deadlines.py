"""Deadline arithmetic in Indonesian working days: weekends, national holidays (holidays package, ID), cuti bersama
and extra days off from config, in Malang's time zone; and the deadlines section's checks."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.settings import ConfigError
from gateway.settings.deadlines import DeadlinePolicy, WorkingCalendar, policy
from tests.conftest import make_settings

WIB = ZoneInfo("Asia/Jakarta")


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WIB)


def due(assigned: datetime, days: int, cuti_bersama: bool = True, days_off: tuple[date, ...] = ()) -> datetime:
    return WorkingCalendar("Asia/Jakarta", cuti_bersama, days_off).add_working_days(assigned, days).astimezone(WIB)


def test_the_package_knows_idul_fitri_2026_and_its_cuti_bersama() -> None:
    calendar = WorkingCalendar()
    # Nyepi Thu 19 March, Idul Fitri Sat 21 and Sun 22 March; cuti bersama 18, 20, 23 and 24 March.
    assert [day for day in range(16, 28) if calendar.is_working_day(date(2026, 3, day))] == [16, 17, 25, 26, 27]
    assert "Idul Fitri" in calendar.day_off_name(date(2026, 3, 21))
    assert calendar.day_off_name(date(2026, 3, 20)) == "Cuti Bersama Hari Raya Idul Fitri"
    assert calendar.day_off_name(date(2026, 3, 19)) == "Hari Suci Nyepi"
    assert calendar.day_off_name(date(2026, 3, 17)) is None
    without = WorkingCalendar(cuti_bersama=False)
    assert [day for day in range(16, 28) if without.is_working_day(date(2026, 3, day))] == [16, 17, 18, 20, 23, 24,
                                                                                            25, 26, 27]


# (label, received, working days, expected deadline, cuti bersama on)
CASES = [
    ("friday before idul fitri: acknowledge", wib(2026, 3, 13, 10), 1, wib(2026, 3, 16, 10), True),
    ("friday before idul fitri: respond jumps the holiday week", wib(2026, 3, 13, 10), 3, wib(2026, 3, 25, 10), True),
    ("friday before idul fitri: resolve", wib(2026, 3, 13, 10), 7, wib(2026, 3, 31, 10), True),
    ("friday before idul fitri without cuti bersama", wib(2026, 3, 13, 10), 3, wib(2026, 3, 18, 10), False),
    ("friday before idul fitri without cuti bersama: resolve", wib(2026, 3, 13, 10), 7, wib(2026, 3, 25, 10), False),
    ("received on a cuti bersama day starts at 00:00 of the next working day", wib(2026, 3, 20, 9), 1,
     wib(2026, 3, 26, 0), True),
    ("received on idul fitri itself", wib(2026, 3, 21, 8), 1, wib(2026, 3, 26, 0), True),
    ("friday afternoon: monday same time", wib(2026, 11, 6, 16), 1, wib(2026, 11, 9, 16), True),
    ("saturday: clock starts monday 00:00", wib(2026, 11, 7, 11), 1, wib(2026, 11, 10, 0), True),
    ("sunday night", wib(2026, 11, 8, 23, 59), 3, wib(2026, 11, 12, 0), True),
    ("christmas eve cuti and christmas", wib(2026, 12, 23, 14), 1, wib(2026, 12, 28, 14), True),
    ("independence day monday", wib(2026, 8, 14, 9), 1, wib(2026, 8, 18, 9), True),
    ("new year 2027 (package knows next year)", wib(2026, 12, 31, 15), 1, wib(2027, 1, 4, 15), True),
    ("late friday in WIB is still friday (16:30 UTC)", wib(2026, 11, 6, 23, 30), 1, wib(2026, 11, 9, 23, 30), True),
    ("early monday in WIB is sunday in UTC", wib(2026, 11, 9, 1), 1, wib(2026, 11, 10, 1), True),
]


@pytest.mark.parametrize(("label", "received", "days", "expected", "cuti"), CASES, ids=[case[0] for case in CASES])
def test_deadlines_skip_weekends_and_holidays(label: str, received: datetime, days: int, expected: datetime,
                                              cuti: bool) -> None:
    assert due(received, days, cuti_bersama=cuti) == expected


def test_extra_days_off_from_config() -> None:
    # Hari Jadi Kota Malang, Wednesday 1 April 2026, declared a local day off.
    assert due(wib(2026, 3, 31, 10), 1) == wib(2026, 4, 1, 10)
    assert due(wib(2026, 3, 31, 10), 1, days_off=(date(2026, 4, 1),)) == wib(2026, 4, 2, 10)


def test_results_are_utc_and_aware() -> None:
    result = WorkingCalendar().add_working_days(wib(2026, 11, 6, 16), 1)
    assert result.tzinfo is not None and result.utcoffset().total_seconds() == 0
    assert result.hour == 9  # 16:00 WIB


def test_policy_per_agency_and_category_from_the_shipped_config() -> None:
    rules = policy(make_settings("sqlite://"))
    assert rules.days("DLH") == {"acknowledge": 1, "respond": 3, "resolve": 7}
    assert rules.days("DPUPRPKP", "jalan") == {"acknowledge": 1, "respond": 3, "resolve": 14}
    assert rules.days("DPUPRPKP", "pohon-taman") == {"acknowledge": 1, "respond": 3, "resolve": 7}
    assert rules.days("DISPENDUKCAPIL") == {"acknowledge": 1, "respond": 2, "resolve": 5}
    assert rules.days(None) == {"acknowledge": 1, "respond": 3, "resolve": 7}
    dues = rules.due_dates(wib(2026, 3, 13, 10), "DPUPRPKP", "jalan")
    assert dues["resolve"].astimezone(WIB) == wib(2026, 4, 10, 10)  # 14 working days, Good Friday 3 April off


def test_policy_defaults_without_a_deadlines_section() -> None:
    rules = policy(make_settings("sqlite://", deadlines={}))
    assert rules == DeadlinePolicy(timezone="Asia/Jakarta")
    assert rules.default == {"acknowledge": 1, "respond": 3, "resolve": 7}
    assert rules.remind_before_hours == 4 and rules.escalate_to_viewers_after_days == 2 and rules.cuti_bersama


BAD = [
    ({"agencies": {"PLN": {"resolve": 3}}}, "deadlines.agencies.PLN: no agency with code 'PLN'"),
    ({"resolve": 0}, "deadlines.resolve: must be a whole number of working days from 1 to 365, got 0"),
    ({"respond": "tiga"}, "deadlines.respond: must be a whole number"),
    ({"acknowledge": 5}, "deadlines: acknowledge <= respond <= resolve must hold, got 5, 3, 7"),
    ({"agencies": {"DLH": {"respond": 9}}}, "deadlines.agencies.DLH: acknowledge <= respond <= resolve"),
    ({"agencies": {"DLH": {"categories": {"jalan-tol": {"resolve": 3}}}}},
     "deadlines.agencies.DLH.categories.jalan-tol: no category 'jalan-tol' in intake.categories"),
    ({"agencies": {"DLH": {"resolv": 3}}}, "deadlines.agencies.DLH.resolv: unknown key"),
    ({"days_off": ["2026-13-01"]}, "deadlines.days_off[0]: not a date like 2026-03-20: '2026-13-01'"),
    ({"days_off": "2026-04-01"}, "deadlines.days_off: must be a list of dates"),
    ({"cuti_bersama": "ya"}, "deadlines.cuti_bersama: must be true or false"),
    ({"remind_before_hours": -1}, "deadlines.remind_before_hours: must be a number of hours from 0 to 240"),
    ({"escalate_after": 2}, "deadlines.escalate_after: unknown key"),
    ({"agencies": ["DLH"]}, "deadlines.agencies: must be a mapping (code: settings), got ['DLH']"),
    ({"agencies": {"DLH": 5}}, "deadlines.agencies.DLH: must be a mapping of stage to working days, got 5"),
    ({"agencies": {"DLH": {"categories": ["sampah"]}}}, "deadlines.agencies.DLH.categories: must be a mapping"),
    ({"agencies": {"DLH": {"categories": {"sampah": 3}}}},
     "deadlines.agencies.DLH.categories.sampah: must be a mapping of acknowledge, respond, resolve to working days"),
    ({"agencies": {"DLH": {"categories": {"sampah": {"resolve": 2.5}}}}},
     "deadlines.agencies.DLH.categories.sampah.resolve: must be a whole number of working days from 1 to 365, got 2.5"),
    ({"categories": "jalan"}, "deadlines.categories: must be a mapping"),
    ({"categories": {"jalan-tol": {"resolve": 9}}}, "deadlines.categories.jalan-tol: no category 'jalan-tol'"),
    ({"categories": {"jalan": {"resolve": 2}}},
     "deadlines.categories.jalan: acknowledge <= respond <= resolve must hold, got 1, 3, 2"),
    ({"categories": {"jalan": {"resolv": 2}}}, "deadlines.categories.jalan: must be a mapping of acknowledge"),
    ({"categories": {"sampah": {"resolve": 4}}, "agencies": {"DLH": {"respond": 5}}},
     "deadlines.categories.sampah at DLH: acknowledge <= respond <= resolve must hold, got 1, 5, 4"),
    ({"escalate_to_viewers_after_days": -1}, "deadlines.escalate_to_viewers_after_days: must be a whole number"),
    ({"acknowledge": True}, "deadlines.acknowledge: must be a whole number of working days from 1 to 365, got True"),
]


@pytest.mark.parametrize(("section", "message"), BAD, ids=[message.split(":")[0] for _, message in BAD])
def test_a_bad_deadlines_section_names_the_key(section: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        make_settings("sqlite://", deadlines=section)
    assert message in str(error.value)


def test_a_deadlines_section_that_is_not_a_mapping_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"deadlines: must be a mapping"):
        make_settings("sqlite://", deadlines=[1, 3, 7])


def test_a_category_at_any_agency_and_the_most_specific_setting_wins() -> None:
    rules = policy(make_settings("sqlite://", deadlines={
        "resolve": 7,
        "categories": {"bencana": {"acknowledge": 1, "respond": 1, "resolve": 2}, "jalan": {"resolve": 10}},
        "agencies": {"DPUPRPKP": {"resolve": 14, "categories": {"jalan": {"resolve": 20}}}, "BPBD": {"respond": 2}}}))
    assert rules.days("BPBD", "bencana") == {"acknowledge": 1, "respond": 1, "resolve": 2}  # category beats agency
    assert rules.days("BPBD") == {"acknowledge": 1, "respond": 2, "resolve": 7}
    assert rules.days("DISHUB", "jalan") == {"acknowledge": 1, "respond": 3, "resolve": 10}  # reassigned: still jalan
    assert rules.days("DPUPRPKP", "jalan") == {"acknowledge": 1, "respond": 3, "resolve": 20}  # agency's category
    assert rules.days("DPUPRPKP", "saluran") == {"acknowledge": 1, "respond": 3, "resolve": 14}


def test_bad_deadlines_stop_the_cli_with_the_key_named(tmp_path) -> None:  # noqa: ANN001
    import subprocess

    from tests.conftest import ROOT
    from tests.support.live import SAMBAT, clean_env

    config = (ROOT / "config.yaml").read_text().replace("  resolve: 7                 # done",
                                                         "  resolve: seven             # done", 1)
    assert "resolve: seven" in config
    (tmp_path / "config.yaml").write_text(config)
    result = subprocess.run([SAMBAT, "users", "list"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env=clean_env(SAMBAT_CONFIG=str(tmp_path / "config.yaml")))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "deadlines.resolve: must be a whole number of working days from 1 to 365, got 'seven'" in result.stderr


def test_days_off_accept_yaml_dates() -> None:
    rules = policy(make_settings("sqlite://", deadlines={"days_off": [date(2026, 4, 1), "2026-04-02"]}))
    assert rules.days_off == (date(2026, 4, 1), date(2026, 4, 2))
