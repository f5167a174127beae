"""A report's way through the worker, and the guards that keep every effect single."""

from __future__ import annotations

import asyncio
import time

from omniflow.worker import simulate
from tests.worker import helpers


async def test_reports_of_every_type_reach_done_with_one_record_each(
        pg, redis, logdb, lane, owner, start_worker):
    worker = await start_worker(lane).ready()
    jobs = [
        *await helpers.make_reports(pg, owner, 3),
        *await helpers.make_reports(pg, owner, 2, report_type="inventory_snapshot",
                                    params={"warehouse": "berlin-1"}),
        *await helpers.make_reports(pg, owner, 2, report_type="user_activity",
                                    params={"days": 14, "top": 5}),
    ]
    await helpers.publish(redis, lane, jobs)

    rows = await helpers.wait_for(pg, jobs, {"DONE"})

    for job in jobs:
        row = rows[job.report_id]
        assert (row["attempts"], row["progress"], row["worker"]) == (1, 100, worker.name)
        assert row["started_at"] <= row["finished_at"]
        doc = await logdb.executions.find_one({"_id": job.report_id})
        assert doc["status"] == "DONE" and doc["trace_id"] == job.trace_id
        assert doc["environment"]["worker"] == worker.name
        assert doc["input"] == job.params and doc["summary"] and doc["output"]
        assert [s["name"] for s in doc["steps"]] == [p[0] for p in simulate.PLANS[job.type]]
    await helpers.wait_until(lambda: _events_written(logdb, jobs), what="events")
    kinds = await logdb.events.distinct("kind", {"report_id": jobs[0].report_id})
    assert sorted(kinds) == ["done", "processing", "step"]
    await helpers.wait_until(lambda: _count_is(redis, worker.name, "processed", len(jobs)),
                             what="processed counter")
    assert await helpers.pending_count(redis, lane) == 0


async def _events_written(logdb, jobs) -> bool:
    done = await helpers.count(logdb.events,
        {"report_id": {"$in": [j.report_id for j in jobs]}, "kind": "done"})
    return done == len(jobs)


async def test_the_same_job_delivered_twice_has_one_effect(pg, redis, logdb, lane, owner,
                                                             start_worker):
    worker = await start_worker(lane, worker_concurrency=4).ready()
    [job] = await helpers.make_reports(pg, owner, 1)
    await helpers.publish(redis, lane, [job])
    await helpers.add_raw(redis, lane, job)  # a second entry with the same job
    await helpers.wait_for(pg, [job], {"DONE"})
    # Once DONE, another copy is acknowledged and skipped.
    await helpers.add_raw(redis, lane, job)

    await helpers.wait_until(lambda: _no_pending(redis, lane), what="all entries acked")
    await helpers.wait_until(lambda: _events_written(logdb, [job]), what="done event")
    row = (await helpers.reports(pg, [job]))[job.report_id]
    assert row["status"] == "DONE" and row["attempts"] == 1
    assert await helpers.count(logdb.executions, {"report_id": job.report_id}) == 1
    assert await helpers.count(logdb.events, {"report_id": job.report_id, "kind": "done"}) == 1
    await helpers.wait_until(lambda: _count_is(redis, worker.name, "processed", 1),
                             what="processed counter")
    await asyncio.sleep(0.5)  # a second increment would have been sent by now
    assert (await helpers.worker_counts(redis, worker.name))["processed"] == 1


async def _no_pending(redis, lane) -> bool:
    return await helpers.pending_count(redis, lane) == 0


async def test_cancelled_and_stale_jobs_are_acked_and_skipped(pg, redis, logdb, lane, owner,
                                                             start_worker):
    cancelled, requeued = await helpers.make_reports(pg, owner, 2)
    await pg.execute("UPDATE reports SET status = 'CANCELLED' WHERE id = $1::uuid",
                     cancelled.report_id)
    await pg.execute("UPDATE reports SET generation = 2 WHERE id = $1::uuid",
                     requeued.report_id)
    await start_worker(lane).ready()
    await helpers.publish(redis, lane, [cancelled, requeued])

    await helpers.wait_until(lambda: _no_pending_after_read(redis, lane), what="entries acked")
    rows = await helpers.reports(pg, [cancelled, requeued])
    assert rows[cancelled.report_id]["status"] == "CANCELLED"
    assert rows[requeued.report_id]["status"] == "PENDING"
    assert rows[requeued.report_id]["attempts"] == 0
    ids = [cancelled.report_id, requeued.report_id]
    assert await helpers.count(logdb.executions, {"_id": {"$in": ids}}) == 0


async def _no_pending_after_read(redis, lane) -> bool:
    groups = await redis.xinfo_groups(lane.jobs_stream)
    group = next(g for g in groups if g["name"] == lane.consumer_group)
    last = (await redis.xinfo_stream(lane.jobs_stream))["last-generated-id"]
    return group["pending"] == 0 and group["last-delivered-id"] == last


async def test_a_requeued_report_runs_again_as_a_new_generation(pg, redis, logdb, lane, owner,
                                                               start_worker):
    await start_worker(lane).ready()
    [first] = await helpers.make_reports(pg, owner, 1)
    await helpers.publish(redis, lane, [first])
    await helpers.wait_for(pg, [first], {"DONE"})

    # What the admin requeue does: back to PENDING as generation 2, with a new job.
    await pg.execute(
        "UPDATE reports SET status = 'PENDING', generation = generation + 1, progress = 0,"
        " finished_at = NULL WHERE id = $1::uuid", first.report_id)
    second = first.model_copy(update={"generation": 2})
    await helpers.publish(redis, lane, [second])
    await helpers.add_raw(redis, lane, first)  # a stray copy of generation 1 changes nothing

    row = (await helpers.wait_for(pg, [second], {"DONE"}))[first.report_id]
    assert (row["generation"], row["attempts"]) == (2, 2)
    doc = await logdb.executions.find_one({"_id": first.report_id})
    assert (doc["generation"], doc["job_id"]) == (2, second.job_id)
    await helpers.wait_until(lambda: _no_pending(redis, lane), what="all entries acked")
    assert await helpers.count(logdb.executions, {"report_id": first.report_id}) == 1


async def test_failed_attempts_are_retried_and_succeed_as_predicted(pg, redis, logdb, lane,
                                                                   owner, start_worker):
    rate, plan = 0.5, len(simulate.PLANS["user_activity"])
    jobs = await helpers.make_reports(pg, owner, 12, report_type="user_activity")
    # The failure pattern is a pure function of seed, report and attempt: predict it.
    expected = {}
    for job in jobs:
        attempt = 1
        while (simulate.attempt_fails(job.params["seed"], job.report_id, attempt, rate, plan)
               is not None and attempt < 3):
            attempt += 1
        fails = simulate.attempt_fails(job.params["seed"], job.report_id, attempt, rate, plan)
        expected[job.report_id] = ("DONE" if fails is None else "FAILED", attempt)
    assert any(status == "DONE" and n > 1 for status, n in expected.values())

    worker = await start_worker(lane, failure_rate=rate, worker_concurrency=12).ready()
    await helpers.publish(redis, lane, jobs)

    rows = await helpers.wait_for(pg, jobs, {"DONE", "FAILED"}, timeout=45)
    assert {r: (rows[r]["status"], rows[r]["attempts"]) for r in rows} == expected
    retried = sum(n - 1 for _, n in expected.values())
    await helpers.wait_until(
        lambda: _count_is(redis, worker.name, "retried", retried), what="retried counter")


async def _count_is(redis, name: str, counter: str, value: int) -> bool:
    return (await helpers.worker_counts(redis, name))[counter] == value


async def test_an_entry_that_is_not_a_job_is_dead_lettered_at_once(redis, lane, start_worker):
    await start_worker(lane).ready()
    bad = {"v": "1", "job_id": "not-a-uuid:1", "report_id": "not-a-uuid", "generation": "1",
           "type": "sales_summary", "params": "{}", "trace_id": "t",
           "submitted_at": "2026-01-01T00:00:00+00:00"}
    foreign = {"hello": "world"}
    await redis.xadd(lane.jobs_stream, bad)
    await redis.xadd(lane.jobs_stream, foreign)

    async def two_letters() -> bool:
        return await redis.xlen(lane.dead_stream) == 2
    await helpers.wait_until(two_letters, what="dead letters")
    letters = [fields for _, fields in await redis.xrange(lane.dead_stream)]
    assert all(f["reason"].startswith("malformed job") for f in letters)
    assert letters[1]["hello"] == "world" and letters[0]["deliveries"] == "1"
    await helpers.wait_until(lambda: _no_pending(redis, lane), what="entries acked")


async def test_workers_side_by_side_share_the_jobs_within_their_concurrency(
        pg, redis, lane, owner, start_worker):
    workers = [await start_worker(lane, worker_concurrency=3, work_scale=0.5).ready()
               for _ in range(2)]
    jobs = await helpers.make_reports(pg, owner, 16, report_type="user_activity")
    await helpers.publish(redis, lane, jobs)

    most: dict[str, int] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = (await helpers.reports(pg, jobs)).values()
        for worker in workers:
            running = sum(1 for r in rows
                          if r["status"] == "PROCESSING" and r["worker"] == worker.name)
            most[worker.name] = max(most.get(worker.name, 0), running)
        if all(r["status"] == "DONE" for r in rows):
            break
        await asyncio.sleep(0.05)

    assert all(r["status"] == "DONE" for r in rows)
    assert {r["worker"] for r in rows} == {w.name for w in workers}
    assert all(1 <= n <= 3 for n in most.values()), most
