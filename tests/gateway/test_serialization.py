"""Report responses serialize without a single Pydantic warning.

A serializer warning is printed to the gateway's log for every response that triggers it, so
one wrong field type floods the log. This runs the application in-process, where the test can
see the warnings, and goes through every route that answers with a report.
"""

from __future__ import annotations

import warnings

import httpx

from omniflow.gateway.app import create_app
from omniflow.settings import Settings
from tests.gateway.conftest import retire
from tests.helpers import bearer, login, signup_and_login


async def test_report_responses_emit_no_serializer_warning(settings: Settings, pg) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=30,
    ) as client:
        user = bearer(await signup_and_login(client))
        admin = bearer(await login(client, settings.admin_email,
                                   settings.admin_password.get_secret_value()))
        body = {"type": "user_activity", "params": {"days": 2}}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            created = await client.post("/reports", headers={**user, "Idempotency-Key": "k-1"},
                                        json=body)
            report_id = created.json()["id"]
            answers = [
                created,
                await client.post("/reports", headers={**user, "Idempotency-Key": "k-1"},
                                  json=body),
                await client.get("/reports", headers=user),
                await client.get(f"/reports/{report_id}", headers=user),
                await client.post(f"/reports/{report_id}/cancel", headers=user),
                await client.get("/reports?status=CANCELLED", headers=user),
                await client.get(f"/admin/reports/{report_id}", headers=admin),
                await client.get("/admin/reports?limit=5", headers=admin),
            ]
        owner = (await client.get("/auth/me", headers=user)).json()["id"]
        await retire(pg, [owner])

    # The cancel is 409 if a worker of the stack started the report first.
    assert [a.status_code for a in answers] == [202, 200, 200, 200,
                                                answers[4].status_code, 200, 200, 200]
    assert answers[4].status_code in {200, 409}
    assert answers[3].json()["status"] in {"PENDING", "PROCESSING", "DONE", "CANCELLED"}
    assert [str(w.message) for w in caught] == []
