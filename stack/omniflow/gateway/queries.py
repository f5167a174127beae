"""Every SQL statement the gateway sends, in one place so a learner can read them together.

Two rules hold throughout. A status change is one guarded ``UPDATE … WHERE status = …``, so
two requests racing on the same report cannot both win (never read, decide, then write). And
a job for the worker is written to ``outbox`` in the same statement as the report change it
belongs to, so the report and its job are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence

REPORT_COLUMNS = (
    "id, owner_id, type, params, status, generation, attempts, progress, failure_reason, "
    "trace_id, idempotency_key, worker, created_at, queued_at, started_at, finished_at, "
    "updated_at"
)



def _qualified(alias: str) -> str:
    return ", ".join(f"{alias}.{column}" for column in REPORT_COLUMNS.split(", "))


_UNFINISHED = """
    SELECT count(*) AS unfinished FROM reports
    WHERE owner_id = $2 AND status IN ('PENDING', 'PROCESSING')
"""

# One round trip for a whole batch of submits (see ``submits``): for each input row, find an
# earlier submit with the same Idempotency-Key, count the owner's unfinished reports (plus the
# ones ahead of it in this batch), insert the report and its outbox row, and say which happened.
# Rows that were neither created nor found come back with ``id`` NULL and the owner's count
# of unfinished reports, including those ahead of it in the batch.
SUBMIT_BATCH = f"""
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::jsonb[], $5::text[],
                         $6::text[]) WITH ORDINALITY
           AS i(id, owner_id, type, params, trace_id, idempotency_key, n)
), existing AS (
    SELECT i.n, {_qualified("r")}
    FROM input i JOIN reports r
      ON i.idempotency_key IS NOT NULL
     AND r.owner_id = i.owner_id AND r.idempotency_key = i.idempotency_key
), load AS (
    SELECT owner_id, count(*) AS unfinished FROM reports
    WHERE owner_id IN (SELECT owner_id FROM input) AND status IN ('PENDING', 'PROCESSING')
    GROUP BY owner_id
), candidates AS (
    SELECT i.*, coalesce(l.unfinished, 0) AS unfinished,
           row_number() OVER (PARTITION BY i.owner_id ORDER BY i.n) AS place
    FROM input i LEFT JOIN load l USING (owner_id)
    WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.n = i.n)
), created AS (
    INSERT INTO reports (id, owner_id, type, params, trace_id, idempotency_key)
    SELECT id, owner_id, type, params, trace_id, idempotency_key FROM candidates
    WHERE unfinished + place <= $7
    ORDER BY n
    ON CONFLICT (owner_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING {REPORT_COLUMNS}
), queued AS (
    INSERT INTO outbox (report_id, generation) SELECT id, generation FROM created
)
SELECT i.n, coalesce(c.unfinished + c.place - 1, l.unfinished, 0) AS unfinished,
       found.is_new, {_qualified("found")}
FROM input i
LEFT JOIN load l USING (owner_id)
LEFT JOIN candidates c ON c.n = i.n
LEFT JOIN (
    SELECT j.n, true AS is_new, {_qualified("r")} FROM created r JOIN input j ON j.id = r.id
    UNION ALL
    SELECT e.n, false AS is_new, {_qualified("e")} FROM existing e
) AS found ON found.n = i.n
ORDER BY i.n
"""
REPORTS_BY_IDS = f"SELECT {REPORT_COLUMNS} FROM reports WHERE id = ANY($1::uuid[])"

REPORT_BY_ID = f"SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1"
OWN_REPORT_BY_ID = f"SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1 AND owner_id = $2"
REPORT_BY_IDEMPOTENCY_KEY = f"""
SELECT {REPORT_COLUMNS} FROM reports WHERE owner_id = $1 AND idempotency_key = $2
"""

CANCEL = f"""
WITH changed AS (
    UPDATE reports SET status = 'CANCELLED', finished_at = now(), updated_at = now()
    WHERE id = $1 AND owner_id = $2 AND status = 'PENDING'
    RETURNING {REPORT_COLUMNS}
)
SELECT true AS changed, {REPORT_COLUMNS} FROM changed
UNION ALL
SELECT false, {REPORT_COLUMNS} FROM reports
WHERE id = $1 AND owner_id = $2 AND NOT EXISTS (SELECT 1 FROM changed)
"""

_BACK_TO_PENDING = """
    status = 'PENDING', generation = generation + 1, failure_reason = NULL, progress = 0,
    queued_at = NULL, started_at = NULL, finished_at = NULL, worker = NULL, updated_at = now()
"""

# A retry starts a new generation: the worker treats ``report_id:generation`` as a new job.
# ``attempts`` is left alone, so it keeps counting every delivery the report ever had.
RETRY = f"""
WITH load AS ({_UNFINISHED}
), changed AS (
    UPDATE reports SET {_BACK_TO_PENDING}
    WHERE id = $1 AND owner_id = $2 AND status = 'FAILED'
      AND (SELECT unfinished FROM load) < $3
    RETURNING {REPORT_COLUMNS}
), queued AS (
    INSERT INTO outbox (report_id, generation) SELECT id, generation FROM changed
)
SELECT (SELECT unfinished FROM load) AS unfinished, true AS changed, {REPORT_COLUMNS}
FROM changed
UNION ALL
SELECT (SELECT unfinished FROM load), false, {REPORT_COLUMNS} FROM reports
WHERE id = $1 AND owner_id = $2 AND NOT EXISTS (SELECT 1 FROM changed)
"""

# Requeue of a dead-lettered job: only the generation that died may come back, and only while
# the report has not finished some other way since.
REQUEUE = f"""
WITH changed AS (
    UPDATE reports SET {_BACK_TO_PENDING}
    WHERE id = $1 AND generation = $2 AND status IN ('PENDING', 'PROCESSING', 'FAILED')
    RETURNING {REPORT_COLUMNS}
), queued AS (
    INSERT INTO outbox (report_id, generation) SELECT id, generation FROM changed
)
SELECT true AS changed, {REPORT_COLUMNS} FROM changed
UNION ALL
SELECT false, {REPORT_COLUMNS} FROM reports
WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM changed)
"""

STATUS_COUNTS = "SELECT status, count(*) AS n FROM reports GROUP BY status"

THROUGHPUT = """
SELECT m.minute,
       count(r.id) AS finished,
       count(r.id) FILTER (WHERE r.status = 'DONE') AS done,
       count(r.id) FILTER (WHERE r.status = 'FAILED') AS failed,
       count(r.id) FILTER (WHERE r.status = 'CANCELLED') AS cancelled
FROM generate_series(
         date_trunc('minute', now()) - make_interval(mins => $1 - 1),
         date_trunc('minute', now()),
         interval '1 minute'
     ) AS m(minute)
LEFT JOIN reports r
       ON r.finished_at >= m.minute AND r.finished_at < m.minute + interval '1 minute'
GROUP BY m.minute
ORDER BY m.minute
"""

INSERT_USER = """
INSERT INTO users (email, password_hash, role) VALUES ($1, $2, $3)
ON CONFLICT ((lower(email))) DO NOTHING
RETURNING id, email, role, created_at
"""
USER_BY_EMAIL = """
SELECT id, email, role, password_hash, created_at FROM users WHERE lower(email) = lower($1)
"""
USER_BY_ID = "SELECT id, email, role, created_at FROM users WHERE id = $1"
UPDATE_PASSWORD_HASH = "UPDATE users SET password_hash = $2 WHERE id = $1"


def list_reports(
    *,
    owner_id: int | None,
    statuses: Sequence[str] = (),
    report_types: Sequence[str] = (),
    after: tuple[object, object] | None,
    limit: int,
) -> tuple[str, list[object]]:
    """Builds the page query for the filters in use, newest first, keyset-paginated.

    A report matches when its status is any of ``statuses`` and its type any of
    ``report_types``; an empty sequence does not filter.

    Only the conditions in use appear in the text, so each combination gets its own prepared
    plan that can use the matching index (a catch-all ``$1 IS NULL OR …`` could not).
    """
    conditions: list[str] = []
    args: list[object] = []

    def add(template: str, *values: object) -> None:
        numbers = [f"${len(args) + i + 1}" for i in range(len(values))]
        conditions.append(template.format(*numbers))
        args.extend(values)

    if owner_id is not None:
        add("owner_id = {0}", owner_id)
    for column, values in (("status", statuses), ("type", report_types)):
        if not values:
            continue
        if len(values) == 1:
            add(f"{column} = {{0}}", values[0])
        else:
            add(f"{column} = ANY({{0}}::text[])", list(values))
    if after is not None:
        add("(created_at, id) < ({0}, {1})", *after)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    args.append(limit)
    sql = (f"SELECT {REPORT_COLUMNS} FROM reports {where} "
           f"ORDER BY created_at DESC, id DESC LIMIT ${len(args)}")
    return sql, args
