"""``sambat route``: ask the router where a complaint goes, and why.

With TEXT it prints the decision and its evidence (``--json`` for one JSON object). With no TEXT it
reads one complaint per line from standard input and prints one JSON object per line, in order, an
empty line giving an empty decision, so the output lines up with the input::

    sambat route "PJU mati di jl. Danau Toba"
    sambat route --json "air PDAM mati 3 hari"
    cut -f4 complaints.tsv | sambat route > decisions.jsonl

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

import click

from router import Decision, RouterConfigError, RoutingTable, load_table, route

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


def decision_json(decision: Decision) -> str:
    """One decision as a single JSON line (UTF-8, no ASCII escaping)."""
    return json.dumps(decision.to_dict(), ensure_ascii=False)


def route_lines(table: RoutingTable, lines: Iterable[str]) -> None:
    """Route every line of ``lines`` and write one JSON object per line to standard output."""
    interactive = sys.stdin.isatty()
    out = sys.stdout
    for line in lines:
        out.write(decision_json(route(line.rstrip("\r\n"), table)) + "\n")
        if interactive:
            out.flush()
    out.flush()


@click.command(name="route")
@click.argument("text", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the decision as one JSON object.")
def route_command(text: tuple[str, ...], as_json: bool) -> None:
    """Show where the router sends TEXT and why; with no TEXT, route stdin line by line (JSON lines)."""
    table = load_routing_table(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    if not text:
        route_lines(table, sys.stdin)
        return
    decision = route(" ".join(text), table)
    click.echo(decision_json(decision) if as_json else decision.explain())
