"""Sign-up, login and the dependencies that say who is calling.

Login accepts either a JSON body ``{"email", "password"}`` or the OAuth2 password form
(``application/x-www-form-urlencoded`` with ``username`` and ``password``), so both a script
and the interactive API docs' "Authorize" button can get a token. The form is decoded here
rather than by a multipart library: a password form is a single urlencoded line.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import parse_qs

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omniflow.gateway import database, queries
from omniflow.gateway.errors import ProblemError, field_errors
from omniflow.gateway.openapi import problems
from omniflow.gateway.resources import Resources, resources
from omniflow.gateway.schemas import CleanText, Credentials, Token, UserOut, json_response
from omniflow.gateway.security import (
    InvalidToken,
    Principal,
    hash_password,
    issue_token,
    needs_rehash,
    verify_password,
)
from omniflow.settings import Settings

log = logging.getLogger("omniflow.gateway.auth")

router = APIRouter(prefix="/auth", tags=["auth"])
bearer = OAuth2PasswordBearer(tokenUrl="/auth/login", auto_error=False)


class LoginInput(BaseModel):
    """What login reads from either body format."""

    model_config = ConfigDict(extra="forbid")

    # Cleaned like a sign-up email: a NUL or a lone surrogate cannot even be looked up.
    email: CleanText = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=128)


def _unauthorized(detail: str) -> ProblemError:
    # RFC 6750 section 3: say which scheme to use and why the token was refused.
    return ProblemError(
        401, detail, kind="unauthorized",
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{detail}"'},
    )


async def current_user(
    request: Request,
    token: Annotated[str | None, Depends(bearer)],
) -> Principal:
    """Reads the bearer token (header, or ``access_token`` query parameter for event streams)."""
    if token is None:
        token = request.query_params.get("access_token") if request.url.path == "/events" else None
    if not token:
        raise ProblemError(401, "this endpoint needs a bearer access token", kind="unauthorized",
                           headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = request.app.state.resources.tokens.read(token)
    except InvalidToken as exc:
        raise _unauthorized(str(exc)) from None
    request.scope["omniflow.user_id"] = principal.user_id
    return principal


async def require_admin(principal: Annotated[Principal, Depends(current_user)]) -> Principal:
    """Lets only admins through; a learner gets 403 (they are known, just not allowed)."""
    if not principal.is_admin:
        raise ProblemError(403, "this endpoint is for administrators", kind="forbidden")
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]
Admin = Annotated[Principal, Depends(require_admin)]
Res = Annotated[Resources, Depends(resources)]


@router.post(
    "/signup",
    status_code=201,
    response_model=UserOut,
    summary="Create a learner account",
    responses=problems(409, 422),
)
async def signup(body: Credentials, res: Res) -> UserOut:
    """Creates a learner account. The email is unique without regard to case."""
    password_hash = await hash_password(body.password)

    async def insert(conn: asyncpg.Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(queries.INSERT_USER, body.email, password_hash, "learner")

    # Not repeated once sent: a sign-up that went through would come back as "email taken".
    row = await database.run(res.pool, insert, repeatable=False, name="signup")
    if row is None:
        raise ProblemError(409, "an account with this email already exists",
                           kind="email-taken")
    log.info("signed up user %s", row["id"])
    return UserOut(**dict(row))


_LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": LoginInput.model_json_schema(),
                "example": {"email": "ada@example.org", "password": "correct horse battery"},
            },
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "username": {"type": "string", "description": "The email."},
                        "password": {"type": "string", "format": "password"},
                    },
                },
            },
        },
    }
}


@router.post(
    "/login",
    response_model=Token,
    summary="Exchange email and password for an access token",
    openapi_extra=_LOGIN_BODY,
    responses=problems(401, 422, 429),
)
async def login(request: Request, res: Res) -> Token:
    """Returns a bearer token. Attempts are limited per client address and email."""
    creds = await _read_login(request)
    client = request.client.host if request.client else "unknown"
    verdict = await res.limiter.hit(client, creds.email)
    if not verdict.allowed:
        log.warning("login rate limit reached for a client")
        raise ProblemError(
            429,
            f"too many login attempts; at most {res.settings.login_rate_per_minute} per minute "
            f"are allowed, try again in {verdict.retry_after_s} s",
            kind="rate-limited",
            headers={"Retry-After": str(verdict.retry_after_s)},
        )

    async def lookup(conn: asyncpg.Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(queries.USER_BY_EMAIL, creds.email)

    user = await database.run(res.pool, lookup, name="login")
    # The hash is checked whether or not the user exists, so timing tells nothing.
    ok = await verify_password(user["password_hash"] if user else None, creds.password)
    if not ok or user is None:
        raise ProblemError(401, "the email or the password is wrong", kind="bad-credentials",
                           headers={"WWW-Authenticate": "Bearer"})

    if needs_rehash(user["password_hash"]):
        await _upgrade_hash(res, user["id"], creds.password)
    token, ttl = issue_token(Principal(user["id"], user["role"]), res.secret,
                             res.settings.token_ttl_seconds)
    request.scope["omniflow.user_id"] = user["id"]
    return Token(access_token=token, expires_in=ttl)


@router.get("/me", response_model=UserOut, summary="Who the token belongs to",
            responses=problems(401, 404))
async def me(principal: CurrentUser, res: Res) -> object:
    """Returns the caller's account."""

    async def fetch(conn: asyncpg.Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(queries.USER_BY_ID, principal.user_id)

    row = await database.run(res.pool, fetch, name="me")
    if row is None:
        raise ProblemError(404, "this account no longer exists", kind="not-found")
    return json_response(UserOut(**dict(row)))


async def seed_admin(pool: asyncpg.Pool, settings: Settings) -> None:
    """Creates the configured admin account unless it exists; safe with several gateways."""
    password_hash = await hash_password(settings.admin_password.get_secret_value())
    async with pool.acquire() as conn:
        row = await conn.fetchrow(queries.INSERT_USER, settings.admin_email, password_hash,
                                  "admin")
        if row is not None:
            log.info("created the admin account %s", settings.admin_email)
            return
        existing = await conn.fetchrow(queries.USER_BY_EMAIL, settings.admin_email)
    if existing is not None and existing["role"] != "admin":
        log.warning("the admin email %s belongs to a %s account; it was left unchanged",
                    settings.admin_email, existing["role"])


async def _read_login(request: Request) -> LoginInput:
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/x-www-form-urlencoded":
            try:
                form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=8)
            except (UnicodeDecodeError, ValueError) as exc:
                raise ProblemError(400, "the login form could not be decoded",
                                   kind="bad-request") from exc
            fields = {key: values[-1] for key, values in form.items() if key != "grant_type"}
            if "username" in fields:
                fields["email"] = fields.pop("username")
            for extra in ("scope", "client_id", "client_secret"):
                fields.pop(extra, None)
            return LoginInput.model_validate(fields)
        return LoginInput.model_validate_json(body or b"null")
    except ValidationError as exc:
        errors = field_errors(exc.errors(include_url=False))
        raise ProblemError(422, "the login request is not valid", kind="validation-error",
                           errors=errors) from None


async def _upgrade_hash(res: Resources, user_id: int, password: str) -> None:
    new_hash = await hash_password(password)

    async def update(conn: asyncpg.Connection) -> None:
        await conn.execute(queries.UPDATE_PASSWORD_HASH, user_id, new_hash)

    await database.run(res.pool, update, name="rehash")
