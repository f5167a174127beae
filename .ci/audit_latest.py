"""The part of a dependency audit that PyPI's project pages alone can answer.

PyPI's project JSON (``/pypi/NAME/json``) describes a project's *latest* release, and its
``vulnerabilities`` list is that release's known advisories. So for every installed package that
is at its latest release, that list is a real audit; a package older than its latest release
cannot be judged from it and is listed as not audited, never counted as clean.

    python .ci/audit_latest.py        # the packages of the interpreter that runs it

Exit codes: 0 no known vulnerability in the audited packages, 1 vulnerabilities found, 2 no
package could be audited (PyPI unreachable).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

INDEX = "https://pypi.org/pypi/{name}/json"
TIMEOUT_S = 20


def installed() -> dict[str, str]:
    """Installed distributions, by normalised name, except this project itself."""
    found = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name and name != "omniflow-lab":
            found[name] = dist.version
    return found


def latest(name: str) -> tuple[str, list[dict]] | str:
    """(latest version, its advisories) from PyPI, or why they could not be had."""
    try:
        with urllib.request.urlopen(INDEX.format(name=name), timeout=TIMEOUT_S) as response:
            project = json.load(response)
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        return f"PyPI did not answer ({exc})"
    return project["info"]["version"], project.get("vulnerabilities") or []


def main() -> int:
    packages = installed()
    with ThreadPoolExecutor(8) as pool:
        answers = dict(zip(packages, pool.map(latest, packages), strict=True))

    audited, older, unanswered, found = [], [], [], []
    for name, version in sorted(packages.items()):
        answer = answers[name]
        if isinstance(answer, str):
            unanswered.append(f"{name} {version}: {answer}")
        elif answer[0] != version:
            older.append(f"{name} {version} (latest {answer[0]})")
        else:
            audited.append(name)
            found += [(name, version, v) for v in answer[1] if not v.get("withdrawn")]

    print(f"latest-release audit via PyPI: {len(packages)} packages, {len(audited)} audited "
          f"(at their latest release), {len(older)} older than their latest release and not "
          f"audited, {len(unanswered)} unanswered")
    for name, version, vuln in found:
        fixes = ", ".join(vuln.get("fixed_in") or []) or "no fix yet"
        print(f"  {name} {version}: {vuln.get('id')} (fixed in {fixes})")
    for line in older + unanswered:
        print(f"  not audited: {line}")
    if found:
        return 1
    if not audited:
        print("audit BLOCKED: PyPI answered for no package")
        return 2
    print("no known vulnerabilities in the audited packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
