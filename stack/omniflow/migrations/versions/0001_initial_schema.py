"""Users, report requests and the transactional outbox.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE users (
            id            bigserial PRIMARY KEY,
            email         text NOT NULL,
            password_hash text NOT NULL,
            role          text NOT NULL DEFAULT 'learner' CHECK (role IN ('learner', 'admin')),
            created_at    timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX users_email_key ON users (lower(email));

        CREATE TABLE reports (
            id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            owner_id        bigint NOT NULL REFERENCES users (id),
            type            text NOT NULL,
            params          jsonb NOT NULL,
            status          text NOT NULL DEFAULT 'PENDING' CHECK (status IN (
                                'PENDING', 'PROCESSING', 'DONE', 'FAILED', 'CANCELLED')),
            generation      integer NOT NULL DEFAULT 1,
            attempts        integer NOT NULL DEFAULT 0,
            progress        smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
            failure_reason  text,
            trace_id        text NOT NULL,
            idempotency_key text,
            worker          text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            queued_at       timestamptz,
            started_at      timestamptz,
            finished_at     timestamptz,
            updated_at      timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX reports_owner_idempotency_key
            ON reports (owner_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE INDEX reports_owner_created ON reports (owner_id, created_at DESC);
        CREATE INDEX reports_status ON reports (status);
        CREATE INDEX reports_finished_at ON reports (finished_at) WHERE finished_at IS NOT NULL;

        -- The transactional outbox: a job is written here in the same transaction as its report,
        -- and the relay publishes it to the broker afterwards.
        CREATE TABLE outbox (
            id           bigserial PRIMARY KEY,
            report_id    uuid NOT NULL REFERENCES reports (id),
            generation   integer NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz,
            attempts     integer NOT NULL DEFAULT 0,
            last_error   text,
            UNIQUE (report_id, generation)
        );
        CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

        -- Wake the relay as soon as a job is committed.
        CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('omniflow_outbox', '');
            RETURN NULL;
        END $$;
        CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
            FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

        -- Tell live listeners (the gateway's event stream) about every status or progress change.
        CREATE FUNCTION report_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('omniflow_reports', json_build_object(
                'id', NEW.id, 'owner_id', NEW.owner_id, 'status', NEW.status,
                'progress', NEW.progress, 'generation', NEW.generation,
                'failure_reason', NEW.failure_reason, 'updated_at', NEW.updated_at
            )::text);
            RETURN NULL;
        END $$;
        CREATE TRIGGER report_notify_insert AFTER INSERT ON reports
            FOR EACH ROW EXECUTE FUNCTION report_notify();
        CREATE TRIGGER report_notify_update AFTER UPDATE OF status, progress ON reports
            FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                               OR OLD.progress IS DISTINCT FROM NEW.progress)
            EXECUTE FUNCTION report_notify();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE outbox;
        DROP FUNCTION outbox_notify();
        DROP TABLE reports;
        DROP FUNCTION report_notify();
        DROP TABLE users;
        """
    )
