"""tests/core/llm/test_registry.py on PostgreSQL."""

from tests.core.llm.test_registry import *  # noqa: F403
