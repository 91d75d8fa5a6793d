"""Transport: the one way a request reaches a provider, and its answer or its failure comes back.

    request(method, path, body)   an httpx.Request to {base_url}{path}; the API key travels only
                                  in the Authorization header
    send(request)                 rate limit -> HTTP -> a 2xx response is returned
                                        ^              │ a failure (httpx error, 4xx/5xx status)
                                        └── wait ◄─────┤ retried? (core.llm.retry.Attempts)
                                                       └ no: its error, built once, is raised from
                                                         the httpx error (LLMConnectionError,
                                                         LLMTimeoutError, LLMStatusError by status)
    open_stream(request, ...)     send, check the answer is an event stream, and give its body the
                                  idle timeout as its read timeout
    json_body(response)           the JSON object of a whole answer, or LLMResponseError
    failure_of(err)               an httpx error as a Failure (a stream reading its body decides)
    provider_message / snippet    the provider's words, fit for an error message: one line,
                                  without the API key, storable

A Transport owns its HTTP connection pool (unless one is handed in), and the clock and the sleep:
the client, the stream and the task poller read the time and wait only through it, so a test
hands in fakes once.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

import core.llm.stopping as stopping
from core.llm.providers import check_api_key, is_loopback_host, validate_base_url
from core.llm.ratelimit import ProviderRateLimiter, provider_limiter
from core.llm.retry import Attempts, Failure, RetryPolicy, retry_after_s
from core.llm.types import ProviderConfig
from core.platform import constants
from core.platform.errors import (
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMConnectionError,
    LLMRateLimitError,
    LLMResponseError,
    LLMServerError,
    LLMStatusError,
    LLMStoppedError,
    LLMTimeoutError,
)
from core.platform.i18n import N_, Message
from core.platform.text import storable

logger = logging.getLogger(__name__)

BODY_SNIPPET_CHARS = 200


class Transport:
    def __init__(
        self,
        provider: ProviderConfig,
        *,
        http_client: httpx.Client | None = None,
        connect_timeout: float = constants.CONNECT_TIMEOUT_S,
        read_timeout: float = constants.READ_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        limiter: ProviderRateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`limiter` defaults to this process's shared limiter of the provider (None without
        limits); `sleep` and `clock` (monotonic seconds) are what every wait and every reading of
        the time goes through."""
        check_api_key(provider.api_key)
        self.provider = provider
        self.base_url = validate_base_url(provider.base_url)
        self.timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout,
                                     pool=connect_timeout)
        self.retry = retry or RetryPolicy()
        self.limiter = limiter if limiter is not None else provider_limiter(provider)
        self.sleep = sleep
        self.clock = clock
        self._owns_http = http_client is None
        limits = httpx.Limits(max_connections=constants.HTTP_POOL_CONNECTIONS,
                              max_keepalive_connections=constants.HTTP_POOL_CONNECTIONS)
        url = httpx.URL(self.base_url)
        self._http = http_client or httpx.Client(
            limits=limits,
            # a stop reaches a request waiting on a silent provider
            transport=stopping.watched_http_transport(limits, tls=url.scheme == "https"),
            # Proxy variables are meant for the outside world, not for a server on this machine.
            trust_env=not is_loopback_host(url.host),
        )

    def __repr__(self) -> str:
        return f"Transport({self.base_url!r})"

    def close(self) -> None:
        """Close the HTTP connection pool, unless it was handed in by the caller."""
        if self._owns_http:
            self._http.close()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    # -- sending -----------------------------------------------------------------------------

    def request(self, method: str, path: str, body: dict[str, Any] | None, *, stream: bool) -> httpx.Request:
        headers = {"Accept": "text/event-stream" if stream else "application/json"}
        if self.provider.api_key:
            headers["Authorization"] = f"Bearer {self.provider.api_key}"
        return self._http.build_request(method, self.base_url + path, json=body, headers=headers,
                                        timeout=self.timeout)

    def attempts(self) -> Attempts:
        """The tries of one request under this transport's retry policy."""
        return Attempts(self.retry)

    def send(
        self, request: httpx.Request, *, stream: bool = False, attempts: Attempts | None = None, tokens: int = 0
    ) -> httpx.Response:
        """Send within the rate limit (`tokens`: the request's estimated cost), retrying what
        deserves it, and return a successful response; raise an LLMError otherwise."""
        attempts = attempts or self.attempts()
        while True:
            self.check_stopped(attempts)
            attempts.made += 1
            outcome = self._send_once(request, stream=stream, tokens=tokens)
            if isinstance(outcome, httpx.Response):
                return outcome
            self.check_stopped(attempts, outcome.cause)
            wait = attempts.wait_after(outcome)
            if wait is None:
                raise attempts.error(outcome) from outcome.cause
            logger.info("try %d of %s %s failed (%s); retrying in %.2f s",
                        attempts.made, request.method, request.url, outcome.message, wait)
            self.wait(wait)

    def wait(self, seconds: float) -> None:
        """Sleep between tries or polls; in a stop's scope (core.llm.stopping) a Stop ends the wait."""
        stopping.sleep(self.sleep, seconds)

    def check_stopped(self, attempts: Attempts | None = None, cause: BaseException | None = None) -> None:
        """Raise LLMStoppedError if the request's caller stopped it (core.llm.stopping)."""
        if stopping.stopped():
            raise LLMStoppedError(stopping.STOPPED_MESSAGE, attempts=attempts.made if attempts else 0) from cause

    def open_stream(
        self, request: httpx.Request, *, attempts: Attempts, tokens: int, idle_timeout_s: float
    ) -> httpx.Response:
        """Send a streaming request (as `send`); return its response once it is an event stream."""
        request.extensions["timeout"] = self.timeout.as_dict()
        response = self.send(request, stream=True, attempts=attempts, tokens=tokens)
        self._check_event_stream(response, attempts)
        # httpcore takes the body's read timeout when the body is first read: from here on the
        # longest silence allowed is the idle timeout (the read timeout was for the headers).
        request.extensions["timeout"]["read"] = idle_timeout_s
        return response

    def _send_once(self, request: httpx.Request, *, stream: bool, tokens: int) -> httpx.Response | Failure:
        if self.limiter is not None:
            self.limiter.acquire(tokens)
        try:
            response = self._http.send(request, stream=stream)
            if response.status_code >= 400:
                _read_and_close(response)
        except httpx.RequestError as err:
            return self.failure_of(err)
        logger.debug("%s %s -> %s", request.method, request.url, response.status_code)
        if response.status_code >= 400:
            return self._status_failure(response)
        return response

    def _check_event_stream(self, response: httpx.Response, attempts: Attempts) -> None:
        content_type = response.headers.get("content-type", "")
        if not content_type or content_type.startswith("text/event-stream"):
            return
        try:
            _read_and_close(response)
        except httpx.RequestError as err:
            raise self.failure_of(err).error(attempts=attempts.made) from err
        raise LLMResponseError(
            Message(N_('The provider did not answer with an event stream ({content_type}): {value}'), content_type=content_type, value=self.provider_message(response.text)),
            attempts=attempts.made,
        )

    # -- failures ----------------------------------------------------------------------------

    def failure_of(self, err: httpx.RequestError) -> Failure:
        """A transport failure (no answer, or none in time) as a Failure to decide on."""
        if isinstance(err, httpx.TimeoutException):
            return Failure(LLMTimeoutError, self._timeout_message(err), cause=err)
        reason = self.redact(_one_line(str(err))) or type(err).__name__
        return Failure(LLMConnectionError, Message(N_("Could not reach the provider at {url}: {reason}"),
                                                   url=self.base_url, reason=reason), cause=err)

    def _timeout_message(self, err: httpx.TimeoutException) -> Message:
        if isinstance(err, httpx.ConnectTimeout):
            return Message(N_("The provider at {url} did not accept a connection within {seconds:g} s."),
                           url=self.base_url, seconds=self.timeout.connect)
        if isinstance(err, httpx.ReadTimeout):
            return Message(N_("The provider at {url} sent nothing for {seconds:g} s."), url=self.base_url,
                           seconds=self.timeout.read)
        return Message(N_("The provider at {url} timed out."), url=self.base_url)

    def _status_failure(self, response: httpx.Response) -> Failure:
        status = response.status_code
        provider_message = self.provider_message(response.text)
        found = {"status": status, "phrase": response.reason_phrase, "words": provider_message}
        message = Message(N_("The provider answered {status} {phrase}: {words}") if provider_message
                          else N_("The provider answered {status} {phrase}"), **found)
        return Failure(
            _status_error_class(status),
            message,
            status_code=status,
            provider_message=provider_message,
            request_id=response.headers.get("x-request-id"),
            retry_after_s=retry_after_s(response.headers),
        )

    # -- reading -----------------------------------------------------------------------------

    def json_body(self, response: httpx.Response, *, error_is_failure: bool = True) -> dict[str, Any]:
        """The JSON object of a whole answer; one with an `error` is a failure unless told otherwise."""
        try:
            data = response.json()
        except ValueError as err:
            content_type = response.headers.get("content-type") or "no content type"
            raise LLMResponseError(
                Message(N_("The provider's answer is not JSON ({content_type}): {value}"), content_type=content_type, value=self.snippet(response.text))
            ) from err
        if not isinstance(data, dict):
            raise LLMResponseError("The provider's answer is not a JSON object.")
        if error_is_failure and data.get("error"):
            raise LLMResponseError(Message(N_('The provider reported an error: {value}'), value=self.error_text(data)))
        return data

    def provider_message(self, body: str) -> str:
        """The provider's own words: error.message of a JSON body, else the start of the body."""
        try:
            data = json.loads(body)
        except ValueError:
            return self.snippet(body)
        return self.error_text(data) if isinstance(data, dict) else self.snippet(body)

    def error_text(self, data: dict[str, Any]) -> str:
        """What a JSON object from the provider says went wrong (error.message, error, message, detail)."""
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return self.redact(_one_line(error["message"]))
        for value in (error, data.get("message"), data.get("detail")):
            if isinstance(value, str) and value.strip():
                return self.redact(_one_line(value))
        return self.snippet(str(data))

    def snippet(self, text: str) -> str:
        """The start of `text` on one line, redacted."""
        return self.redact(_one_line(text))[:BODY_SNIPPET_CHARS]

    def redact(self, text: str) -> str:
        """`text` (from the provider, or about it) without the API key, fit to be stored."""
        key = self.provider.api_key
        return storable(text.replace(key, "***") if key else text)


def _status_error_class(status: int) -> type[LLMStatusError]:
    if status in (401, 403):
        return LLMAuthenticationError
    if status == 429:
        return LLMRateLimitError
    if status >= 500:
        return LLMServerError
    return LLMBadRequestError


def _read_and_close(response: httpx.Response) -> None:
    try:
        response.read()
    finally:
        response.close()


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
