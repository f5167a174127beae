"""The worker under faults: killed, stopped, poisoned, its broker restarted or emptied."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time

import asyncpg
import psutil
import pytest

from omniflow import signals
from tests.worker import helpers


async def _processing_by(pg, jobs, name: str) -> bool:
    rows = await helpers.reports(pg, jobs)
    return all(r["status"] == "PROCESSING" and r["worker"] == name for r in rows.values())


async def test_a_killed_workers_job_completes_on_another_without_new_traffic(
        pg, redis, logdb, lane, owner, start_worker):
    # A job takes a few seconds; its CPU step runs in a pool process.
    doomed = await start_worker(lane, work_scale=3, cpu_pool_size=1).ready()
    [job] = await helpers.make_reports(pg, owner, 1)
    await helpers.publish(redis, lane, [job])
    await helpers.wait_until(lambda: _processing_by(pg, [job], doomed.name), what="job started")
    await helpers.wait_until(lambda: _progress_over(pg, job, 0), what="progress written")

    children = psutil.Process(doomed.pid).children()
    assert children, "the pool process has started"

    doomed.kill()
    rescuer = await start_worker(lane).ready()  # nothing else is published from here on

    row = (await helpers.wait_for(pg, [job], {"DONE"}, timeout=20))[job.report_id]
    assert (row["worker"], row["attempts"]) == (rescuer.name, 2)
    assert "reclaimed entry" in rescuer.log_text()
    assert await helpers.count(logdb.executions, {"report_id": job.report_id}) == 1
    doc = await logdb.executions.find_one({"_id": job.report_id})
    assert (doc["attempt"], doc["deliveries"], doc["worker"]) == (2, 2, rescuer.name)
    await helpers.wait_until(lambda: _has_events(logdb, job, "done", 1), what="done event")
    # The killed worker's events of the last ~100 ms may be lost with it; the rescuer's are not.
    assert await helpers.count(logdb.events,
        {"report_id": job.report_id, "kind": "processing", "attempt": 2}) == 1
    assert await helpers.pending_count(redis, lane) == 0
    # The killed worker's pool processes did not outlive it.
    _, alive = await asyncio.to_thread(psutil.wait_procs, children, timeout=5)
    assert not alive


async def _progress_over(pg, job, percent: int) -> bool:
    row = (await helpers.reports(pg, [job]))[job.report_id]
    return row["status"] == "PROCESSING" and row["progress"] > percent


async def _no_pending(redis, lane) -> bool:
    return await helpers.pending_count(redis, lane) == 0


async def _has_events(logdb, job, kind: str, count: int) -> bool:
    found = await helpers.count(logdb.events, {"report_id": job.report_id, "kind": kind})
    return found == count


async def test_a_poison_job_is_dead_lettered_after_max_attempts(
        pg, redis, logdb, lane, owner, start_worker):
    worker = await start_worker(lane, max_attempts=3).ready()
    [job] = await helpers.make_reports(pg, owner, 1, params={"poison": True})
    [entry_id] = await helpers.publish(redis, lane, [job])

    row = (await helpers.wait_for(pg, [job], {"FAILED"}, timeout=20))[job.report_id]
    assert row["attempts"] == 3 and "poison payload" in row["failure_reason"]

    await helpers.wait_until(lambda: _no_pending(redis, lane), what="the entry acked")
    [(_, letter)] = await redis.xrange(lane.dead_stream)
    assert letter["job_id"] == job.job_id and letter["source_id"] == entry_id
    assert letter["deliveries"] == "3" and letter["consumer"] == worker.name
    assert "poison payload" in letter["reason"] and letter["dead_at"]
    assert await helpers.pending_count(redis, lane) == 0
    doc = await logdb.executions.find_one({"_id": job.report_id})
    assert doc["status"] == "FAILED" and "poison payload" in doc["reason"]
    await helpers.wait_until(lambda: _has_events(logdb, job, "failed", 1), what="failed event")
    assert await helpers.count(logdb.events,
        {"report_id": job.report_id, "kind": "attempt_failed"}) == 3
    assert [e["attempt"] for e in doc["errors"]] == [1, 2, 3]
    await helpers.wait_until(lambda: _counts(redis, worker.name, dead_lettered=1, failed=3),
                             what="counters")


async def _counts(redis, name: str, **expected: int) -> bool:
    counts = await helpers.worker_counts(redis, name)
    return all(counts[key] == value for key, value in expected.items())


async def test_sigterm_lets_jobs_in_flight_finish_then_exits_0(
        pg, redis, lane, owner, start_worker):
    worker = await start_worker(lane, work_scale=1.5, shutdown_grace_s=10).ready()
    jobs = await helpers.make_reports(pg, owner, 3)
    await helpers.publish(redis, lane, jobs)
    await helpers.wait_until(lambda: _processing_by(pg, jobs, worker.name), what="jobs started")

    began = time.monotonic()
    worker.terminate()
    assert await asyncio.to_thread(worker.wait, 20) == 0
    assert time.monotonic() - began < 10 + 3

    rows = await helpers.reports(pg, jobs)
    assert {r["status"] for r in rows.values()} == {"DONE"}
    assert await helpers.pending_count(redis, lane) == 0
    assert f"worker {worker.name} stopped" in worker.log_text()
    # It left the consumer group, holding nothing, and said goodbye to the monitor.
    consumers = await redis.xinfo_consumers(lane.jobs_stream, lane.consumer_group)
    assert worker.name not in [c["name"] for c in consumers]
    assert not await redis.sismember(signals.WORKERS_KEY, worker.name)
    assert not await redis.exists(signals.worker_key(worker.name))


async def test_sigterm_releases_unfinished_jobs_for_other_workers_at_once(
        pg, redis, lane, owner, start_worker):
    idle_ms = 20_000  # without the release, nobody could take the job for 20 s
    slow = await start_worker(lane, work_scale=30, shutdown_grace_s=0.5,
                              claim_idle_ms=idle_ms).ready()
    [job] = await helpers.make_reports(pg, owner, 1)
    await helpers.publish(redis, lane, [job])
    await helpers.wait_until(lambda: _processing_by(pg, [job], slow.name), what="job started")

    slow.terminate()
    assert await asyncio.to_thread(slow.wait, 10) == 0
    assert "released 1 unfinished entries" in slow.log_text()

    began = time.monotonic()
    other = await start_worker(lane, claim_idle_ms=idle_ms).ready()
    row = (await helpers.wait_for(pg, [job], {"DONE"}, timeout=15))[job.report_id]
    assert row["worker"] == other.name and row["attempts"] == 2
    assert time.monotonic() - began < idle_ms / 1000


async def test_an_emptied_broker_is_recovered_and_pending_reports_complete_once(
        pg, redis, logdb, lane, owner, start_worker, logs_dir):
    worker = await start_worker(lane).ready()
    os.kill(worker.pid, signal.SIGSTOP)  # hold it still while the broker loses everything
    try:
        jobs = await helpers.make_reports(pg, owner, 3)
        await helpers.publish(redis, lane, jobs)
        await redis.flushall()
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    relay = _start_relay(lane, logs_dir)
    try:
        rows = await helpers.wait_for(pg, jobs, {"DONE"}, timeout=30)
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(15)

    assert "recreating it" in worker.log_text()
    assert {r["attempts"] for r in rows.values()} == {1}
    for job in jobs:
        assert await helpers.count(logdb.executions, {"report_id": job.report_id}) == 1


def _start_relay(lane, logs_dir) -> subprocess.Popen:
    env = {
        **os.environ,
        "OMNIFLOW_JOBS_STREAM": lane.jobs_stream,
        "OMNIFLOW_CONSUMER_GROUP": lane.consumer_group,
        "OMNIFLOW_REPUBLISH_AFTER_S": "1",
        "OMNIFLOW_RELAY_POLL_S": "0.2",
    }
    log = (logs_dir / "relay.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "omniflow.relay"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


@pytest.fixture
def stack():
    from omniflow.launcher.stack import Stack

    stack = Stack.from_env()
    if not stack.is_running():
        pytest.skip("restarting a store needs the launcher's stack (omniflow run --isolated)")
    return stack


DATABASE_DOWN = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                 asyncpg.InternalClientError)


@pytest.mark.parametrize("service", ["redis", "postgres", "mongo"])
async def test_no_accepted_report_is_lost_when_a_store_restarts_under_load(
        pg, redis, logdb, settings, owner, start_worker, stack, service):
    # Reports go through the outbox, as the gateway writes them; the stack's relay publishes
    # them to the shared stream, read by the stack's workers and one of ours.
    ours = await start_worker(settings, work_scale=0.05).ready()
    accepted: list = []

    async def submit_for(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            # A submit that fails while the database is down was not accepted.
            with contextlib.suppress(*DATABASE_DOWN):
                accepted.extend(await helpers.make_reports(pg, owner, 2, outbox=True))
            await asyncio.sleep(0.1)

    submitting = asyncio.create_task(submit_for(8))
    await asyncio.sleep(2)
    await asyncio.to_thread(stack.restart, service)
    await submitting

    await helpers.wait_for(pg, accepted, {"DONE"}, timeout=90)
    ids = [j.report_id for j in accepted]
    assert await helpers.count(logdb.executions, {"_id": {"$in": ids}}) == len(accepted)
    assert ours.proc.poll() is None, "the worker must ride out the restart, not exit"


async def _lose_deliveries(redis, lane, entry_id: str, count: int) -> None:
    """Delivers ``entry_id`` to ``count`` consumers that die without acknowledging it."""
    await redis.xreadgroup(lane.consumer_group, "lost-1", {lane.jobs_stream: ">"}, count=1)
    for n in range(2, count + 1):
        await redis.xclaim(lane.jobs_stream, lane.consumer_group, f"lost-{n}", 0, [entry_id])


async def test_a_job_whose_workers_keep_dying_is_dead_lettered_without_running_again(
        pg, redis, logdb, lane, owner, start_worker):
    [job] = await helpers.make_reports(pg, owner, 1)
    [entry_id] = await helpers.publish(redis, lane, [job])
    # Three deliveries to workers that never acknowledged (they died mid-job).
    await _lose_deliveries(redis, lane, entry_id, 3)

    await start_worker(lane, max_deliveries=3).ready()

    row = (await helpers.wait_for(pg, [job], {"FAILED"}, timeout=15))[job.report_id]
    assert row["attempts"] == 0  # the fourth delivery did not run it again
    assert "delivered 3 times without finishing" in row["failure_reason"]
    await helpers.wait_until(lambda: _no_pending(redis, lane), what="the entry acked")
    [(_, letter)] = await redis.xrange(lane.dead_stream)
    assert (letter["source_id"], letter["deliveries"]) == (entry_id, "4")


async def test_workers_dying_under_a_job_do_not_use_up_its_attempts(
        pg, redis, logdb, lane, owner, start_worker):
    [job] = await helpers.make_reports(pg, owner, 1)
    [entry_id] = await helpers.publish(redis, lane, [job])
    await _lose_deliveries(redis, lane, entry_id, 3)

    await start_worker(lane, max_attempts=3, max_deliveries=10).ready()

    row = (await helpers.wait_for(pg, [job], {"DONE"}, timeout=15))[job.report_id]
    assert row["attempts"] == 1
    doc = await logdb.executions.find_one({"_id": job.report_id})
    assert doc["status"] == "DONE" and doc["deliveries"] == 4
    await helpers.wait_until(lambda: _no_pending(redis, lane), what="the entry acked")


async def test_only_failed_attempts_count_towards_max_attempts(
        pg, redis, logdb, lane, owner, start_worker):
    [job] = await helpers.make_reports(pg, owner, 1, params={"poison": True})
    [entry_id] = await helpers.publish(redis, lane, [job])
    await _lose_deliveries(redis, lane, entry_id, 2)

    await start_worker(lane, max_attempts=3, max_deliveries=10).ready()

    row = (await helpers.wait_for(pg, [job], {"FAILED"}, timeout=20))[job.report_id]
    assert row["attempts"] == 3 and "3 of 3 attempts failed" in row["failure_reason"]
    await helpers.wait_until(lambda: _no_pending(redis, lane), what="the entry acked")
    [(_, letter)] = await redis.xrange(lane.dead_stream)
    assert letter["deliveries"] == "5"


async def test_a_pending_entry_deleted_from_the_stream_is_acked_by_the_reclaim(
        pg, redis, lane, owner, start_worker):
    [job] = await helpers.make_reports(pg, owner, 1)
    [entry_id] = await helpers.publish(redis, lane, [job])
    await redis.xreadgroup(lane.consumer_group, "lost", {lane.jobs_stream: ">"}, count=1)
    await redis.xdel(lane.jobs_stream, entry_id)

    worker = await start_worker(lane).ready()

    await helpers.wait_until(lambda: _no_pending(redis, lane), what="the deleted entry acked")
    assert "deleted from the stream" in worker.log_text()
