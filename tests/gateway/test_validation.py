"""Bad input of every kind is a 4xx problem naming the field and the reason, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.gateway.conftest import User, assert_problem

SALES = {"region": "north", "start_date": "2026-01-01", "end_date": "2026-03-31"}


def report(type: object = "sales_summary", **params: object) -> dict:
    return {"type": type, "params": {**SALES, **params} if type == "sales_summary" else params}


def raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


SUBMIT_CASES = [
    # (id, body, field)
    ("missing-type", {"params": {}}, "type"),
    ("type-not-a-string", {"type": 5, "params": {}}, "type"),
    ("unknown-type", {"type": "pie_chart", "params": {}}, "type"),
    ("emoji-type", {"type": "\U0001f4c8", "params": {}}, "type"),
    ("type-too-long", {"type": "x" * 65, "params": {}}, "type"),
    ("params-not-an-object", {"type": "user_activity", "params": [1, 2]}, "params"),
    ("extra-top-level-field", {**report(), "owner_id": 1}, "owner_id"),
    ("extra-param", report("user_activity", bogus=1), "params.bogus"),
    ("type-inside-params", {"type": "user_activity", "params": {"type": "sales_summary"}},
     "params.type"),
    ("int-as-word", report("user_activity", days="seven"), "params.days"),
    ("int-fraction", report("user_activity", days=7.5), "params.days"),
    ("int-too-small", report("user_activity", days=0), "params.days"),
    ("int-too-large", report("user_activity", top=10_000), "params.top"),
    ("seed-overflow", report("user_activity", seed=2**40), "params.seed"),
    ("bad-date", report(start_date="2026-02-30"), "params.start_date"),
    ("not-a-date", report(start_date="yesterday"), "params.start_date"),
    ("dates-reversed", report(start_date="2026-05-01", end_date="2026-04-01"),
     "params.end_date"),
    ("range-too-long", report(start_date="2024-01-01", end_date="2026-01-01"), "params"),
    ("missing-dates", {"type": "sales_summary", "params": {}}, "params.start_date"),
    ("unknown-region", report(region="atlantis"), "params.region"),
    ("warehouse-too-long", report("inventory_snapshot", warehouse="W" * 65),
     "params.warehouse"),
    ("warehouse-sql-injection", report("inventory_snapshot",
                                       warehouse="x'; DROP TABLE reports; --"),
     "params.warehouse"),
    ("warehouse-fullwidth", report("inventory_snapshot", warehouse="\uff37\uff21\uff32"),
     "params.warehouse"),
    ("warehouse-rtl-override", report("inventory_snapshot", warehouse="ab\u202ecd"),
     "params.warehouse"),
    ("warehouse-nul", report("inventory_snapshot", warehouse="a\x00b"), "params.warehouse"),
    ("warehouse-empty", report("inventory_snapshot", warehouse=""), "params.warehouse"),
    ("body-is-a-list", [1, 2, 3], "body"),
    ("body-is-null", None, "body"),
]


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in SUBMIT_CASES],
                         ids=[c[0] for c in SUBMIT_CASES])
async def test_submit_rejects(http, alice: User, body, field) -> None:
    response = await http.post("/reports", headers={**alice.headers,
                                                    "content-type": "application/json"},
                               content=json.dumps(body))

    assert_problem(response, 422, field)


RAW_CASES = [
    ("not-json", b"this is not json", "body", 422),
    ("truncated-json", b'{"type": "user_activity", "params": {', "body", 422),
    ("empty-body", b"", "body", 422),
    ("lone-surrogate", raw('{"type":"inventory_snapshot","params":{"warehouse":"\\ud800"}}'),
     "params.warehouse", 422),
    ("invalid-utf8", b'{"type": "\xff\xfe", "params": {}}', "body", 400),
    ("deeply-nested", b'{"type":"user_activity","params":{"a":' + b"[" * 30_000
     + b"]" * 30_000 + b"}}", "body", 400),
]


@pytest.mark.parametrize(("content", "field", "status"), [c[1:] for c in RAW_CASES],
                         ids=[c[0] for c in RAW_CASES])
async def test_submit_rejects_raw_bodies(http, alice: User, content, field, status) -> None:
    response = await http.post("/reports", content=content,
                               headers={**alice.headers, "content-type": "application/json"})

    assert_problem(response, status, field)


async def test_deep_nesting_within_the_parameters_is_refused(http, alice: User) -> None:
    nested: object = 1
    for _ in range(200):
        nested = {"a": nested}

    response = await http.post("/reports", headers=alice.headers,
                               json={"type": "user_activity", "params": {"a": nested}})

    assert_problem(response, 422, "params.a")


HEADER_CASES = [
    ("key-too-long", "k" * 201),
    ("key-with-space", "two words"),
]


@pytest.mark.parametrize("key", [c[1] for c in HEADER_CASES], ids=[c[0] for c in HEADER_CASES])
async def test_bad_idempotency_key(http, alice: User, key) -> None:
    response = await http.post("/reports", headers={**alice.headers, "Idempotency-Key": key},
                               json=report())

    assert_problem(response, 422, "header.Idempotency-Key")


QUERY_CASES = [
    ("limit-zero", "limit=0", "query.limit"),
    ("limit-too-big", "limit=101", "query.limit"),
    ("limit-not-a-number", "limit=ten", "query.limit"),
    ("unknown-status", "status=LOST", "query.status"),
    ("lowercase-status", "status=pending", "query.status"),
    ("garbage-cursor", "cursor=not-a-cursor", "query.cursor"),
    ("tampered-cursor", "cursor=MjAyNi0xMi0wNVQwOTozMDowMC4xMjBa", "query.cursor"),
    ("cursor-too-long", "cursor=" + "A" * 300, "query.cursor"),
    ("type-too-long", "type=" + "t" * 65, "query.type"),
]


@pytest.mark.parametrize(("query", "field"), [c[1:] for c in QUERY_CASES],
                         ids=[c[0] for c in QUERY_CASES])
async def test_list_rejects_bad_pagination(http, alice: User, query, field) -> None:
    response = await http.get(f"/reports?{query}", headers=alice.headers)

    assert_problem(response, 422, field)


@pytest.mark.parametrize("report_id", ["not-a-uuid", "1", "00000000-0000-0000-0000"])
async def test_bad_report_id_in_the_path(http, alice: User, report_id) -> None:
    response = await http.get(f"/reports/{report_id}", headers=alice.headers)

    assert_problem(response, 422, "path.report_id")


SIGNUP_CASES = [
    ("not-an-email", {"email": "ada", "password": "long enough pw"}, "email"),
    ("email-with-space", {"email": "a da@example.org", "password": "long enough pw"}, "email"),
    ("email-control-char", {"email": "ada\n@example.org", "password": "long enough pw"},
     "email"),
    ("email-too-long", {"email": "a" * 250 + "@x.org", "password": "long enough pw"}, "email"),
    ("password-too-short", {"email": "ada@example.org", "password": "short"}, "password"),
    ("password-too-long", {"email": "ada@example.org", "password": "p" * 129}, "password"),
    ("missing-password", {"email": "ada@example.org"}, "password"),
    ("asks-for-admin-role", {"email": "ada@example.org", "password": "long enough pw",
                             "role": "admin"}, "role"),
    ("password-not-a-string", {"email": "ada@example.org", "password": 12345678}, "password"),
]


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in SIGNUP_CASES],
                         ids=[c[0] for c in SIGNUP_CASES])
async def test_signup_rejects(http, body, field) -> None:
    response = await http.post("/auth/signup", json=body)

    assert_problem(response, 422, field)


async def test_signup_rejects_a_lone_surrogate_password(http) -> None:
    body = raw('{"email":"sur@example.org","password":"abcdefgh\\udc00"}')

    response = await http.post("/auth/signup", content=body,
                               headers={"content-type": "application/json"})

    assert_problem(response, 422, "password")


LOGIN_CASES = [
    ("json-missing-password", {"json": {"email": "ada@example.org"}}, "password"),
    ("json-not-json", {"content": b"{{", "headers": {"content-type": "application/json"}},
     "body"),
    ("form-missing-username", {"data": {"password": "x"}}, "email"),
    ("json-extra-field", {"json": {"email": "a@b.org", "password": "x", "admin": True}},
     "admin"),
]


@pytest.mark.parametrize(("kwargs", "field"), [c[1:] for c in LOGIN_CASES],
                         ids=[c[0] for c in LOGIN_CASES])
async def test_login_rejects(http, kwargs, field) -> None:
    response = await http.post("/auth/login", **kwargs)

    assert_problem(response, 422, field)
