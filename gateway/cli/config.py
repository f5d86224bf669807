"""``sambat config check``: the effective configuration, every value with where it came from, secrets masked."""

from __future__ import annotations

import click

from gateway.cli.common import _settings


@click.group()
def config() -> None:
    """The configuration: defaults, then config.yaml, then environment variables."""


@config.command("check")
def config_check() -> None:
    """Check config.yaml and the environment; print each effective value and its source.

    Exits 1 naming every bad key (with the variable, or the file and line) when the configuration is wrong.
    """
    settings = _settings()
    rows = list(settings.explain())
    width = max(len(key) for key, _, _ in rows)
    click.echo(f"# {settings.config_path}: configuration is valid")
    for key, value, origin in rows:
        click.echo(f"{key:<{width}}  {value}  [{origin}]")
