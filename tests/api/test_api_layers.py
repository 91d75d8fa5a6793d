"""The API reaches core's workflows only through core.usecases (as the pages do)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.test_layers import WORKFLOWS, imported_names

API = Path(__file__).resolve().parents[2] / "api"


@pytest.mark.parametrize("path", sorted(API.rglob("*.py")), ids=lambda p: str(p.relative_to(API.parent)))
def test_the_api_calls_workflows_only_through_the_use_cases(path):
    below = sorted(f"{module}.{name}" for module, name in imported_names(path) if name in WORKFLOWS)
    assert not below, f"{path} calls {below}: call core.usecases instead"
