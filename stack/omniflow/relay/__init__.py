"""The outbox relay: moves committed jobs from PostgreSQL to the broker.

Why it exists: the gateway must save a report *and* publish its job. Two writes to two systems
cannot share a transaction, so a crash or a broker outage between them would leave a report
that no worker ever sees (or a job for a report that was never saved). Instead, the gateway
writes the job into the ``outbox`` table in the same transaction as the report, and this relay
publishes outbox rows afterwards; their marks commit only once the broker has them. Publishing
is idempotent on the broker side (see ``omniflow.broker``), so a relay that dies between
publishing and committing simply publishes again later without creating a second entry.
"""

from omniflow.relay.outbox import OutboxRelay

__all__ = ["OutboxRelay"]
