"""``sambat apikeys``: keys for client apps of the JSON API and Open311."""

from __future__ import annotations

import click

from gateway.web.apikeys import ApiKeyError, create_key, list_keys, revoke_key


def _database():  # noqa: ANN202 - a models.Database
    from gateway.cli.common import _local_settings
    from gateway.cli.common import upgrade_database as upgrade
    from models import Database

    settings = _local_settings()
    upgrade(settings.database_url)
    return Database(settings.database_url)


@click.group("apikeys")
def apikeys() -> None:
    """API keys of client apps (X-API-Key for /api/v1, api_key for Open311)."""


@apikeys.command("add")
@click.argument("name")
def add(name: str) -> None:
    """Make a key for the client app NAME and print it once: only its hash is kept."""
    database = _database()
    try:
        with database.session() as session:
            row, key = create_key(session, name)
    except ApiKeyError as error:
        raise click.BadParameter(str(error).removeprefix("NAME: "), param_hint="NAME") from None
    finally:
        database.dispose()
    click.echo(key)
    click.echo(f"API key for {row.name!r} (starts {row.prefix}); it is shown only now, store it safely.", err=True)


@apikeys.command("list")
def list_command() -> None:
    """The keys: name, first characters, created, last used, revoked."""
    database = _database()
    with database.session() as session:
        for row in list_keys(session):
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
            state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
            click.echo(f"{row.name}\t{row.prefix}...\tcreated {row.created_at:%Y-%m-%d %H:%M}\tused {used}\t{state}")
    database.dispose()


@apikeys.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke the active key of the client app NAME."""
    database = _database()
    with database.session() as session:
        row = revoke_key(session, name)
    database.dispose()
    if row is None:
        raise click.BadParameter(f"no active key named {name!r} (see: sambat apikeys list)", param_hint="NAME")
    click.echo(f"revoked the key of {name!r}")
