"""The notebook helpers that need no running stack: messages, tables, waiting."""

from __future__ import annotations

import pytest

from omniflow import labkit
from omniflow.launcher.ports import free_ports


@pytest.fixture
def nothing_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    """Points every OMNIFLOW_* URL at ports where nothing listens."""
    pg, redis, mongo, gateway = free_ports(4)
    monkeypatch.setenv("OMNIFLOW_DATABASE_URL", f"postgresql://omniflow@127.0.0.1:{pg}/omniflow")
    monkeypatch.setenv("OMNIFLOW_REDIS_URL", f"redis://127.0.0.1:{redis}/0")
    monkeypatch.setenv("OMNIFLOW_MONGO_URL", f"mongodb://127.0.0.1:{mongo}/")
    monkeypatch.setenv("OMNIFLOW_GATEWAY_URL", f"http://127.0.0.1:{gateway}")


def test_a_stack_that_is_down_says_to_run_make_lab(
    nothing_listens: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(labkit.StackNotUp) as caught:
        labkit.check_stack(wait_s=0)

    message = str(caught.value)
    assert "run `make lab`" in message
    assert "not answering: postgres, redis, mongo, gateway, workers" in message
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed] == ["postgres", "redis", "mongo", "gateway",
                                                      "workers"]
    assert all("DOWN" in line for line in printed)


def test_a_notebook_shows_the_message_without_a_traceback() -> None:
    lines = labkit.StackNotUp("The stack is not up: run `make lab`.")._render_traceback_()

    assert len(lines) == 1
    assert "run `make lab`" in lines[0]


def test_only_the_needed_parts_are_checked(
    nothing_listens: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(labkit.StackNotUp, match="not answering: redis"):
        labkit.check_stack(need=["redis"], wait_s=0)

    assert capsys.readouterr().out.startswith("redis")


def test_table_aligns_columns_and_shows_missing_values(capsys: pytest.CaptureFixture[str]) -> None:
    labkit.table([{"step": "load_orders", "ms": 12.5}, {"step": "render", "ms": None}])

    assert capsys.readouterr().out.splitlines() == [
        "step         ms",
        "-----------  ----",
        "load_orders  12.5",
        "render       -",
    ]


def test_wait_until_returns_the_first_truthy_value_or_says_what_did_not_happen() -> None:
    values = iter([None, 0, "ready"])
    assert labkit.wait_until(lambda: next(values), poll_s=0) == "ready"

    with pytest.raises(TimeoutError, match="the sky to fall"):
        labkit.wait_until(lambda: False, timeout=0.05, poll_s=0.01, what="the sky to fall")


def test_unique_names_do_not_repeat() -> None:
    names = {labkit.unique_name("lab:test") for _ in range(100)}

    assert len(names) == 100
    assert all(name.startswith("lab:test:") for name in names)
