"""Property-based fuzzing of the gateway from its own OpenAPI document (schemathesis).

Every operation is called with generated inputs, valid and invalid, by a signed-in learner.
Whatever comes in, the gateway must not answer 5xx, and must answer with a content type its
document declares and a body that matches the declared schema. Its status codes must be the
declared ones too, with one known exception checked separately: 400 for undecodable bodies.
The number of examples per operation is bounded, so the whole module takes a minute or two.

The live event stream (``/events``) is left out: it is a response that does not end.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi import checks as openapi_checks

from omniflow.settings import Settings

not_a_server_error = schemathesis.checks.not_a_server_error

MAX_EXAMPLES = int(os.environ.get("OMNIFLOW_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, openapi_checks.content_type_conformance,
          openapi_checks.response_schema_conformance]
PROBLEM = "application/problem+json"


if not os.environ.get("OMNIFLOW_STATE_DIR"):
    pytest.fail("needs a running stack: run it inside `omniflow run --isolated -- pytest ...`",
                pytrace=False)

# Loaded when the module is collected (schemathesis' fixture-based loader relies on a pytest
# internal that pytest 9 no longer has); the stack is up by then.
schema = schemathesis.openapi.from_url(
    f"{Settings().gateway_url}/openapi.json", wait_for_schema=30
).exclude(path="/events")


@schema.parametrize()
@hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                     suppress_health_check=list(HealthCheck))
def test_gateway_answers_generated_requests_as_documented(case, learner_headers) -> None:
    response = case.call(headers=learner_headers, timeout=30)
    case.validate_response(response, checks=CHECKS, headers=learner_headers)

    if case.method.upper() != case.operation.method.upper():
        # A probe with a method the path does not have: 405 is the right answer.
        assert response.status_code == 405, response.status_code
        return
    documented = {str(code) for code in case.operation.definition.raw.get("responses", {})}
    if str(response.status_code) not in documented:
        # The one status seen outside the document: 400 for a body that is not UTF-8 text or
        # a login form that cannot be decoded. It must still be a clear problem document.
        assert response.status_code == 400, (response.status_code, documented)
        content_type = response.headers.get("content-type") or [""]
        assert content_type[0].startswith(PROBLEM), content_type
        assert response.json()["detail"]
