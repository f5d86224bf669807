"""``sambat router import|train|evaluate`` and ``sambat route`` with a model, as an operator runs them."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.gateway.learning.data import archive, labelled
from tests.support.live import SAMBAT, clean_env


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def sambat(workdir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``sambat`` in ``workdir`` with its own SQLite database."""
    env = clean_env(DATABASE_URL=f"sqlite:///{workdir / 'sambat.sqlite3'}", SAMBAT_CONFIG=str(workdir / "config.yaml"))
    return subprocess.run([SAMBAT, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=300,
                          input=stdin)


def count(workdir: Path, table: str) -> int:
    with sqlite3.connect(workdir / "sambat.sqlite3") as db:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - a test's own table name


ROWS = [("jalan berlubang besar depan sekolah", "Dinas PU"), ("sampah numpuk tiga hari", "dlh"),
        ("lampu pju mati", "DISHUB"), ("aspal   mengelupas", "DPUPR")]


@pytest.mark.parametrize(("delimiter", "bom"), [(",", False), (";", True), ("\t", False), (";", False)])
def test_import_reads_delimiters_bom_and_aliases_and_twice_adds_nothing(workdir: Path, delimiter: str,
                                                                         bom: bool) -> None:
    (workdir / "a.csv").write_bytes(archive(ROWS, delimiter, bom))
    first = sambat(workdir, "router", "import", "a.csv")
    assert first.returncode == 0, first.stderr
    assert "4 new examples imported" in first.stdout
    again = sambat(workdir, "router", "import", "a.csv")
    assert again.returncode == 0 and "0 new examples imported, 4 already there" in again.stdout
    with sqlite3.connect(workdir / "sambat.sqlite3") as db:
        agencies = [row[0] for row in db.execute("SELECT agency_code FROM routing_examples ORDER BY id")]
    assert agencies == ["DPUPRPKP", "DLH", "DISHUB", "DPUPRPKP"]


@pytest.mark.parametrize(("args", "code", "imported", "message"), [
    ((), 2, 0, "nothing imported"),
    (("--skip-unknown",), 0, 3, "2 skipped (unknown agency)"),
])
def test_unknown_agencies_are_listed_with_lines(workdir: Path, args: tuple[str, ...], code: int, imported: int,
                                               message: str) -> None:
    rows = [ROWS[0], ("banjir di gang", "Dinas Hantu"), ROWS[1], ROWS[2], ("got mampet", "dinas  HANTU")]
    (workdir / "a.csv").write_bytes(archive(rows))
    result = sambat(workdir, "router", "import", "a.csv", *args)
    assert result.returncode == code
    assert "a.csv: unknown agency 'Dinas Hantu' on lines 3, 6" in result.stderr
    assert message in result.stdout + result.stderr and "Traceback" not in result.stderr
    if code == 0:
        assert count(workdir, "routing_examples") == imported


@pytest.mark.parametrize(("content", "message"), [
    (b"teks,dinas\nx,DLH\n", "a.csv: line 1: the header needs columns text and agency"),
    (b"text,agency\n\xff\xfe,DLH\n", "a.csv: line 2: not UTF-8 text"),
    (None, "cannot read"),
])
def test_bad_archives_are_a_message(workdir: Path, content: bytes | None, message: str) -> None:
    if content is not None:
        (workdir / "a.csv").write_bytes(content)
    result = sambat(workdir, "router", "import", "a.csv")
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_train_stores_a_model_and_route_uses_it(workdir: Path) -> None:
    (workdir / "a.csv").write_bytes(archive(labelled(120)))
    assert sambat(workdir, "router", "import", "a.csv").returncode == 0
    trained = sambat(workdir, "router", "train")
    assert trained.returncode == 0, trained.stderr
    assert "keywords alone" in trained.stdout and "combined" in trained.stdout and "forced top-1" in trained.stdout
    with sqlite3.connect(workdir / "sambat.sqlite3") as db:
        version, examples, figures = db.execute("SELECT version, example_count, figures FROM router_models").fetchone()
    assert examples == 120 and "cv" in json.loads(figures) and f"model {version}" in trained.stdout
    routed = json.loads(sambat(workdir, "route", "--json", "sampah bau tumpukan depan rumah").stdout)
    assert routed["model"] == version and routed["agency"] == "DLH"
    assert routed["similar"] and routed["similar"][0]["agency"] == "DLH"
    keywords = json.loads(sambat(workdir, "route", "--json", "--keywords-only", "sampah bau tumpukan").stdout)
    assert (keywords["model"], keywords["similar"]) == (None, [])
    lines = sambat(workdir, "route", stdin="lampu pju padam\n").stdout.splitlines()
    assert json.loads(lines[0])["model"] == version


def test_train_without_examples_is_a_message(workdir: Path) -> None:
    result = sambat(workdir, "router", "train")
    assert result.returncode == 2 and "cannot train" in result.stderr and "Traceback" not in result.stderr


def test_evaluate_touches_no_database(workdir: Path) -> None:
    (workdir / "a.csv").write_bytes(archive(labelled(90), ";"))
    result = sambat(workdir, "router", "evaluate", "a.csv", "--folds", "3", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["folds"] == 3 and report["examples"] == 90
    assert set(report["scores"]) == {"keywords", "model", "combined"} and report["confusion"] and report["sweep"]
    assert not (workdir / "sambat.sqlite3").exists()
    text = sambat(workdir, "router", "evaluate", "a.csv", "--folds", "3").stdout
    assert "Confusion matrix" in text and "Across thresholds" in text
