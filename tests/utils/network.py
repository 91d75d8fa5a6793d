"""An address that never answers a connection, and where a thread is waiting (for Stop tests)."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def unanswered_address() -> Iterator[str]:
    """A base URL whose SYNs are never answered: a listening socket whose backlog one waiting
    connection fills (Linux then drops further SYNs), so a connect there waits for its timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=5)
    host, port = listener.getsockname()
    try:
        probe = socket.socket()
        probe.settimeout(0.5)
        try:
            if probe.connect_ex((host, port)) == 0:
                pytest.skip("this system answers connections beyond a listener's backlog")
        finally:
            probe.close()
        yield f"http://{host}:{port}/v1"
    finally:
        filler.close()
        listener.close()


def threads_in(function_name: str) -> list[threading.Thread]:
    """The threads whose stack holds a call of `function_name` now."""
    frames = sys._current_frames()
    found = []
    for thread in threading.enumerate():
        frame = frames.get(thread.ident or 0)
        while frame is not None:
            if frame.f_code.co_name == function_name:
                found.append(thread)
                break
            frame = frame.f_back
    return found
