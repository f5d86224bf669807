"""``sambat router``: the router learns from the city (issue 12).

::

    sambat router import archive.csv [--skip-unknown]   # the city's past dispositions become examples
    sambat router train                                 # train on every example, print its figures, store it
    sambat router evaluate archive.csv [--folds 5] [--json]   # how well would it route? (no database)

An archive is a CSV with a header holding ``text`` and ``agency`` (``,``, ``;`` or tab; UTF-8, BOM or not); the
agency is a code, a full name or one of its ``aliases:`` in config.yaml. Unknown agencies are listed with
their line numbers and nothing is imported (status 2), unless ``--skip-unknown``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from gateway.cli.common import _local_settings, _settings
from gateway.settings import Settings
from router.learning import ArchiveError, ArchiveReading, LearningError, agencies_from_config, read_archive

BAD_INPUT = 2
BAR_FROM = 1000  # rows: a progress bar on longer files


def fail(command: str, message: str) -> click.exceptions.Exit:
    """Print ``sambat router COMMAND: message`` on stderr and return the exit (status 2) to raise."""
    click.echo(f"sambat router {command}: {message}", err=True)
    return click.exceptions.Exit(BAD_INPUT)


def read(command: str, path: str, settings: Settings, skip_unknown: bool) -> ArchiveReading:
    """Read the archive at ``path`` with config.yaml's agencies; unknown agencies stop it unless skipped."""
    try:
        data = Path(path).read_bytes()
        config = Path(settings.config_path).read_text(encoding="utf-8")
    except OSError as error:
        raise fail(command, f"{error.filename}: cannot read: {error.strerror}") from None
    try:
        reading = read_archive(data, agencies_from_config(config))
    except ArchiveError as error:
        raise fail(command, f"{path}: {error}") from None
    for unknown in reading.unknown:
        lines = ", ".join(map(str, unknown.lines[:20])) + (" ..." if len(unknown.lines) > 20 else "")
        click.echo(f"{path}: unknown agency {unknown.written!r} on line{'s' if len(unknown.lines) > 1 else ''} "
                   f"{lines}", err=True)
    if reading.unknown and not skip_unknown:
        count = sum(len(u.lines) for u in reading.unknown)
        raise fail(command, f"{path}: {count} rows name an agency that is not a code, name or alias in "
                            f"{settings.config_path}; nothing imported (add aliases:, or --skip-unknown)")
    return reading


@click.group(name="router")
def router_group() -> None:
    """The router learns from the city: import an archive, train, evaluate."""


@router_group.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--skip-unknown", is_flag=True, help="Import the rows whose agency is known, skip the others.")
def import_command(file: str, skip_unknown: bool) -> None:
    """Import FILE, a CSV archive of past dispositions, as labelled examples (twice adds nothing)."""
    from gateway.cli.common import upgrade_database as upgrade
    from gateway.complaints.learning import import_rows
    from models import Database

    settings = _local_settings()
    reading = read("import", file, settings, skip_unknown)
    upgrade(settings.database_url)
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            if len(reading.rows) >= BAR_FROM:
                with click.progressbar(length=len(reading.rows), label="importing") as bar:
                    added = import_rows(session, reading.rows, bar.update)
            else:
                added = import_rows(session, reading.rows)
            session.commit()
    finally:
        database.dispose()
    skipped = sum(len(u.lines) for u in reading.unknown)
    click.echo(f"{file}: {len(reading.rows)} rows read ({reading.delimiter!r} delimited), {added} new examples "
               f"imported, {len(reading.rows) - added} already there"
               + (f", {skipped} skipped (unknown agency)" if skipped else "")
               + (f", {len(reading.skipped)} empty" if reading.skipped else ""))


def figures_text(figures: dict) -> str:
    """The cross-validated figures of a stored model, as a few lines."""
    cv = figures.get("cv", {})
    lines = [f"cross-validated ({cv.get('folds', '?')} folds) on {figures.get('examples', '?')} examples, "
             f"{figures.get('agencies', '?')} agencies; threshold {figures.get('threshold', 0):.4f} for precision "
             f">= {figures.get('target_precision', 0):g}" + ("" if figures.get("target_met", True) else " (not met)")]
    for name, label in (("keywords", "keywords alone"), ("model", "combined")):
        scores = cv.get(name, {})
        lines.append(f"  {label:<15} coverage {scores.get('coverage', 0):6.1%}  precision "
                     f"{scores.get('precision', 0):6.1%}  forced top-1 {scores.get('forced_top1', 0):6.1%}")
    return "\n".join(lines)


@router_group.command(name="train")
def train_command() -> None:
    """Train the model on every example in the database, print its figures and store it."""
    from gateway.cli.common import upgrade_database as upgrade
    from gateway.complaints.routing import train_and_store
    from models import Database

    settings = _local_settings()
    upgrade(settings.database_url)
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            try:
                row, new = train_and_store(session, settings)
            except LearningError as error:
                raise fail("train", f"cannot train: {error} (import an archive first: sambat router import)") \
                    from None
            session.commit()
    finally:
        database.dispose()
    click.echo(figures_text(row.figures))
    state = "stored" if new else "unchanged (the same examples as the stored model)"
    click.echo(f"model {row.version}: {row.example_count} examples, {state}")
    if row.example_count < settings.learning.min_examples:
        click.echo(f"note: fewer than router.learning.min_examples ({settings.learning.min_examples}) examples; "
                   f"the keywords decide alone until there are more")


@router_group.command(name="evaluate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20), help="Cross-validation folds.")
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as one JSON object.")
@click.option("--skip-unknown", is_flag=True, help="Leave out rows whose agency is unknown.")
def evaluate_command(file: str, folds: int, as_json: bool, skip_unknown: bool) -> None:
    """Cross-validate the router on FILE, an archive, without touching the database."""
    from router.learning import evaluate

    settings = _settings()
    reading = read("evaluate", file, settings, skip_unknown)
    examples = [row.example() for row in reading.rows]
    try:
        result = evaluate(examples, settings.routing, settings.learning, folds=folds)
    except (LearningError, ValueError) as error:
        raise fail("evaluate", f"{file}: {error}") from None
    click.echo(json.dumps(result.to_dict(), ensure_ascii=False) if as_json else result.to_text())
