"""Password hashing and access tokens.

Passwords are hashed with Argon2id (argon2-cffi), the winner of the Password Hashing
Competition: it is deliberately slow and memory-hungry, so a stolen table is expensive to
crack. That cost is CPU time, so hashing runs in a worker thread behind a small limiter and
never stalls the event loop that serves everyone else.

Access tokens are JWTs signed with HS256 (pyjwt). They carry the user id and role, so checking
a request needs no database lookup; the price is that a role change or a deleted account only
takes effect when the token expires.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass

import anyio
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ISSUER = "omniflow-gateway"
ALGORITHM = "HS256"
ROLES = ("learner", "admin")

# OWASP's recommended minimum for Argon2id: 19 MiB, two passes, one lane. One lane keeps each
# hash on one core, so the limiter below decides how many cores hashing may use at once.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Two hashes at a time keep both cores useful without a queue of hashes starving requests.
_hash_limiter = anyio.CapacityLimiter(2)
# Verified when the email is unknown, so that login costs the same either way.
_DUMMY_HASH = _hasher.hash(uuid.uuid4().hex)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as the access token says."""

    user_id: int
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class InvalidToken(Exception):
    """The token is missing, malformed, forged or expired; the message says which."""


async def hash_password(password: str) -> str:
    """Returns the Argon2id hash of ``password``, computed off the event loop."""
    return await anyio.to_thread.run_sync(_hasher.hash, password, limiter=_hash_limiter)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Checks ``password``; with no hash (unknown user) it does the same work and says no."""

    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check, limiter=_hash_limiter)


def needs_rehash(password_hash: str) -> bool:
    """Tells whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def issue_token(principal: Principal, secret: str, ttl_s: int) -> tuple[str, int]:
    """Signs an access token for ``principal``; returns it with its lifetime in seconds."""
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": str(principal.user_id),
        "role": principal.role,
        "iss": ISSUER,
        "iat": now,
        "exp": now + dt.timedelta(seconds=ttl_s),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), ttl_s


class TokenCache:
    """Remembers recently verified tokens, so a client's next request skips the JWT checks.

    The key is the whole token, signature included, so only a token that passed every check
    can hit; a hit is still refused once the token's own expiry passes.
    """

    def __init__(self, secret: str, size: int = 4096) -> None:
        self._secret = secret
        self._size = size
        self._verified: dict[str, tuple[Principal, float]] = {}

    def read(self, token: str) -> Principal:
        """Like ``read_token``, from memory when this token was verified before."""
        hit = self._verified.get(token)
        if hit is not None:
            principal, expires = hit
            if time.time() < expires:
                return principal
            del self._verified[token]
        principal, expires = _verify(token, self._secret)
        if len(self._verified) >= self._size:
            self._verified.pop(next(iter(self._verified)))  # The oldest entry.
        self._verified[token] = (principal, expires)
        return principal


def read_token(token: str, secret: str) -> Principal:
    """Verifies signature, issuer and expiry; raises ``InvalidToken`` with the reason."""
    return _verify(token, secret)[0]


def _verify(token: str, secret: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("the access token has expired") from exc
    except jwt.InvalidSignatureError as exc:
        raise InvalidToken("the access token signature is not valid") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("the access token is malformed") from exc

    role = claims.get("role")
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError) as exc:
        raise InvalidToken("the access token names no valid user") from exc
    if role not in ROLES:
        raise InvalidToken("the access token carries an unknown role")
    return Principal(user_id=user_id, role=role), float(claims["exp"])
