"""Alembic migrations: up and down on both databases, and the models match the migrated schema."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from models import Base
from models.migrate import downgrade, upgrade
from tests.conftest import PG_URL


@pytest.fixture(params=["postgres", "sqlite"])
def empty_database(request: pytest.FixtureRequest, tmp_path) -> str:  # noqa: ANN001
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.db'}"
    server, database = PG_URL.rsplit("/", 1)
    scratch = f"{database}_migrations"  # beside the test database, so parallel runs stay apart
    engine = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {scratch}"))
        connection.execute(text(f"CREATE DATABASE {scratch}"))
    engine.dispose()
    return f"{server}/{scratch}"


def test_upgrade_downgrade_upgrade_without_drift(empty_database: str) -> None:
    upgrade(empty_database)
    downgrade(empty_database, "base")
    engine = create_engine(empty_database)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_database)
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert drift == []


def test_one_head() -> None:
    """Branches written side by side are merged, so `alembic upgrade head` reaches every table."""
    from alembic.script import ScriptDirectory

    from models.migrate import alembic_config

    assert len(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()) == 1


def test_several_processes_starting_at_once_sync_the_agencies(empty_database: str) -> None:
    """`gunicorn -w 2` on a fresh database: each worker adds config.yaml's agencies at the same moment."""
    import threading
    from types import SimpleNamespace

    from sqlalchemy import func, select

    from gateway.runtime import sync_agencies
    from models import Agency, Database
    from tests.conftest import make_settings

    upgrade(empty_database)
    settings = make_settings(empty_database)
    databases = [Database(empty_database) for _ in range(4)]
    start, errors = threading.Barrier(len(databases)), []

    def boot(database: Database) -> None:
        start.wait()
        try:
            sync_agencies(SimpleNamespace(settings=settings, db=database))
        except Exception as error:  # noqa: BLE001 - collected and shown by the assertion
            errors.append(repr(error))

    workers = [threading.Thread(target=boot, args=(database,)) for database in databases]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    with databases[0].session() as session:
        count = session.scalar(select(func.count()).select_from(Agency))
    for database in databases:
        database.dispose()
    assert errors == []
    assert count == len(settings.routing.agencies)
