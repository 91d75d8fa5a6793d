"""tests/core/test_usecases_writing.py (and the SYSTEM actor) on PostgreSQL."""

from tests.core.test_actors import *  # noqa: F403
from tests.core.test_usecases_writing import *  # noqa: F403
