"""``sambat route``: ask the router where a complaint goes, and why.

With TEXT it prints the decision and its evidence (``--json`` for one JSON object). With no TEXT it
reads one complaint per line from standard input and prints one JSON object per line, in order, an
empty line giving an empty decision, so the output lines up with the input::

    sambat route "PJU mati di jl. Danau Toba"
    sambat route --json "air PDAM mati 3 hari"
    cut -f4 complaints.tsv | sambat route > decisions.jsonl

With DATABASE_URL set and a model stored there (``sambat router train``), the city's learned model decides
with the keywords (when ``router.learning`` lets it); ``--keywords-only`` asks the keywords alone, to compare.
``--json`` gives ``"similar"`` (past complaints close to this one) and ``"model"`` (its version, or null).

The config is read from the file named by SAMBAT_CONFIG (default ./config.yaml) with the router's own
loader. A config the router refuses stops the command with status 2 and a message naming the file and
line, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from gateway.cli.common import _settings
from router import RouterConfigError, RoutingTable, load_table, route

CONFIG_ENV = "SAMBAT_CONFIG"
DEFAULT_CONFIG = "config.yaml"
BAD_CONFIG_EXIT = 2


def load_routing_table(path: str) -> RoutingTable:
    """Read and compile the routing table from ``path``.

    Args:
        path: the config.yaml path.

    Returns:
        The compiled table.

    Raises:
        click.exceptions.Exit: with status 2, after printing the reason, if the file cannot be read or
            the router refuses it.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        click.echo(f"sambat route: {path}: cannot read the config: {reason}", err=True)
        raise click.exceptions.Exit(BAD_CONFIG_EXIT) from None
    try:
        return load_table(text, source=path)
    except RouterConfigError as error:
        click.echo(f"sambat route: {error}", err=True)
        raise click.exceptions.Exit(BAD_CONFIG_EXIT) from None


class Router:
    """Routes texts with the keyword table, and with the database's newest model when there is one."""

    def __init__(self, table: RoutingTable, model: Any = None, settings: Any = None) -> None:
        self.table, self.model, self.settings = table, model, settings

    def decide(self, text: str) -> dict[str, Any]:
        """The decision as a JSON-ready dict, with ``similar`` and ``model``."""
        if self.model is None:
            return {**route(text, self.table).to_dict(), "similar": [], "model": None}
        from router.learning import decide

        return decide(text, self.table, self.model, self.settings).to_dict()

    def explain(self, text: str) -> str:
        """The decision for a person: the keywords' explanation, and the model's answer when it decided."""
        keywords = route(text, self.table).explain()
        if self.model is None:
            return keywords
        from router.learning import decide

        answer = decide(text, self.table, self.model, self.settings)
        head = f"{answer.agency} (confidence {answer.confidence:.2f})" if answer.agency else \
            f"review queue ({answer.review_reason}, confidence {answer.confidence:.2f})"
        similar = "".join(f"\n  mirip {s.ref} -> {s.agency} ({s.similarity:.2f})" for s in answer.similar)
        similar += "".join(f"\n  dikembalikan {s.ref} <- {s.agency} ({s.similarity:.2f})" for s in answer.bounced)
        return f"{head}  [model {answer.model}]{similar}\nkeywords alone: {keywords}"


def stored_model(table: RoutingTable) -> tuple[Any, Any]:
    """The newest model at DATABASE_URL and the learning settings, or (None, None) (a warning when unreadable)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return None, None
    from sqlalchemy.exc import SQLAlchemyError

    from gateway.complaints.routing import newest_model
    from models import Database
    from router.learning import ModelFormatError, loads

    database = Database(url)
    try:
        with database.session() as session:
            row = newest_model(session)
            model = loads(row.data, table) if row is not None else None
    except (SQLAlchemyError, ModelFormatError) as error:
        click.echo(f"sambat route: DATABASE_URL: cannot read the router's model ({type(error).__name__}: "
                   f"{str(error).splitlines()[0][:160]}); the keywords decide alone", err=True)
        return None, None
    finally:
        database.dispose()
    return model, (_settings().learning if model is not None else None)


def route_lines(router: Router, lines: Iterable[str]) -> None:
    """Route every line of ``lines`` and write one JSON object per line to standard output."""
    interactive = sys.stdin.isatty()
    out = sys.stdout
    for line in lines:
        out.write(json.dumps(router.decide(line.rstrip("\r\n")), ensure_ascii=False) + "\n")
        if interactive:
            out.flush()
    out.flush()


@click.command(name="route")
@click.argument("text", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the decision as one JSON object.")
@click.option("--keywords-only", is_flag=True, help="The keyword router alone, even with a model in the database.")
def route_command(text: tuple[str, ...], as_json: bool, keywords_only: bool) -> None:
    """Show where the router sends TEXT and why; with no TEXT, route stdin line by line (JSON lines)."""
    table = load_routing_table(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    router = Router(table) if keywords_only else Router(table, *stored_model(table))
    if not text:
        route_lines(router, sys.stdin)
        return
    joined = " ".join(text)
    click.echo(json.dumps(router.decide(joined), ensure_ascii=False) if as_json else router.explain(joined))
