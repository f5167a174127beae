"""Queues the benchmark's jobs for one contender: ``python -m benchmarks.contenders.produce``.

Reads a JSON list of job field maps (our stream contract) and queues each as one task, in the
way each library's documentation shows: ``send_task`` for Celery, ``enqueue_job`` for arq.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time


def celery(jobs: list[dict[str, str]]) -> None:
    from benchmarks.contenders.celery_app import app

    with app.producer_or_acquire() as producer:
        for fields in jobs:
            app.send_task("bench.run_job", args=[fields], producer=producer)


async def arq(jobs: list[dict[str, str]]) -> None:
    from arq import create_pool
    from arq.connections import RedisSettings

    queue = os.environ.get("BENCH_QUEUE", "arq:queue")
    pool = await create_pool(RedisSettings.from_dsn(os.environ["OMNIFLOW_REDIS_URL"]),
                             default_queue_name=queue)
    try:
        for fields in jobs:
            await pool.enqueue_job("run_job", fields, _job_id=fields["job_id"])
    finally:
        await pool.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=["celery", "arq"])
    parser.add_argument("jobs_file")
    args = parser.parse_args()
    with open(args.jobs_file) as f:
        jobs = json.load(f)
    started = time.perf_counter()
    if args.contender == "celery":
        celery(jobs)
    else:
        asyncio.run(arq(jobs))
    print(json.dumps({"queued": len(jobs), "seconds": round(time.perf_counter() - started, 3)}))


if __name__ == "__main__":
    main()
