"""Runs the migrations against ``OMNIFLOW_DATABASE_URL`` with the psycopg driver."""

from alembic import context
from sqlalchemy import create_engine, pool

from omniflow.settings import get_settings


def _sqlalchemy_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    if scheme in {"postgres", "postgresql"}:
        return f"postgresql+psycopg://{rest}"
    return url


def run_migrations_online() -> None:
    engine = create_engine(
        _sqlalchemy_url(get_settings().database_url),
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        # Serialize concurrent runs (two gateways starting at once) on an advisory lock.
        connection.exec_driver_sql("SELECT pg_advisory_lock(7261001)")
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.exec_driver_sql("SELECT pg_advisory_unlock(7261001)")
        connection.commit()


run_migrations_online()
