"""The worker: turns jobs from the Redis stream into finished reports.

Each worker process reads the jobs stream as one consumer of a shared group, runs the simulated
work for each report, records the execution in the log store and moves the report through its
lifecycle in PostgreSQL. A job is acknowledged only once all of that is done, so a worker can die
at any moment without losing one; every effect is idempotent, so a job delivered twice still
has one effect. See ``docs/worker.md``.
"""
