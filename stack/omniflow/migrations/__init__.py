"""Alembic migrations for the gateway's PostgreSQL schema, versioned with the code."""
