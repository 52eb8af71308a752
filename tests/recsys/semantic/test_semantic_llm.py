"""The LLM summary path against a local stub OpenAI-compatible server (never a real endpoint)."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from recsys.semantic import LLMEndpointError, LLMSource, LLMSummarizer, TextEncoder
from tests.recsys.semantic.test_semantic_sources import StubModel


class StubServer:
    """``POST /v1/chat/completions`` answering ``"summary: <user message>"``; can fail after N answers.

    ``delay`` seconds pass before each answer (``delay_of`` maps a user message to its own delay);
    ``max_in_flight`` counts the most requests the server was handling at once.
    """

    def __init__(self, fail_after: int | None = None, status: int = 503, delay: float = 0.0,
                 delay_of: dict[str, float] | None = None):
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.fail_after, self.status = fail_after, status
        self.in_flight = self.max_in_flight = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                time.sleep((delay_of or {}).get(body["messages"][1]["content"], delay))
                with lock:  # before answering: the client cannot have sent its next request yet
                    outer.in_flight -= 1
                self.answer(body)

            def answer(self, body):
                with lock:
                    ok = self.path == "/v1/chat/completions" and (
                        outer.fail_after is None or len(outer.requests) < outer.fail_after)
                    if ok:
                        outer.requests.append(body)
                        outer.headers.append(dict(self.headers))
                if not ok:
                    self.send_response(outer.status if self.path == "/v1/chat/completions" else 404)
                    self.end_headers()
                    return
                answer = {"choices": [{"message": {"role": "assistant",
                                                   "content": "summary: " + body["messages"][1]["content"]}}]}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def summarizer(url, cache, **kwargs):
    kwargs = {"requests_per_minute": 60000, "max_retries": 1, "retry_wait": 0.01, "timeout": 5,
              "show_progress": False, **kwargs}
    return LLMSummarizer(url, "stub-model", cache, **kwargs)


PROMPTS = {f"item:{i}": ("You are an expert.", f"title {i}") for i in range(1, 5)}


def test_interrupted_run_resumes_without_losing_finished_summaries(tmp_path):
    cache = tmp_path / "llm.jsonl"
    with StubServer(fail_after=2) as server:
        with pytest.raises(LLMEndpointError, match=r"unreachable.*2 of 4 summaries are cached.*rerun to resume"):
            summarizer(server.url, cache, api_key="sk-test").summarize(PROMPTS)
        assert server.headers[0]["Authorization"] == "Bearer sk-test"
        assert server.requests[0]["model"] == "stub-model" and server.requests[0]["temperature"] == 0.0
    assert len(cache.read_text().splitlines()) == 2
    with cache.open("a") as fh:
        fh.write('{"key": "item:3", "prompt')  # torn line from a crash mid-write: ignored
    with StubServer() as server:
        out = summarizer(server.url, cache).summarize(PROMPTS)
        asked = [r["messages"][1]["content"] for r in server.requests]
    assert asked == ["title 3", "title 4"]  # only what was missing
    assert out == {key: f"summary: {user}" for key, (_, user) in PROMPTS.items()}
    with StubServer() as server:  # everything cached: no request at all
        summarizer(server.url, cache).summarize(PROMPTS)
        assert server.requests == []
        changed = {"item:1": ("You are an expert.", "title 1, new edition")}
        summarizer(server.url, cache).summarize(changed)  # a changed prompt is asked again
        assert len(server.requests) == 1


def test_unreachable_endpoint_and_refusals_are_clear_errors(tmp_path):
    cache = tmp_path / "llm.jsonl"
    cache.write_text(json.dumps({"key": "item:1", "prompt_sha": "x", "text": "kept"}) + "\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(LLMEndpointError, match=rf"127\.0\.0\.1:{port}.*unreachable.*after 2 attempts"):
        summarizer(f"http://127.0.0.1:{port}/v1", cache).summarize(PROMPTS)
    assert "kept" in cache.read_text()
    with StubServer(fail_after=0, status=401) as server, pytest.raises(LLMEndpointError, match="HTTP 401"):
        summarizer(server.url, cache).summarize(PROMPTS)
    with pytest.raises(Exception, match="must start with http"):
        LLMSummarizer("localhost:8000", "m", cache)


def test_llm_source_embeds_item_and_window_summaries(tmp_path):
    encoder = TextEncoder("stub-model", show_progress=False)
    encoder._model = StubModel()
    with StubServer() as server:
        source = LLMSource({1: "Alien", 2: "Heat", 3: "Up"}, summarizer(server.url, tmp_path / "c.jsonl"),
                           encoder, domain="movie", user_vectors="text")
        items = source.item_vectors(3)
        windows = source.window_vectors(torch.tensor([[0, 1, 2]]), torch.tensor([5]))
        assert len(server.requests) == 4
        assert "movie recommendation expert" in server.requests[3]["messages"][0]["content"]
        assert server.requests[3]["messages"][1]["content"] == "<Alien>; <Heat>"
    summary = "summary: " + server.requests[0]["messages"][1]["content"]
    assert items[1, 0] == len(summary)
    assert windows[0, 0] == len("summary: <Alien>; <Heat>")


MANY = {f"item:{i}": ("You are an expert.", f"title {i}") for i in range(1, 13)}
SLOW_FIRST = {f"title {i}": 0.16 - 0.01 * i for i in range(1, 13)}  # early prompts answer last


def test_concurrent_client_gives_the_sequential_outputs_and_cache_and_runs_concurrently(tmp_path):
    runs = {}
    for workers in (1, 4):
        cache = tmp_path / f"w{workers}.jsonl"
        with StubServer(delay_of=SLOW_FIRST) as server:
            start = time.perf_counter()
            out = summarizer(server.url, cache, max_workers=workers).summarize(MANY)
            runs[workers] = (out, time.perf_counter() - start, server.max_in_flight, cache)
    (seq, seq_s, seq_flight, seq_cache), (par, par_s, par_flight, par_cache) = runs[1], runs[4]
    assert list(par.items()) == list(seq.items())  # same texts, same (prompt) order
    assert list(par) == list(MANY)
    reload = summarizer("http://127.0.0.1:1/v1", par_cache).cached()
    assert reload == summarizer("http://127.0.0.1:1/v1", seq_cache).cached()
    assert sorted(par_cache.read_text().splitlines()) == sorted(seq_cache.read_text().splitlines())
    assert (seq_flight, par_flight) == (1, 4)
    assert par_s < 0.75 * seq_s  # ~0.35 s against ~1.1 s of server delay


def test_concurrent_failure_caches_every_answer_that_arrived_and_resumes(tmp_path):
    cache = tmp_path / "llm.jsonl"
    with StubServer(fail_after=5, delay=0.02) as server:
        client = summarizer(server.url, cache, max_workers=4)
        with pytest.raises(LLMEndpointError, match=r"unreachable.*5 of 12 summaries are cached"):
            client.summarize(MANY)
        answered = len(server.requests)
    assert answered == 5 and len(cache.read_text().splitlines()) == 5
    assert client.requests_made <= 5 + 2 * 4 * 2  # no new request after the failure, at most one retry each
    with StubServer() as server:
        out = summarizer(server.url, cache, max_workers=4).summarize(MANY)
        assert len(server.requests) == 7  # only the missing ones
    assert out == {key: f"summary: {user}" for key, (_, user) in MANY.items()}


def test_interrupt_keeps_the_answers_in_flight(tmp_path, monkeypatch):
    cache = tmp_path / "llm.jsonl"
    append = LLMSummarizer._append
    calls = []

    def interrupted(self, key, sha, text):
        calls.append(key)
        if len(calls) == 2:
            raise KeyboardInterrupt
        append(self, key, sha, text)

    monkeypatch.setattr(LLMSummarizer, "_append", interrupted)
    with StubServer(delay=0.05) as server, pytest.raises(KeyboardInterrupt):
        summarizer(server.url, cache, max_workers=3).summarize(MANY)
    assert len(server.requests) <= 2 * 3 + 2  # nothing new started after the interrupt
    assert len(calls) == len(server.requests)  # every answer that arrived reached the cache writer
    monkeypatch.setattr(LLMSummarizer, "_append", append)
    assert len(summarizer(server.url, cache).cached()) == len(calls) - 1


def test_rate_limit_spans_all_workers(tmp_path):
    with StubServer() as server:
        start = time.perf_counter()
        summarizer(server.url, tmp_path / "c.jsonl", max_workers=4, requests_per_minute=600).summarize(
            dict(list(MANY.items())[:6]))
        assert time.perf_counter() - start >= 0.5 * 0.98  # 6 starts, 0.1 s apart
    with pytest.raises(Exception, match="max_workers must be >= 1"):
        LLMSummarizer("http://localhost:1/v1", "m", tmp_path / "c.jsonl", max_workers=0)
