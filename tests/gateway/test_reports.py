"""Submitting, reading, listing, cancelling and retrying reports, and who may do it."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from omniflow.settings import Settings
from tests.gateway.conftest import User, assert_problem, new_user
from tests.helpers import submit

SALES = {"region": "north", "start_date": "2026-01-01", "end_date": "2026-03-31"}


async def park(pg: asyncpg.Pool, owner_id: int, count: int = 1,
               status: str = "PENDING") -> list[str]:
    """Creates reports straight in the database, with no job: no worker will ever touch them.

    Tests about PENDING-only actions use these, so a running worker cannot race them.
    """
    ids = []
    for _ in range(count):
        report_id = await pg.fetchval(
            "INSERT INTO reports (owner_id, type, params, status, trace_id, created_at) "
            "VALUES ($1, 'user_activity', '{}'::jsonb, $2, 'parked', clock_timestamp()) "
            "RETURNING id", owner_id, status)
        ids.append(str(report_id))
    return ids


async def test_submit_saves_report_and_outbox_row_together(http, pg: asyncpg.Pool,
                                                           alice: User) -> None:
    response = await http.post("/reports", headers=alice.headers,
                               json={"type": "sales_summary", "params": SALES})

    assert response.status_code == 202, response.text
    report = response.json()
    assert report["status"] == "PENDING" and report["generation"] == 1
    assert report["params"]["region"] == "north" and report["params"]["seed"] == 0
    assert report["trace_id"] == response.headers["x-trace-id"]
    assert response.headers["location"] == f"/reports/{report['id']}"
    outbox = await pg.fetch("SELECT generation FROM outbox WHERE report_id = $1",
                            uuid.UUID(report["id"]))
    assert [row["generation"] for row in outbox] == [1]


async def test_incoming_trace_id_is_stored_on_the_report(http, alice: User) -> None:
    response = await http.post("/reports", headers={**alice.headers, "X-Trace-Id": "lab-trace-42"},
                               json={"type": "user_activity", "params": {}})

    assert response.json()["trace_id"] == "lab-trace-42"


async def test_read_shows_status_and_timestamps(http, alice: User) -> None:
    report = await submit(http, alice.token)

    response = await http.get(f"/reports/{report['id']}", headers=alice.headers)

    body = response.json()
    for field in ("status", "progress", "attempts", "failure_reason", "created_at",
                  "queued_at", "started_at", "finished_at"):
        assert field in body
    assert body["id"] == report["id"]


async def test_list_pages_newest_first_and_filters_by_status(http, pg, alice: User) -> None:
    ids = await park(pg, alice.id, 5)
    await http.post(f"/reports/{ids[0]}/cancel", headers=alice.headers)

    first = (await http.get("/reports?limit=2", headers=alice.headers)).json()
    second = (await http.get(f"/reports?limit=2&cursor={first['next_cursor']}",
                             headers=alice.headers)).json()
    third = (await http.get(f"/reports?limit=2&cursor={second['next_cursor']}",
                            headers=alice.headers)).json()
    cancelled = (await http.get("/reports?status=CANCELLED", headers=alice.headers)).json()

    paged = [r["id"] for page in (first, second, third) for r in page["items"]]
    assert paged == list(reversed(ids))
    assert third["next_cursor"] is None
    assert [r["id"] for r in cancelled["items"]] == [ids[0]]


async def test_a_repeated_filter_matches_any_of_its_values(http, pg, alice: User) -> None:
    [done] = await park(pg, alice.id, status="DONE")
    [failed] = await park(pg, alice.id, status="FAILED")
    await park(pg, alice.id, status="PENDING")
    await pg.execute("UPDATE reports SET type = 'sales_summary' WHERE id = $1",
                     uuid.UUID(failed))

    both = (await http.get("/reports?status=DONE&status=FAILED", headers=alice.headers))
    first = (await http.get("/reports?status=FAILED&status=DONE&limit=1",
                            headers=alice.headers)).json()
    second = (await http.get(f"/reports?status=FAILED&status=DONE&limit=1"
                             f"&cursor={first['next_cursor']}", headers=alice.headers)).json()
    by_type = (await http.get("/reports?type=sales_summary&type=inventory_snapshot",
                              headers=alice.headers)).json()
    both_filters = (await http.get("/reports?status=DONE&status=FAILED&type=user_activity",
                                   headers=alice.headers)).json()

    assert both.status_code == 200, both.text
    assert [r["id"] for r in both.json()["items"]] == [failed, done]
    assert [r["id"] for r in first["items"] + second["items"]] == [failed, done]
    assert second["next_cursor"] is None
    assert [r["id"] for r in by_type["items"]] == [failed]
    assert [r["id"] for r in both_filters["items"]] == [done]


@pytest.mark.parametrize("path", ["/reports", "/admin/reports"])
async def test_an_unknown_type_filter_is_422_naming_the_field(http, alice: User, admin: User,
                                                              path: str) -> None:
    who = admin if path.startswith("/admin") else alice
    for query in ("type=nope", "type=user_activity&type=nope"):
        response = await http.get(f"{path}?{query}", headers=who.headers)
        body = assert_problem(response, 422, "query.type")
        assert "user_activity" in body["errors"][0]["reason"]
    status = await http.get(f"{path}?status=DONE&status=LOST", headers=who.headers)
    assert_problem(status, 422, "query.status")


async def test_cancel_a_pending_report_once(http, pg, alice: User) -> None:
    [report_id] = await park(pg, alice.id)

    first = await http.post(f"/reports/{report_id}/cancel", headers=alice.headers)
    second = await http.post(f"/reports/{report_id}/cancel", headers=alice.headers)

    assert first.status_code == 200
    assert first.json()["status"] == "CANCELLED" and first.json()["finished_at"]
    body = assert_problem(second, 409)
    assert "CANCELLED" in body["detail"]


async def test_retry_a_failed_report_starts_a_new_generation(http, pg, alice: User) -> None:
    [parked] = await park(pg, alice.id)
    report_id = uuid.UUID(parked)
    await pg.execute("UPDATE reports SET status = 'FAILED', failure_reason = 'boom', "
                     "attempts = 3, finished_at = now() WHERE id = $1", report_id)

    response = await http.post(f"/reports/{parked}/retry", headers=alice.headers)
    again = await http.post(f"/reports/{parked}/retry", headers=alice.headers)

    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["status"], body["generation"], body["attempts"]) == ("PENDING", 2, 3)
    assert body["failure_reason"] is None and body["finished_at"] is None
    outbox = await pg.fetch("SELECT generation FROM outbox WHERE report_id = $1 ORDER BY 1",
                            report_id)
    assert [row["generation"] for row in outbox] == [2]
    assert_problem(again, 409)


async def test_retry_of_a_report_that_did_not_fail_is_409(http, pg, alice: User) -> None:
    [report_id] = await park(pg, alice.id)

    response = await http.post(f"/reports/{report_id}/retry", headers=alice.headers)

    assert "PENDING" in assert_problem(response, 409)["detail"]


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("POST", "/cancel"), ("POST", "/retry")],
    ids=["read", "cancel", "retry"],
)
async def test_another_users_report_is_404(http, pg, alice: User, bob: User, method,
                                           suffix) -> None:
    [report_id] = await park(pg, alice.id, status="FAILED")

    as_bob = await http.request(method, f"/reports/{report_id}{suffix}", headers=bob.headers)
    unknown = await http.request(method, f"/reports/{uuid.uuid4()}{suffix}", headers=bob.headers)

    assert_problem(as_bob, 404)
    assert as_bob.json()["detail"] == assert_problem(unknown, 404)["detail"]
    still = await http.get(f"/reports/{report_id}", headers=alice.headers)
    assert still.json()["status"] == "FAILED"


async def test_lists_show_only_the_callers_reports(http, alice: User, bob: User) -> None:
    await submit(http, alice.token)
    await submit(http, bob.token)

    mine = (await http.get("/reports", headers=bob.headers)).json()["items"]

    assert {r["owner_id"] for r in mine} == {bob.id}


async def test_same_idempotency_key_returns_the_first_report(http, pg, alice: User) -> None:
    headers = {**alice.headers, "Idempotency-Key": "order-1"}
    body = {"type": "sales_summary", "params": SALES}

    first = await http.post("/reports", headers=headers, json=body)
    second = await http.post("/reports", headers=headers, json=body)

    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    count = await pg.fetchval("SELECT count(*) FROM reports WHERE owner_id = $1", alice.id)
    assert count == 1


async def test_concurrent_duplicates_create_one_report(http, pg, settings: Settings,
                                                       alice: User) -> None:
    headers = {**alice.headers, "Idempotency-Key": f"burst-{uuid.uuid4()}"}
    body = {"type": "user_activity", "params": {"days": 3}}

    async with httpx.AsyncClient(base_url=settings.gateway_url, timeout=30) as client:
        responses = await asyncio.gather(*(client.post("/reports", headers=headers, json=body)
                                           for _ in range(20)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 19 + [202], [r.text for r in responses if r.status_code >= 300]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await pg.fetchval("SELECT count(*) FROM reports WHERE owner_id = $1", alice.id) == 1
    assert await pg.fetchval("SELECT count(*) FROM outbox WHERE report_id = $1",
                             uuid.UUID(responses[0].json()["id"])) == 1


async def test_idempotency_key_reused_for_another_request_is_409(http, alice: User) -> None:
    headers = {**alice.headers, "Idempotency-Key": "order-2"}
    await http.post("/reports", headers=headers, json={"type": "user_activity", "params": {}})

    response = await http.post("/reports", headers=headers,
                               json={"type": "user_activity", "params": {"days": 9}})

    assert "different request" in assert_problem(response, 409)["detail"]


async def test_the_same_key_is_independent_per_user(http, alice: User, bob: User) -> None:
    a = await submit(http, alice.token, idempotency_key="shared-key")
    b = await submit(http, bob.token, idempotency_key="shared-key")

    assert a["id"] != b["id"]


async def test_unfinished_limit_is_429_with_a_reason(http, pg, settings: Settings) -> None:
    user = await new_user(http)
    limit = settings.max_unfinished_reports
    await park(pg, user.id, limit - 1, status="PROCESSING")
    await submit(http, user.token)

    refused = await http.post("/reports", headers=user.headers,
                              json={"type": "user_activity", "params": {}})
    body = assert_problem(refused, 429)
    assert f"at most {limit}" in body["detail"] and "unfinished" in body["detail"]

    await pg.execute("UPDATE reports SET status = 'DONE' WHERE id = (SELECT id FROM reports "
                     "WHERE owner_id = $1 AND status = 'PROCESSING' LIMIT 1)", user.id)
    accepted = await http.post("/reports", headers=user.headers,
                               json={"type": "user_activity", "params": {}})
    assert accepted.status_code == 202


async def test_the_unfinished_limit_holds_exactly_under_a_burst_of_concurrent_submits(
        http, pg, settings: Settings) -> None:
    user = await new_user(http)
    room = 10
    await park(pg, user.id, settings.max_unfinished_reports - room, status="PROCESSING")

    answers = await asyncio.gather(*(
        http.post("/reports", headers=user.headers, json={"type": "user_activity", "params": {}})
        for _ in range(room * 6)))

    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(202) == room and statuses.count(429) == room * 5, statuses
    unfinished = await pg.fetchval("SELECT count(*) FROM reports WHERE owner_id = $1 AND "
                                   "status IN ('PENDING', 'PROCESSING')", user.id)
    assert unfinished <= settings.max_unfinished_reports


async def test_trace_id_travels_into_the_job(http, pg, redis, settings: Settings,
                                             alice: User) -> None:
    response = await http.post("/reports", headers={**alice.headers, "X-Trace-Id": "follow-me-1"},
                               json={"type": "user_activity", "params": {}})
    report_id = response.json()["id"]

    async with asyncio.timeout(20):
        while not await pg.fetchval("SELECT queued_at FROM reports WHERE id = $1",
                                    uuid.UUID(report_id)):
            await asyncio.sleep(0.2)
    entries = await redis.xrevrange(settings.jobs_stream, count=2000)

    job = next(fields for _, fields in entries if fields["report_id"] == report_id)
    assert job["trace_id"] == "follow-me-1"
    assert job["job_id"] == f"{report_id}:1"
