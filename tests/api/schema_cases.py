"""What schemathesis drives in tests/api/test_schemathesis*.py (two modules, so that they run in
two test processes): the live API's operations, and how many cases each operation gets."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)  # per operation (about 30 of them)


def operations(live_api):
    schema = schemathesis.openapi.from_url(live_api.url("/openapi.json"))
    schema.config.update(base_url=live_api.base_url)
    found = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in found} >= {"GET /health", "GET /models", "GET /projects"}
    return found
