"""Property tests of the OpenAPI document with schemathesis, against the live API: no 500, every
answer (errors included) matches the schema the document promises, for valid and invalid
input, with a key (without one: test_schemathesis_no_key.py).

(schemathesis's own pytest loader fails under pytest 9 here, so each operation's strategy is
driven with hypothesis's @given directly.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import given
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from tests.api.schema_cases import SETTINGS, operations


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_500_and_every_answer_matches_its_schema(live_api, writer, mode):
    key = live_api.key_for(writer, qps_limit=100_000)
    for operation in operations(live_api):
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
