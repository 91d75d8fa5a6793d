"""Stopping a request from another thread, even while its provider says nothing at all.

    stop = RequestStop()            made by the caller (core.writing.turns, core.llm.batch), handed
                                    to client.stream(..., stop=stop)
    with stop.scope(): ...          the requesting thread's reads, writes, retry waits and task polls
                                    in the block belong to `stop`
    stop.set()   (any thread)       the socket a read or write of the scope waits on is shut down,
                                    so it fails at once, before the response's headers as well as
                                    after; a later one fails before it starts; a retry wait ends
                                    and no retry is made (Transport.send raises LLMStoppedError);
                                    a connection being opened (a provider that never answers the
                                    SYN) is given up within CONNECT_STEP_S

This works on the connections of a Transport's own pool (`watched_http_transport`, whose network
streams are watched); a client handed in by the caller, or a request through a proxy of the
environment (its own httpx transport), is stopped only once its response has headers
(CompletionStream.abort shuts the response's socket) and between tries. A connect in a stop's
scope is made in steps (non-blocking, polled every CONNECT_STEP_S): the name lookup before it is
not stoppable.

httpx 0.28 has no public way to give its transport a network backend: `watched_http_transport`
sets the transport's `_pool` (httpx and httpcore are pinned; tests/core/llm/test_stopping.py
pins the behaviour).
"""

from __future__ import annotations

import errno
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx
from httpcore._backends.sync import SyncStream

from core.platform.i18n import N_

_CURRENT: ContextVar[RequestStop | None] = ContextVar("draftgate_request_stop", default=None)

STOPPED_MESSAGE = N_("The request was stopped.")
CONNECT_STEP_S = 0.05  # a connect in a stop's scope looks at its stop this often
_CONNECTING = (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK)


class RequestStop:
    """A stop for the requests made in its scope (see the module docstring)."""

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._waiting: set[httpcore.NetworkStream] = set()  # network streams a read or write waits on now

    def is_set(self) -> bool:
        return self._stopped.is_set()

    def set(self) -> None:
        with self._lock:
            self._stopped.set()
            waiting = list(self._waiting)
        for stream in waiting:
            shut_down(stream)

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds`, or less if stopped meanwhile; True if stopped."""
        return self._stopped.wait(seconds)

    @contextmanager
    def scope(self) -> Iterator[RequestStop]:
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)

    @contextmanager
    def _using(self, stream: httpcore.NetworkStream) -> Iterator[None]:
        with self._lock:
            if self._stopped.is_set():
                raise httpcore.ReadError(STOPPED_MESSAGE)
            self._waiting.add(stream)
        try:
            yield
        finally:
            with self._lock:
                self._waiting.discard(stream)


def current() -> RequestStop | None:
    """The stop of the scope this thread is in, if any."""
    return _CURRENT.get()


def stopped() -> bool:
    stop = _CURRENT.get()
    return stop is not None and stop.is_set()


def sleep(sleep_fn: Callable[[float], None], seconds: float) -> None:
    """Wait `seconds` through `sleep_fn`; a real sleep in a stop's scope ends when it is stopped."""
    stop = _CURRENT.get()
    if stop is not None and sleep_fn is time.sleep:  # a test's fake sleep is left alone
        stop.wait(seconds)
    else:
        sleep_fn(seconds)


def shut_down(stream: Any) -> None:
    """Shut down the plain socket under a network stream (under any TLS), so that a read or
    write waiting on it returns at once."""
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        with suppress(OSError):  # closed already
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def watched_http_transport(limits: httpx.Limits, *, tls: bool = True) -> httpx.HTTPTransport:
    """An httpx transport whose connections can be stopped while they wait (see the module docstring).
    `tls=False`: for a plain-http provider (a server on this machine), whose connections never start
    TLS: no CA certificates are loaded (~20 ms of CPU in a process's first turn); one that did
    would still get httpcore's own verifying context."""
    # one context (loading the CA certificates takes ~20 ms), not one per pool
    ssl_context = httpx.create_ssl_context() if tls else None
    # (the transport's own pool, which would take it, is replaced below)
    transport = httpx.HTTPTransport(verify=ssl_context or ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), limits=limits)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_WatchedBackend(httpcore.SyncBackend()),
    )
    return transport


class _WatchedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with self._watched():
            return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with self._watched():
            self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        with self._watched():
            return _WatchedStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    @contextmanager
    def _watched(self) -> Iterator[None]:
        stop = _CURRENT.get()
        if stop is None:
            yield
            return
        with stop._using(self):
            yield


class _WatchedBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stop = _CURRENT.get()
        if stop is None:
            return _WatchedStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))
        try:
            sock = _connect_tcp(host, port, timeout, local_address, socket_options, stop)
        except TimeoutError as err:
            raise httpcore.ConnectTimeout(str(err)) from err
        except OSError as err:
            raise httpcore.ConnectError(str(err)) from err
        return _WatchedStream(SyncStream(sock))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _WatchedStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)



def _connect_tcp(
    host: str, port: int, timeout: float | None, local_address: str | None,
    socket_options: Iterable[Any] | None, stop: RequestStop,
) -> socket.socket:
    """socket.create_connection (as httpcore's SyncBackend calls it), given up once `stop` is set."""
    deadline = None if timeout is None else time.monotonic() + timeout
    error: OSError = OSError(f"{host} has no address")
    for family, kind, proto, _name, address in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            if local_address is not None:
                sock.bind((local_address, 0))
            sock.setblocking(False)
            _wait_connected(sock, address, deadline, stop)
            sock.settimeout(timeout)
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as err:
            sock.close()
            if isinstance(err, TimeoutError) or stop.is_set():
                raise
            error = err  # refused or unreachable: the next address
    raise error


def _wait_connected(sock: socket.socket, address: Any, deadline: float | None, stop: RequestStop) -> None:
    code = sock.connect_ex(address)
    poller = select.poll()
    poller.register(sock, select.POLLOUT)
    while code in _CONNECTING:
        if stop.is_set():
            raise ConnectionAbortedError(STOPPED_MESSAGE)
        step = CONNECT_STEP_S if deadline is None else min(CONNECT_STEP_S, deadline - time.monotonic())
        if step <= 0:
            raise TimeoutError("timed out")
        if poller.poll(step * 1000):
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        raise OSError(code, os.strerror(code))
