"""Running a core action from a page: its user message is shown on failure, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import streamlit as st

from core.platform.db import open_session
from core.platform.errors import DraftgateError
from ui import resources
from ui.safe import md

T = TypeVar("T")


@dataclass(frozen=True)
class Done(Generic[T]):
    """A finished action (always true, whatever its value)."""

    value: T


def run_action(action: Callable[..., T], **kwargs) -> Done[T] | None:
    """action(session=<a database session>, **kwargs): Done(result), or None after showing why it failed."""
    try:
        with open_session(resources.engine()) as db:
            return Done(action(session=db, **kwargs))
    except DraftgateError as err:
        st.error(md(err))
        return None
