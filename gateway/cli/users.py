"""``sambat users``: console users. The password comes from SAMBAT_NEW_PASSWORD, else a hidden prompt."""

from __future__ import annotations

import os
from types import SimpleNamespace

import click
from sqlalchemy import select

from gateway.complaints.audit import record, user_state
from gateway.web.auth import UserError, create_user
from models.user import ROLES


def _database():  # noqa: ANN202 - (settings, models.Database)
    from gateway.cli.common import _local_settings
    from gateway.cli.common import upgrade_database as upgrade
    from gateway.runtime import sync_agencies
    from models import Database

    settings = _local_settings()
    upgrade(settings.database_url)
    database = Database(settings.database_url)
    sync_agencies(SimpleNamespace(settings=settings, db=database))  # agencies exist before admins name them
    return database


@click.group("users")
def users() -> None:
    """Console users: super-admin, agency admins, viewers."""


@users.command("add")
@click.argument("email")
@click.option("--role", required=True, help=f"one of {', '.join(ROLES)}")
@click.option("--agency", default=None, help="the agency code, for an agency-admin (e.g. DISHUB)")
@click.option("--name", default=None, help="the person's name, shown in the console")
def add(email: str, role: str, agency: str | None, name: str | None) -> None:
    """Create a user who logs in with EMAIL at /admin."""
    if role not in ROLES:
        raise click.BadParameter(f"unknown role {role!r}; use one of {', '.join(ROLES)}", param_hint="--role")
    from_env = bool(os.environ.get("SAMBAT_NEW_PASSWORD"))
    password = os.environ.get("SAMBAT_NEW_PASSWORD") or click.prompt(
        f"Password for {email}", hide_input=True, confirmation_prompt=True)
    database = _database()
    try:
        with database.session() as session:
            user = create_user(session, email, role, password, agency_code=agency, name=name)
            record(session, "cli", "user.create", "user", user.email, None, user_state(user))
            session.commit()
    except UserError as error:
        hint = "--agency" if "agency" in str(error) else "--role" if "role" in str(error) else None
        if str(error).startswith("password"):
            raise click.ClickException(f"{'SAMBAT_NEW_PASSWORD' if from_env else 'the password typed'}: {error}") \
                from None
        if hint:
            raise click.BadParameter(str(error), param_hint=hint) from None
        raise click.ClickException(str(error)) from None
    finally:
        database.dispose()
    where = f" of {agency}" if agency else ""
    click.echo(f"user {email} added: {role}{where}")


@users.command("list")
def list_command() -> None:
    """Every user: e-mail, role, agency, active or not."""
    from models import User

    database = _database()
    with database.session() as session:
        for user in session.scalars(select(User).order_by(User.role, User.agency_code, User.email)):
            state = "active" if user.active else "inactive"
            click.echo(f"{user.email}\t{user.role}\t{user.agency_code or '-'}\t{state}")
    database.dispose()
