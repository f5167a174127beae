"""Accounts, tokens, roles and the login rate limit."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from omniflow.gateway.security import Principal, issue_token
from omniflow.settings import Settings
from tests.gateway.conftest import User, assert_problem
from tests.helpers import PASSWORD, bearer, signup, unique_email


async def test_signup_login_and_me(http) -> None:
    email = unique_email()

    account = await signup(http, email)
    token = (await http.post("/auth/login", json={"email": email, "password": PASSWORD})).json()
    me = await http.get("/auth/me", headers=bearer(token["access_token"]))

    assert account["role"] == "learner" and "password" not in str(account)
    assert token["token_type"] == "bearer" and token["expires_in"] > 0
    assert me.json()["id"] == account["id"]


async def test_login_accepts_the_oauth2_password_form(http) -> None:
    email = unique_email()
    await signup(http, email)

    response = await http.post("/auth/login", data={"username": email, "password": PASSWORD,
                                                    "grant_type": "password"})

    assert response.status_code == 200, response.text
    assert response.json()["access_token"]


async def test_email_is_unique_without_regard_to_case(http) -> None:
    email = unique_email()
    await signup(http, email)

    again = await http.post("/auth/signup", json={"email": email.upper(), "password": PASSWORD})

    assert_problem(again, 409)


@pytest.mark.parametrize("who", ["wrong password", "unknown email"])
async def test_bad_credentials_are_401_without_saying_which(http, alice: User, who) -> None:
    email = alice.email if who == "wrong password" else unique_email()

    response = await http.post("/auth/login", json={"email": email, "password": "not-it-at-all"})

    body = assert_problem(response, 401)
    assert body["detail"] == "the email or the password is wrong"


async def test_login_is_rate_limited_per_client_and_email(http, settings: Settings) -> None:
    email = unique_email()
    await signup(http, email)
    wrong = {"email": email, "password": "wrong-password"}
    if time.time() % 60 > 50:  # The window is a clock minute: start in a fresh one.
        await asyncio.sleep(61 - time.time() % 60)

    answers = [await http.post("/auth/login", json=wrong)
               for _ in range(settings.login_rate_per_minute)]
    limited = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
    other = await http.post("/auth/login", json={"email": unique_email(), "password": "x" * 8})

    assert {a.status_code for a in answers} == {401}
    body = assert_problem(limited, 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert "per minute" in body["detail"]
    assert other.status_code == 401  # Another email from the same address is not blocked.


def _token(settings: Settings, user_id: int, ttl: int, secret: str | None = None) -> str:
    secret = secret or settings.secret_key.get_secret_value()
    return issue_token(Principal(user_id, "learner"), secret, ttl)[0]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("expired", "expired"),
        ("forged", "signature"),
        ("malformed", "malformed"),
        ("none-algorithm", "malformed"),
        ("admin-claim-forged", "signature"),
    ],
)
async def test_bad_tokens_are_401_with_www_authenticate(http, settings, alice: User, case,
                                                        reason) -> None:
    tokens = {
        "expired": _token(settings, alice.id, ttl=-30),
        "forged": _token(settings, alice.id, ttl=600, secret="not-the-secret-" * 3),
        "malformed": "abc.def.ghi",
        "none-algorithm": jwt.encode({"sub": str(alice.id), "role": "admin"}, key=None,
                                     algorithm="none"),
        "admin-claim-forged": _forge_role(alice.token),
    }

    response = await http.get("/reports", headers=bearer(tokens[case]))

    body = assert_problem(response, 401)
    assert reason in body["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_missing_token_is_401(http) -> None:
    response = await http.get("/reports")

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def _forge_role(token: str) -> str:
    """Rewrites the payload to claim the admin role, keeping the old signature."""
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["role"] = "admin"
    forged = jwt.encode(claims, "whatever-key-" * 3, algorithm="HS256").split(".")[1]
    return ".".join([header, forged, signature])


ADMIN_ROUTES = [
    ("GET", "/admin/reports"),
    ("GET", "/admin/stats/status"),
    ("GET", "/admin/stats/throughput"),
    ("GET", "/admin/broker"),
    ("GET", "/admin/dead-letters"),
    ("POST", "/admin/dead-letters/1-0/requeue"),
    ("DELETE", "/admin/dead-letters/1-0"),
    ("GET", "/admin/reports/00000000-0000-4000-8000-000000000000"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES, ids=[p for _, p in ADMIN_ROUTES])
async def test_learner_gets_403_on_admin_routes(http, alice: User, method, path) -> None:
    response = await http.request(method, path, headers=alice.headers)

    assert_problem(response, 403)


async def test_admin_is_seeded_from_settings(http, admin: User) -> None:
    me = await http.get("/auth/me", headers=admin.headers)

    assert me.json()["role"] == "admin"
