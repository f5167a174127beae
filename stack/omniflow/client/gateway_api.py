"""The HTTP calls the client and the monitor make, over one ``httpx.AsyncClient``.

Everything here is asynchronous, so a widget can run a request from a task on the kernel's
event loop and the notebook stays responsive while it waits. Each call either returns the
decoded answer or raises ``ApiError`` with a message fit for a person; nothing else escapes.
The bearer token from the last successful login is sent with every later request.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import httpx

from omniflow.client.problems import ApiError, error_from_response, unreachable
from omniflow.client.report import Report, ReportPage
from omniflow.contracts import ReportStatus
from omniflow.settings import get_settings

log = logging.getLogger("omniflow.client")

DEFAULT_TIMEOUT_S = 10.0


class GatewayApi:
    """A small asynchronous client of the gateway's HTTP API.

    Note that the API object owns a connection pool: call ``aclose()`` when done with it.
    """

    def __init__(self, base_url: str | None = None, *,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.base_url = (base_url or get_settings().gateway_url).rstrip("/")
        self.email: str | None = None
        self._token: str | None = None
        self.token_expires_at = 0.0
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout_s,
            headers={"Accept": "application/json, application/problem+json"},
        )

    @property
    def signed_in(self) -> bool:
        return self._token is not None

    @property
    def token(self) -> str | None:
        """The bearer token in use, to hand to another client of the same account."""
        return self._token

    async def aclose(self) -> None:
        await self._http.aclose()

    async def health(self) -> dict[str, Any]:
        """Asks the gateway whether it and the stores behind it are ready."""
        return await self._call("GET", "/health/ready", action="check the gateway", auth=False)

    async def signup(self, email: str, password: str) -> dict[str, Any]:
        """Creates a learner account; does not log in."""
        body = {"email": email, "password": password}
        return await self._call("POST", "/auth/signup", action="sign up", json=body, auth=False)

    async def login(self, email: str, password: str) -> None:
        """Exchanges the credentials for a token kept for the next requests."""
        body = {"email": email, "password": password}
        answer = await self._call("POST", "/auth/login", action="log in", json=body, auth=False)

        self._token = str(answer["access_token"])
        self.token_expires_at = time.time() + float(answer.get("expires_in") or 0)
        self.email = email
        log.info("logged in as %s", email)

    def use_token(self, token: str, *, email: str | None = None,
                  expires_at: float = 0.0) -> None:
        """Sends ``token`` from now on, e.g. one obtained with ``curl`` in an earlier lesson."""
        self._token = token
        self.token_expires_at = expires_at
        self.email = email

    def logout(self) -> None:
        """Forgets the token; the next request that needs one will be refused."""
        self._token = None
        self.token_expires_at = 0.0
        self.email = None

    async def submit_report(self, report_type: str, params: dict[str, Any], *,
                            idempotency_key: str | None = None) -> Report:
        """Asks for a report; the gateway answers at once with the report still PENDING.

        Note that sending the same ``idempotency_key`` again returns the first report instead
        of creating a second one, so a submit whose answer was lost can be repeated safely.
        """
        key = idempotency_key or uuid.uuid4().hex
        answer = await self._call(
            "POST", "/reports", action="submit the report",
            json={"type": report_type, "params": params},
            headers={"Idempotency-Key": key},
        )
        report = Report.from_json(answer)

        log.info("submitted report %s (%s)", report.id, report.type)
        return report

    async def list_reports(self, *, status: ReportStatus | str | None = None, limit: int = 20,
                           cursor: str | None = None) -> ReportPage:
        """Returns one page of my reports, newest first, optionally of one status only."""
        query: dict[str, Any] = {"limit": limit}
        if status:
            query["status"] = str(status)
        if cursor:
            query["cursor"] = cursor
        answer = await self._call("GET", "/reports", action="list the reports", params=query)
        items = tuple(Report.from_json(item) for item in answer.get("items", []))
        return ReportPage(items=items, next_cursor=answer.get("next_cursor"))

    async def get_report(self, report_id: str) -> Report:
        answer = await self._call("GET", f"/reports/{report_id}", action="read the report")
        return Report.from_json(answer)

    async def cancel_report(self, report_id: str) -> Report:
        """Cancels a report that no worker has started yet."""
        answer = await self._call("POST", f"/reports/{report_id}/cancel",
                                  action="cancel the report")
        log.info("cancelled report %s", report_id)
        return Report.from_json(answer)

    async def retry_report(self, report_id: str) -> Report:
        """Runs a failed report again, as a new generation."""
        answer = await self._call("POST", f"/reports/{report_id}/retry",
                                  action="retry the report")
        log.info("retried report %s", report_id)
        return Report.from_json(answer)

    async def get_json(self, path: str, *, action: str, params: dict[str, Any] | None = None,
                       ) -> Any:
        """Reads any JSON resource with the current token; the monitor's admin reads use it."""
        return await self._call("GET", path, action=action, params=params)

    async def _call(self, method: str, path: str, *, action: str, auth: bool = True,
                    **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", None) or {})
        if auth and self._token:
            headers["Authorization"] = f"Bearer {self._token}"

        try:
            response = await self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            log.info("%s %s failed: %s", method, path, exc.__class__.__name__)
            raise unreachable(self.base_url, exc) from None

        if response.is_error:
            error = error_from_response(response, action=action)
            log.info("%s %s answered %s", method, path, response.status_code)
            raise error
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"Could not {action}: the gateway's answer was not JSON.",
                           status=response.status_code) from None
