"""Sign up and log in: the token the gateway returns is what every later request carries."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

import ipywidgets as widgets

from omniflow.client.background import Background
from omniflow.client.gateway_api import GatewayApi
from omniflow.client.messages import MessageArea

log = logging.getLogger("omniflow.client")

_LABEL = {"description_width": "6em"}


class AuthPanel:
    """An email and a password, and buttons to sign up, log in and log out."""

    def __init__(self, api: GatewayApi, background: Background, message: MessageArea, *,
                 on_change: Callable[[], None] | None = None) -> None:
        self._api = api
        self._background = background
        self._message = message
        self._on_change = on_change

        self.email = widgets.Text(description="email", placeholder="you@example.org",
                                  style=_LABEL)
        self.password = widgets.Password(description="password", placeholder="8 characters or more",
                                         style=_LABEL)
        self.signup_button = widgets.Button(description="Sign up", icon="user-plus")
        self.login_button = widgets.Button(description="Log in", button_style="primary",
                                           icon="sign-in")
        self.logout_button = widgets.Button(description="Log out", icon="sign-out",
                                            disabled=True)
        self.who = widgets.HTML("Not signed in.")
        self.widget = widgets.VBox([
            widgets.HTML("<h4>Account</h4>"),
            widgets.HBox([self.email, self.password]),
            widgets.HBox([self.signup_button, self.login_button, self.logout_button, self.who]),
        ])

        self.signup_button.on_click(
            lambda _b: self._background.spawn(self.sign_up(), name="sign up"))
        self.login_button.on_click(
            lambda _b: self._background.spawn(self.log_in(), name="log in"))
        self.logout_button.on_click(lambda _b: self.log_out())

    async def sign_up(self) -> bool:
        """Creates the account named in the form, then logs in with it."""
        email, password = self._credentials()
        if not email:
            return False
        self._busy(True)
        try:
            await self._api.signup(email, password)
            await self._api.login(email, password)
        finally:
            self._busy(False)
        self._signed_in(f"Account created: signed in as {email}.")
        return True

    async def log_in(self) -> bool:
        email, password = self._credentials()
        if not email:
            return False
        self._busy(True)
        try:
            await self._api.login(email, password)
        finally:
            self._busy(False)
        self._signed_in(f"Signed in as {email}.")
        return True

    def log_out(self) -> None:
        self._api.logout()
        self.who.value = "Not signed in."
        self.logout_button.disabled = True
        self._message.info("Signed out.")
        if self._on_change is not None:
            self._on_change()

    def _credentials(self) -> tuple[str, str]:
        email, password = self.email.value.strip(), self.password.value
        if not email or not password:
            self._message.error("Enter an email and a password first.")
            return "", ""
        return email, password

    def _busy(self, busy: bool) -> None:
        self.signup_button.disabled = busy
        self.login_button.disabled = busy

    def _signed_in(self, text: str) -> None:
        self.password.value = ""
        self.who.value = f"Signed in as <b>{html.escape(self._api.email or '')}</b>."
        self.logout_button.disabled = False
        self._message.success(text)
        if self._on_change is not None:
            self._on_change()
