"""The compose file publishes no database port and binds what it publishes to 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
STORES = {"postgres", "redis", "mongo"}
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _published(service: dict) -> list[str]:
    ports = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):  # the long syntax
            ports.append(f"{entry.get('host_ip', '')}:{entry.get('published', '')}")
        else:
            ports.append(str(entry))
    return ports


def test_databases_publish_no_ports(compose: dict) -> None:
    services = compose["services"]
    assert services.keys() >= STORES
    for name in STORES:
        assert not services[name].get("ports"), f"{name} publishes {services[name]['ports']}"
        assert "network_mode" not in services[name], name


def test_published_ports_are_bound_to_loopback(compose: dict) -> None:
    published = {name: _published(s) for name, s in compose["services"].items()}
    assert any(published.values()), "nothing is published at all"
    for name, ports in published.items():
        for port in ports:
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on every address"


def test_databases_sit_on_an_internal_network_only(compose: dict) -> None:
    networks = compose["networks"]
    for name in STORES:
        for network in compose["services"][name].get("networks", []):
            assert networks[network].get("internal") is True, (name, network)


def test_secrets_come_from_required_variables(compose: dict) -> None:
    """No password, secret or token is written into the file: each is a ``${VAR:?...}``."""

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")
        elif isinstance(node, str) and any(w in path.upper() for w in SECRET_WORDS):
            assert "${" in node and ":?" in node, f"{path} is not a required variable: {node}"

    walk(compose["services"], "services")
