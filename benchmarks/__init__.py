"""Benchmarks of the OmniFlow stack: ``python -m benchmarks [--quick]``.

Run them inside a throw-away stack, which is what ``make bench`` does::

    omniflow run --isolated -- python -m benchmarks --quick

The command measures the gateway, the workers (ours side by side with Celery and arq), the
broker's raw ceiling, end-to-end latency at fixed arrival rates, the log store's ingest rate and
the CPU cost of the live monitor; it prints a table, writes plots and a JSON record into
``benchmarks/results/`` and updates the table in ``docs/benchmarks.md``.

Note that this package must stay importable without the project's dependencies: the Celery and
arq contenders run from virtual environments of their own and import ``benchmarks.contenders``.
"""
