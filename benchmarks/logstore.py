"""Log store ingest: documents per second into the embedded MongoDB, one by one and batched.

The documents are shaped like the worker's events (about 350 bytes of BSON) and go into a
scratch collection that is dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from pymongo import AsyncMongoClient

from benchmarks.harness import Harness

BATCHES = (1, 100, 1000, 5000)


def _docs(count: int) -> list[dict[str, Any]]:
    job = uuid.uuid4().hex
    now = dt.datetime.now(dt.UTC)
    return [{"_id": f"{job}:{i}", "report_id": job, "generation": 1, "job_id": f"{job}:1",
             "trace_id": job, "kind": "step", "ts": now, "worker": "bench",
             "data": {"name": "load_sessions", "step_kind": "io", "index": i % 3,
                      "duration_ms": 1.5}}
            for i in range(count)]


async def run_all(h: Harness, quick: bool, echo) -> dict[str, Any]:  # noqa: ANN001
    total = 2_000 if quick else 10_000
    client: AsyncMongoClient = AsyncMongoClient(h.settings.mongo_url, tz_aware=True)
    collection = client[h.settings.mongo_db][f"bench_ingest_{uuid.uuid4().hex[:8]}"]
    rows = []
    try:
        for batch in BATCHES:
            count = min(total, 1_000) if batch == 1 else total
            docs = _docs(count)
            began = time.perf_counter()
            if batch == 1:
                for doc in docs:
                    await collection.insert_one(doc)
            else:
                for start in range(0, count, batch):
                    await collection.insert_many(docs[start:start + batch], ordered=False)
            seconds = time.perf_counter() - began
            rows.append({"batch": batch, "documents": count,
                         "docs_per_s": round(count / seconds, 0)})
            echo(f"  batch {batch:>5}: {rows[-1]['docs_per_s']:8.0f} docs/s")
    finally:
        await collection.drop()
        await client.close()
    return {"rows": rows}
