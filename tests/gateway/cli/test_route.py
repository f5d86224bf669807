"""``sambat route``: text, --json, stdin JSON lines, and refusals with status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli.route import route_command

CONFIG = """\
city: Kota Malang
router:
  threshold: 0.55
agencies:
  - code: DISHUB
    name: Dinas Perhubungan
    keywords: {pju: 3, lampu jalan: 3}
  - code: DLH
    name: Dinas Lingkungan Hidup
    keywords: {sampah: 3, tps: 3}
"""


@pytest.fixture()
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("SAMBAT_CONFIG", str(path))
    return path


def test_text_prints_decision_and_evidence(config: Path) -> None:
    result = CliRunner().invoke(route_command, ["PJU mati di jl. Danau Toba"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["DISHUB (confidence 0.75)", "  DISHUB           score   3.00  pju"]


def test_words_are_joined(config: Path) -> None:
    result = CliRunner().invoke(route_command, ["--json", "sampah", "numpuk", "di", "TPS"])
    assert json.loads(result.output)["agency"] == "DLH"


def test_json(config: Path) -> None:
    result = CliRunner().invoke(route_command, ["--json", "Tlg sampah numpuk di TPS"])
    assert result.exit_code == 0
    assert json.loads(result.output) == {
        "agency": "DLH",
        "confidence": 0.8571,
        "matched": ["sampah", "tps"],
        "candidates": [{"agency": "DLH", "score": 6.0, "matched": ["sampah", "tps"]}],
        "similar": [], "model": None,
    }


def test_stdin_one_json_object_per_line(config: Path) -> None:
    lines = "PJU mati\n\nterima kasih\nsampah di TPS\r\n"
    result = CliRunner().invoke(route_command, [], input=lines)
    assert result.exit_code == 0
    decisions = [json.loads(line) for line in result.output.splitlines()]
    assert [d["agency"] for d in decisions] == ["DISHUB", None, None, "DLH"]
    assert all(set(d) == {"agency", "confidence", "matched", "candidates", "similar", "model"} for d in decisions)


def test_review_queue_in_text_mode(config: Path) -> None:
    result = CliRunner().invoke(route_command, ["terima kasih"])
    assert result.output.strip() == "review queue: no keyword matched"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("router:\n  threshold: 2\nagencies: []\n", "line 2: router.threshold must be a number >= 0 and <= 1"),
        ("agencies:\n  - code: X\n    name: y\n", "line 2: agencies[0].code 'X': must match"),
        (
            "agencies:\n  - {code: DLH, name: y, keywords: {sampah: 0}}\n",
            "line 2: agencies[0].keywords 'sampah': weight",
        ),
        ("agencies: [\n", "line 2: invalid YAML"),
    ],
    ids=["bad threshold", "bad code", "bad weight", "bad yaml"],
)
def test_bad_config_exits_2_naming_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("SAMBAT_CONFIG", str(path))
    result = CliRunner().invoke(route_command, ["sampah"])
    assert result.exit_code == 2
    assert f"{path} {message}" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_missing_config_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAMBAT_CONFIG", str(tmp_path / "nope.yaml"))
    result = CliRunner().invoke(route_command, ["sampah"])
    assert result.exit_code == 2
    assert "nope.yaml: cannot read the config" in result.output


def test_default_path_is_config_yaml_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAMBAT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(route_command, ["--json", "lampu jalan mati"])
    assert json.loads(result.output)["agency"] == "DISHUB"
