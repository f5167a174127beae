"""Execution records far over the size bound: cut by the stated rule, never a stuck report."""

from __future__ import annotations

import bson

from omniflow.logstore.truncate import RULE
from tests.worker import helpers

MIB = 1024 * 1024
SIZES_KIB = {"16MiB+1KiB": 16 * 1024 + 1, "18MiB": 18 * 1024, "48MiB": 48 * 1024}


async def test_oversized_execution_records_are_truncated_by_the_rule(
        pg, redis, mongo, settings, logdb, lane, owner, start_worker):
    worker = await start_worker(lane, worker_concurrency=1).ready()
    jobs = []
    for kib in SIZES_KIB.values():
        jobs += await helpers.make_reports(pg, owner, 1, params={"detail_kib": kib})
    [small] = await helpers.make_reports(pg, owner, 1)
    await helpers.publish(redis, lane, [*jobs, small])

    await helpers.wait_for(pg, [*jobs, small], {"DONE"}, timeout=90)

    for job in jobs:
        doc = await logdb.executions.find_one({"_id": job.report_id})
        marker = doc["truncated"]
        assert marker["rule"] == RULE
        assert marker["original_bytes"] > job.params["detail_kib"] * 1024 > 16 * MIB
        assert marker["kept_bytes"] <= settings.execution_max_bytes
        assert len(bson.encode(doc)) <= settings.execution_max_bytes
        assert "output" in marker["cut"]
        assert doc["output"]["preview"].startswith('{"regions":')
        assert doc["summary"]["orders"] > 0 and doc["input"] == job.params
        assert len(doc["steps"]) == marker["steps_total"]
    assert (await logdb.executions.find_one({"_id": small.report_id}))["truncated"] is None
    assert worker.proc.poll() is None  # still running
    assert await helpers.pending_count(redis, lane) == 0
