"""What notebooks import is re-exported in one place, and every exported name exists."""

from __future__ import annotations

import pytest

import omniflow.client
import omniflow.monitor


@pytest.mark.parametrize("package", [omniflow.client, omniflow.monitor],
                         ids=lambda package: package.__name__)
def test_every_exported_name_exists(package: object) -> None:
    exported = package.__all__
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert getattr(package, name) is not None, name


def test_the_apps_are_exported() -> None:
    assert {"ClientApp", "GatewayApi", "check_params"} <= set(omniflow.client.__all__)
    assert {"LiveMonitor", "AdminPoller", "Dashboard"} <= set(omniflow.monitor.__all__)
