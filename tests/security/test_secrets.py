"""No secret in the repository, and none in the stack's logs.

The repository scan reads every tracked file and looks for the shapes real credentials have:
private keys, cloud and forge tokens, signed JWTs, URLs with a password in them, and secrets
assigned in configuration files. The development placeholders are allowed where they are
documented (``settings.py``, ``.env.example`` and the Markdown docs) and nowhere else.

The log scan signs in as the admin and as a learner, makes a few requests, and then reads every
log file of the running stack for the passwords, the tokens, the signing key or anything shaped
like a JWT.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from omniflow.launcher import Stack
from omniflow.settings import DEV_SECRET, Settings
from tests.helpers import bearer, login, signup

ROOT = Path(__file__).resolve().parents[2]
DASHES = "-" * 5

# Shapes of real credentials. Each pattern is assembled so this file does not match itself.
PATTERNS = {
    "private key": re.compile(DASHES + r"BEGIN ([A-Z]+ )?PRIVATE KEY" + DASHES),
    "AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe key": re.compile(r"\b[sr]k_live_[0-9A-Za-z]{20,}"),
    "signed JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}"),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:([^\s/@'\"]+)@"),
}
# A secret assigned in a configuration file: KEY=value or key: value.
CONFIG_FILES = re.compile(r"(^|/)(\.env[^/]*|[^/]+\.(ya?ml|toml|ini|cfg|conf)|Dockerfile)$")
ASSIGNED = re.compile(
    r"(?im)^\s*[\w.-]*(password|passwd|secret|token|api[_-]?key)[\w.-]*\s*[=:]\s*"
    r"[\"']?([^\s\"'#]+)")

# The documented development placeholders, and where each may appear.
PLACEHOLDERS = {
    DEV_SECRET: {"stack/omniflow/settings.py"},
    Settings.model_fields["admin_password"].default.get_secret_value(): {
        "stack/omniflow/settings.py"},
}


def _allowed_value(value: str) -> bool:
    """Values that are clearly not secrets: variable references and change-me placeholders."""
    return (value.startswith(("${", "$", "<")) or "change-me" in value or value in {
        "true", "false", "null", "none", "None", "''", '""'} or len(value) < 6)


def tracked_files() -> list[Path]:
    try:
        listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                                 capture_output=True, timeout=30).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: nothing tracked to scan")
    files = [ROOT / name for name in listing.decode().split("\0") if name]
    return [f for f in files if f.is_file() and f.stat().st_size < 5_000_000]


def scan_text(text: str, relative: str) -> list[str]:
    findings = []
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            value = match.group(match.lastindex or 0) if kind == "password in a URL" else ""
            if kind == "password in a URL" and _allowed_value(value):
                continue
            findings.append(f"{relative}: {kind}: {match.group(0)[:24]}...")
    if CONFIG_FILES.search(relative):
        for match in ASSIGNED.finditer(text):
            if not _allowed_value(match.group(2)):
                findings.append(f"{relative}: assigned {match.group(1)}: "
                                f"{match.group(2)[:4]}...")
    for placeholder, allowed in PLACEHOLDERS.items():
        documented = relative.endswith(".md") or relative.startswith(("tests/", "docs/"))
        if placeholder in text and relative not in allowed and not documented:
            findings.append(f"{relative}: the development placeholder {placeholder[:8]}... "
                            "outside the settings")
    return findings


def test_scanner_finds_what_it_looks_for() -> None:
    samples = {
        DASHES + "BEGIN RSA PRIVATE KEY" + DASHES: "private key",
        "key=" + "AKIA" + "ABCDEFGHIJKLMNOP": "AWS access key",
        "postgresql://app:" + "s3cr3t-pass" + "@db:5432/app": "password in a URL",
        "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxIn0" + ".abcdefghijklmnopqrstuvwxyz": "JWT",
    }
    for text, kind in samples.items():
        assert scan_text(text, "sample.txt"), kind
    assert scan_text("POSTGRES_PASSWORD=hunter2hunter2\n", ".env")
    assert not scan_text("POSTGRES_PASSWORD=change-me-postgres\n", ".env.example")
    assert not scan_text("url: postgresql://${USER}:${PASSWORD}@db/x\n", "compose.yml")


def test_no_secret_is_committed() -> None:
    findings = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files: images, wheels
        findings += scan_text(text, path.relative_to(ROOT).as_posix())
    assert not findings, "\n".join(findings)


@pytest.fixture(scope="module")
def stack() -> Stack:
    running = Stack.from_env()
    if not running.is_running():
        pytest.skip("needs a stack started by the launcher (omniflow run --isolated)")
    return running


async def test_no_password_or_token_in_the_logs(stack: Stack, http: httpx.AsyncClient,
                                                settings: Settings) -> None:
    admin_password = settings.admin_password.get_secret_value()
    admin_token = await login(http, settings.admin_email, admin_password)
    learner_password = f"learner pass {uuid.uuid4().hex}"
    email = f"logscan-{uuid.uuid4().hex[:10]}@example.org"
    await signup(http, email, learner_password)
    learner_token = await login(http, email, learner_password)
    # Requests that carry the secrets in every place a careless log line could pick them up.
    await http.get("/auth/me", headers=bearer(admin_token))
    await http.get("/admin/stats/status", headers=bearer(admin_token))
    await http.get("/reports", headers=bearer(learner_token))
    async with http.stream("GET", f"/events?access_token={learner_token}") as stream:
        assert stream.status_code == 200  # the headers are enough: the stream never ends
    await http.post("/auth/login", json={"email": email, "password": learner_password + "x"})
    await http.get("/reports", headers=bearer(learner_token[:-4] + "AAAA"))

    secrets = {
        "admin password": admin_password,
        "learner password": learner_password,
        "admin token": admin_token,
        "learner token": learner_token,
        "token signature": learner_token.rsplit(".", 1)[1],
        "signing key": settings.secret_key.get_secret_value(),
    }
    logs = sorted(p for p in (stack.state_dir / "logs").rglob("*") if p.is_file())
    assert logs, "the stack wrote no log files"
    findings = []
    for path in logs:
        text = path.read_text(errors="replace")
        findings += [f"{path.name}: {name}" for name, value in secrets.items() if value in text]
        findings += [f"{path.name}: a JWT ({m.group(0)[:16]}...)"
                     for m in PATTERNS["signed JWT"].finditer(text)]
    assert not findings, "\n".join(findings)
