"""The admin API: every report, counts, throughput, broker state and dead letters."""

from __future__ import annotations

import uuid

import pytest

from omniflow.gateway.admin import latency_summary
from omniflow.settings import Settings
from tests.gateway.conftest import User, assert_problem
from tests.gateway.test_reports import park


async def test_status_counts_cover_every_status(http, admin: User, pg, alice: User) -> None:
    await park(pg, alice.id, status="FAILED")

    body = (await http.get("/admin/stats/status", headers=admin.headers)).json()

    assert set(body["counts"]) == {"PENDING", "PROCESSING", "DONE", "FAILED", "CANCELLED"}
    assert body["counts"]["FAILED"] >= 1
    assert body["total"] == sum(body["counts"].values())


async def test_throughput_counts_reports_finished_per_minute(http, admin, pg, alice) -> None:
    [report_id] = await park(pg, alice.id)
    await pg.execute("UPDATE reports SET status = 'DONE', finished_at = now() WHERE id = $1",
                     uuid.UUID(report_id))

    minutes = (await http.get("/admin/stats/throughput?minutes=5",
                              headers=admin.headers)).json()["minutes"]

    assert len(minutes) == 5
    assert minutes[-1]["finished"] >= 1 and minutes[-1]["done"] >= 1
    assert minutes == sorted(minutes, key=lambda m: m["minute"])


async def test_throughput_window_is_validated(http, admin: User) -> None:
    response = await http.get("/admin/stats/throughput?minutes=0", headers=admin.headers)

    assert_problem(response, 422, "query.minutes")


async def test_broker_state(http, admin: User) -> None:
    body = (await http.get("/admin/broker", headers=admin.headers)).json()

    for key in ("queue_length", "pending", "consumer_lag", "dead_letters", "workers"):
        assert key in body
    assert set(body["latency"]) == {"samples", "p50_ms", "p95_ms", "p99_ms"}


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([], (None, None, None)),
        ([5.0], (5.0, 5.0, 5.0)),
        ([float(n) for n in range(1, 101)], (50.0, 95.0, 99.0)),
        ([float(n) for n in range(200, 0, -1)], (100.0, 190.0, 198.0)),
    ],
    ids=["empty", "one", "hundred", "unsorted"],
)
def test_latency_percentiles_are_nearest_rank(samples, expected) -> None:
    summary = latency_summary(samples)

    assert (summary.p50_ms, summary.p95_ms, summary.p99_ms) == expected
    assert summary.samples == len(samples)


async def test_admin_lists_everyones_reports_with_filters(http, admin, pg, alice, bob) -> None:
    [mine] = await park(pg, alice.id, status="FAILED")
    await park(pg, bob.id, status="FAILED")

    page = (await http.get(f"/admin/reports?owner_id={alice.id}&status=FAILED",
                           headers=admin.headers)).json()
    one = await http.get(f"/admin/reports/{mine}", headers=admin.headers)

    assert [r["id"] for r in page["items"]] == [mine]
    assert one.json()["owner_id"] == alice.id


async def dead_letter(redis, settings: Settings, report_id: str, generation: int = 1) -> str:
    """Writes a dead letter the way the worker does."""
    return await redis.xadd(settings.dead_stream, {
        "v": "1", "job_id": f"{report_id}:{generation}", "report_id": report_id,
        "generation": str(generation), "type": "user_activity", "params": "{}",
        "trace_id": "dead-trace", "submitted_at": "2026-12-05T09:30:00+00:00",
        "reason": "poison report: always fails", "deliveries": "3",
        "dead_at": "2026-12-05T09:31:00+00:00",
    })


async def test_requeue_a_dead_letter_once(http, admin, pg, redis, settings, alice) -> None:
    [report_id] = await park(pg, alice.id, status="FAILED")
    entry = await dead_letter(redis, settings, report_id)

    listed = (await http.get("/admin/dead-letters", headers=admin.headers)).json()["items"]
    first = await http.post(f"/admin/dead-letters/{entry}/requeue", headers=admin.headers)
    second = await http.post(f"/admin/dead-letters/{entry}/requeue", headers=admin.headers)

    letter = next(item for item in listed if item["entry_id"] == entry)
    assert (letter["report_id"], letter["reason"], letter["deliveries"]) == (
        report_id, "poison report: always fails", 3)
    assert first.status_code == 202, first.text
    assert (first.json()["status"], first.json()["generation"]) == ("PENDING", 2)
    outbox = await pg.fetch("SELECT generation FROM outbox WHERE report_id = $1",
                            uuid.UUID(report_id))
    assert [row["generation"] for row in outbox] == [2]
    assert await redis.xrange(settings.dead_stream, min=entry, max=entry) == []
    assert_problem(second, 409)


async def test_stale_dead_letter_is_409_and_can_be_discarded(http, admin, pg, redis, settings,
                                                            alice) -> None:
    [report_id] = await park(pg, alice.id, status="DONE")
    entry = await dead_letter(redis, settings, report_id)

    refused = await http.post(f"/admin/dead-letters/{entry}/requeue", headers=admin.headers)
    discarded = await http.delete(f"/admin/dead-letters/{entry}", headers=admin.headers)
    again = await http.delete(f"/admin/dead-letters/{entry}", headers=admin.headers)

    assert "DONE" in assert_problem(refused, 409)["detail"]
    assert discarded.status_code == 204
    assert_problem(again, 404)


async def test_unknown_dead_letter_is_404_and_a_bad_id_422(http, admin: User) -> None:
    unknown = await http.post("/admin/dead-letters/1-1/requeue", headers=admin.headers)
    malformed = await http.post("/admin/dead-letters/abc/requeue", headers=admin.headers)

    assert_problem(unknown, 404)
    assert_problem(malformed, 422, "path.entry_id")
