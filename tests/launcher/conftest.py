"""Fixtures and markers of the launcher tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .helpers import Env, discard, new_env


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "launcher: starts real stacks with the omniflow launcher")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/launcher" in str(item.path):
            item.add_marker("launcher")


@pytest.fixture
def make_env() -> Iterator[Callable[..., Env]]:
    """``new_env`` for one test; every stack it made is stopped and deleted afterwards."""
    made: list[Env] = []

    def make(**settings: str) -> Env:
        made.append(new_env(**settings))
        return made[-1]

    yield make
    for env in made:
        discard(env)
