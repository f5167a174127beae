"""Accounts and addresses the client and monitor tests share."""

from __future__ import annotations

import secrets
import socket

from omniflow.client import ClientApp

PASSWORD = "a long enough password"


def unique_email(prefix: str = "client") -> str:
    return f"{prefix}-{secrets.token_hex(6)}@example.org"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def sign_up(app: ClientApp, email: str | None = None) -> str:
    """Creates an account by typing into the form and pressing "Sign up", as a person would."""
    email = email or unique_email()
    app.auth.email.value = email
    app.auth.password.value = PASSWORD
    app.auth.signup_button.click()
    await app.settle()
    assert app.api.signed_in, app.message.text
    return email
