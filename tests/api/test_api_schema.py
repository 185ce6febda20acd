"""Property run of schemathesis against our own OpenAPI spec: no generated request gets a 5xx.

Bodies that match the spec and bodies that break it (schemathesis's positive and negative modes) go to every
operation; whatever is not a success must be the one error shape. The spec is read from the running server,
as a desk's developer would read it; a few examples per operation keep the run well under 30 s.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

pytestmark = pytest.mark.slow
OPERATIONS = [
    "POST /v1/drafts",
    "POST /v1/drafts/{draft_id}/decision",
    "POST /v1/check",
    "GET /v1/scripts/search",
    "GET /healthz",
    "GET /readyz",
]


@pytest.fixture(scope="module")
def api_schema(api_server):
    return schemathesis.openapi.from_url(f"{api_server.url}/openapi.json")


def test_the_spec_lists_every_operation(api_schema):
    labels = {op.ok().label for op in api_schema.get_all_operations()}
    assert labels == set(OPERATIONS)


CASES = [(label, GenerationMode.POSITIVE) for label in OPERATIONS] + [
    (label, GenerationMode.NEGATIVE) for label in OPERATIONS if label.split()[1].startswith("/v1/")
]  # the health checks take no input, so nothing about them can be broken


@pytest.mark.parametrize("label,mode", CASES, ids=[f"{label}-{mode.value}" for label, mode in CASES])
def test_no_generated_request_gets_a_server_error(api_server, api_schema, label, mode):
    operation = api_schema.find_operation_by_label(label)
    auth = {"Authorization": f"Bearer {api_server.keys['all']}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def run(case):
        response = case.call(base_url=api_server.url, headers=auth, timeout=60)
        assert response.status_code < 500, (case.method, case.path, case.body, response.text)
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"], body

    run()
