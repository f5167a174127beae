"""Whatever goes wrong is shown in the app as a sentence, never as a traceback."""

from __future__ import annotations

import datetime as dt
import html

import pytest

from omniflow.client import ClientApp
from omniflow.settings import Settings
from tests.client.accounts import PASSWORD, sign_up, unique_email


def assert_readable(app: ClientApp) -> None:
    assert app.message.level == "error"
    assert "Traceback" not in app.message.text
    assert html.escape(app.message.text) in app.message.widget.value


@pytest.mark.parametrize(
    ("report_type", "values", "field", "reason"),
    [
        pytest.param("sales_summary", {"start_date": dt.date(2026, 3, 1),
                                       "end_date": dt.date(2026, 1, 1)},
                     "end_date", "end_date must not be before start_date", id="dates-reversed"),
        pytest.param("inventory_snapshot", {"warehouse": "north dock!"}, "warehouse",
                     "String should match pattern", id="warehouse-pattern"),
        pytest.param("user_activity", {"days": 0}, "days",
                     "Input should be greater than or equal to 1", id="days-too-small"),
        pytest.param("sales_summary", {"start_date": None}, "start_date", "Field required",
                     id="date-missing"),
    ],
)
async def test_a_bad_form_is_refused_beside_the_field(
    signed_in: ClientApp, report_type: str, values: dict, field: str, reason: str
) -> None:
    app = signed_in
    app.form.type.value = report_type
    app.form.params.set_values(**values)

    app.form.process.click()
    await app.settle()

    assert_readable(app)
    assert app.message.text.startswith(f"Please fix the form: {field}: {reason}")
    assert reason in app.form.params.problems[field].value
    assert app.form.report is None  # Nothing was sent.
    others = [name for name in app.form.params.problems if name != field]
    assert all(app.form.params.problems[name].value == "" for name in others)


async def test_a_wrong_password_is_shown(app: ClientApp) -> None:
    email = await sign_up(app)
    app.auth.log_out()

    app.auth.email.value = email
    app.auth.password.value = "not the password"
    app.auth.login_button.click()
    await app.settle()

    assert_readable(app)
    assert app.message.text == "Could not log in: the email or the password is wrong."
    assert not app.api.signed_in
    assert app.auth.who.value == "Not signed in."


async def test_too_many_logins_are_shown_with_the_wait(app: ClientApp,
                                                       settings: Settings) -> None:
    app.auth.email.value = unique_email("guess")
    # The limit counts in fixed one-minute windows, so a run that straddles a window boundary
    # needs up to twice the budget before it is refused.
    for _ in range(2 * settings.login_rate_per_minute + 2):
        app.auth.password.value = "a wrong guess"
        app.auth.login_button.click()
        await app.settle()
        if app.message.text.startswith("Too many requests"):
            break

    assert_readable(app)
    assert app.message.text.startswith("Too many requests, slow down: too many login attempts")
    assert "try again in" in app.message.text


async def test_an_unreachable_gateway_is_shown(offline_app: ClientApp) -> None:
    app = offline_app
    app.auth.email.value = unique_email()
    app.auth.password.value = PASSWORD

    app.auth.login_button.click()
    await app.settle()

    assert_readable(app)
    assert app.message.text.startswith(f"Cannot reach the gateway at {app.api.base_url}.")
    assert "make lab" in app.message.text
    assert not app.auth.login_button.disabled  # Ready for another try.


async def test_a_refused_token_is_shown(app: ClientApp) -> None:
    app.api.use_token("this-is-not-a-token")

    app.table.refresh_button.click()
    await app.settle()

    assert_readable(app)
    assert app.message.text.startswith("You are not signed in, or your session has expired")


async def test_submitting_before_logging_in_is_explained(app: ClientApp) -> None:
    app.form.type.value = "user_activity"
    app.form.process.click()
    await app.settle()

    assert_readable(app)
    assert app.message.text == "Log in (or sign up) first: reports belong to an account."


async def test_markup_in_an_error_is_shown_as_text(offline_app: ClientApp) -> None:
    offline_app.message.error("<b>not bold</b>")
    assert "&lt;b&gt;not bold&lt;/b&gt;" in offline_app.message.widget.value
