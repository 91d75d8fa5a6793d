"""Property tests of the OpenAPI document with schemathesis, against the live API: no 500, every
answer (errors included) matches the schema the document promises, for valid and invalid
input, with and without a key.

(schemathesis's own pytest loader fails under pytest 9 here, so each operation's strategy is
driven with hypothesis's @given directly.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from tests.core.llm.faulty_server import FaultyServer
from tests.utils.factories import make_project

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)  # per operation (about 30 of them)


@pytest.fixture
def live(start_api, db):
    make_project(db, "English samples", references=("A short English sample.",))
    make_project(db, "中文样例")
    provider = FaultyServer().start()  # generations answer from a local mock, never the embedded model
    yield start_api(llm_base_url=provider.base_url, llm_model="mock", llm_api_style="chat", user_rate_limit=0)
    provider.stop()


def operations(live):
    schema = schemathesis.openapi.from_url(live.url("/openapi.json"))
    schema.config.update(base_url=live.base_url)
    found = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in found} >= {"GET /health", "GET /models", "GET /projects"}
    return found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_500_and_every_answer_matches_its_schema(live, writer, mode):
    key = live.key_for(writer, qps_limit=100_000)
    for operation in operations(live):
        if mode is GenerationMode.NEGATIVE and not len(operation.query):
            continue  # nothing to get wrong (the key is given)

        # A body's meaning goes past its schema (an instruction of spaces or control characters, a
        # stop sequence the provider cannot take): such a body gets a 400 naming the field, which
        # schemathesis's positive_data_acceptance counts as a failure. Every other check stands.
        excluded = [schemathesis.checks.positive_data_acceptance] if operation.body else []

        @SETTINGS
        @given(case=operation.as_strategy(mode))
        def check(case):
            # A case made invalid through its headers is made valid again by the key given here:
            # its rejection cannot be expected (every other check stands).
            skipped = excluded + ([schemathesis.checks.negative_data_rejection]  # noqa: B023  (called at once)
                                  if case.meta and case.meta.is_negative_at(ParameterLocation.HEADER) else [])
            response = case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, excluded_checks=skipped)
            assert response.status_code < 500 or operation.path == "/health"  # noqa: B023  (called at once)

        check()


def test_without_a_key_every_answer_is_still_in_the_schema(live):
    for operation in operations(live):

        @SETTINGS
        @given(case=operation.as_strategy())
        def check(case):
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            response = case.call()
            case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])
            assert response.status_code == (200 if operation.path == "/health" else 401)  # noqa: B023  (called at once)

        check()
