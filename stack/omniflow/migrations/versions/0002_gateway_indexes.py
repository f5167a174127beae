"""Indexes for the gateway's hot queries.

The submit statement counts a user's unfinished reports on every request; a partial index on
exactly those rows keeps that count small however many reports the user has finished. The admin
list pages through every report newest first, which wants an index in that order.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE INDEX reports_owner_unfinished ON reports (owner_id)
            WHERE status IN ('PENDING', 'PROCESSING');
        CREATE INDEX reports_created_id ON reports (created_at DESC, id DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX reports_created_id;
        DROP INDEX reports_owner_unfinished;
        """
    )
