"""schemathesis against the live_api API without a key: every answer is still in the schema (a 401,
/health's 200); the cases with a key: test_schemathesis.py."""

from __future__ import annotations

import schemathesis
from hypothesis import given

from tests.api.schema_cases import SETTINGS, operations


def test_without_a_key_every_answer_is_still_in_the_schema(live_api):
    for operation in operations(live_api):

        @SETTINGS
        @given(case=operation.as_strategy())
        def check(case):
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            response = case.call()
            case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])
            assert response.status_code == (200 if operation.path == "/health" else 401)  # noqa: B023  (called at once)

        check()
