"""The LLM summary path against a local stub OpenAI-compatible server (never a real endpoint)."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from recsys.semantic import LLMEndpointError, LLMSource, LLMSummarizer, TextEncoder
from tests.recsys.semantic.test_semantic_sources import StubModel


class StubServer:
    """``POST /v1/chat/completions`` answering ``"summary: <user message>"``; can fail after N answers."""

    def __init__(self, fail_after: int | None = None, status: int = 503):
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.fail_after, self.status = fail_after, status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                ok = self.path == "/v1/chat/completions" and (
                    outer.fail_after is None or len(outer.requests) < outer.fail_after)
                if not ok:
                    self.send_response(outer.status if self.path == "/v1/chat/completions" else 404)
                    self.end_headers()
                    return
                outer.requests.append(body)
                outer.headers.append(dict(self.headers))
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
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

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
