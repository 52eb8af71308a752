"""Optional LLM summaries for SRA-CL (Cui et al., 2025) through any OpenAI-compatible chat endpoint.

The paper asks an LLM (DeepSeek-V3) for an item summary per item and a preference summary per user window,
then embeds those texts. This module does the asking: ``POST {base_url}/chat/completions`` with
``{"model", "messages": [system, user], "temperature": 0}``, reading ``choices[0].message.content``.

It is never required (the text and attribute sources work offline) and never contacted by the test-suite
except through a local stub server. Properties:

* **cache file** — one JSON line per finished summary (``{"key", "prompt_sha", "text"}``), appended and flushed
  as soon as the answer arrives, so an interruption (crash, Ctrl-C, endpoint outage) loses no finished summary;
  a half-written last line is ignored on reload;
* **resumable** — keys already in the cache with the same prompt are skipped; a changed prompt is asked again;
* **concurrent** (optional) — ``max_workers > 1`` sends up to that many requests at once from a bounded
  thread pool (``concurrent.futures``; at most ``2 · max_workers`` requests queued). Every answer is appended
  to the cache by the calling thread as soon as it arrives, so the cache file lists answers in arrival order,
  while the returned mapping is always in the prompts' order and its texts do not depend on the worker count;
  at ``max_workers = 1`` (default) requests go one at a time;
* **rate-limited** — request starts (retries included) are spaced at least ``60 / requests_per_minute``
  seconds apart across all workers;
* **retries** — 429 / 5xx / connection errors are retried with exponential backoff; when the endpoint stays
  unreachable an :class:`LLMEndpointError` says so, how many summaries are cached and that a rerun resumes.
  After the first such failure (or a Ctrl-C) no new request is started and no retry is made; requests already
  in flight finish, and those that succeed are cached before the error is raised.

Throughput: with a latency of ``t`` seconds per answer, one worker sends at most ``1 / t`` requests per
second; ``max_workers ≈ t · requests_per_minute / 60`` saturates the rate limit (e.g. 96k ML-100K windows at a
5 s latency: 5.6 days sequentially, 27 h at 60 requests/min with 5 workers, 2.7 h at 600 requests/min with 50).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from torch import Tensor
from tqdm import tqdm

from graphcl.errors import ConfigError, GraphCLError
from recsys.semantic.base import SemanticSource
from recsys.semantic.encoder import TextEncoder
from recsys.semantic.text import item_text_list
from recsys.semantic.windows import window_keys, window_texts

ITEM_SYSTEM_PROMPT = "You are a {domain} recommendation expert."
ITEM_USER_PROMPT = (
    "Basic information of the item: {text}. Briefly describe the item and what kind of users would like it, "
    "more specifically than 'fans of the genre', in at most 80 words."
)
USER_SYSTEM_PROMPT = (
    "You are a {domain} recommendation expert. You will be given a user's historical interactions in "
    "chronological order, in the format <title1>; <title2>; ... Summarise the user's specific preference in "
    "one coherent paragraph of at most 100 words."
)


class LLMEndpointError(GraphCLError, RuntimeError):
    """The LLM endpoint could not be reached or answered with an error (the cache is kept)."""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class _RateLimiter:
    """Thread-safe spacing of request starts: each caller gets the next free slot ``interval`` after the last."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Seconds to wait before starting the request that reserved the slot."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
            return slot - now


_Job = tuple[str, str, str, str]  # key, prompt sha, system prompt, user prompt


class LLMSummarizer:
    """Ask an OpenAI-compatible chat endpoint for summaries, with a resumable JSON-lines cache.

    Args:
        base_url: Endpoint root, e.g. ``"https://api.deepseek.com/v1"`` or ``"http://localhost:8000/v1"``.
        model: Model name sent in the request.
        cache_file: JSON-lines cache (created if absent).
        api_key: Bearer token (default: ``$OPENAI_API_KEY`` if set, else none).
        requests_per_minute: Rate limit (request starts per minute over all workers).
        max_workers: Requests in flight at once (default 1: sequential).
        max_retries: Retries per request on 429 / 5xx / connection errors.
        retry_wait: First backoff in seconds (doubles per retry).
        timeout: Seconds per HTTP request.
        temperature: Sampling temperature (the reference uses 0).
        show_progress: tqdm progress bar.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        cache_file: str | os.PathLike,
        *,
        api_key: str | None = None,
        requests_per_minute: float = 60.0,
        max_workers: int = 1,
        max_retries: int = 3,
        retry_wait: float = 1.0,
        timeout: float = 60.0,
        temperature: float = 0.0,
        show_progress: bool = True,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"LLM base_url must start with http:// or https://, got {base_url!r}")
        if requests_per_minute <= 0:
            raise ConfigError(f"requests_per_minute must be > 0, got {requests_per_minute}")
        if int(max_workers) < 1:
            raise ConfigError(f"LLM max_workers must be >= 1, got {max_workers}")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.cache_file = Path(cache_file)
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.min_interval = 60.0 / requests_per_minute
        self.max_retries = int(max_retries)
        self.retry_wait = float(retry_wait)
        self.timeout = float(timeout)
        self.temperature = float(temperature)
        self.show_progress = show_progress
        self.max_workers = int(max_workers)
        self._limiter = _RateLimiter(self.min_interval)
        self._count_lock = threading.Lock()
        self.requests_made = 0

    def cached(self) -> dict[str, dict[str, str]]:
        """``{key: {"prompt_sha", "text"}}`` from the cache file (later lines win; a torn last line is skipped)."""
        out: dict[str, dict[str, str]] = {}
        if not self.cache_file.is_file():
            return out
        with self.cache_file.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                    out[str(record["key"])] = {"prompt_sha": record["prompt_sha"], "text": record["text"]}
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
        return out

    def _append(self, key: str, prompt_sha: str, text: str) -> None:
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        torn = False
        if self.cache_file.is_file() and self.cache_file.stat().st_size:
            with self.cache_file.open("rb") as fh:
                fh.seek(-1, os.SEEK_END)
                torn = fh.read(1) != b"\n"  # a crash mid-write: start a fresh line, never glue onto it
        with self.cache_file.open("a", encoding="utf-8") as fh:
            if torn:
                fh.write("\n")
            fh.write(json.dumps({"key": key, "prompt_sha": prompt_sha, "text": text}, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _post(self, system: str, user: str, stop: threading.Event | None = None) -> str:
        """One answer, with rate limiting and retries; ``stop`` (set by a failure elsewhere) ends the retries."""
        body = json.dumps({
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": self.temperature,
        }).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        stop = stop if stop is not None else threading.Event()
        last_error = "no attempt"
        for attempt in range(self.max_retries + 1):
            if stop.wait(self._limiter.reserve()):
                raise ConnectionError(f"{last_error}; stopped after another request failed")
            with self._count_lock:
                self.requests_made += 1
            try:
                request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    payload = json.loads(response.read().decode("utf-8"))
                return str(payload["choices"][0]["message"]["content"]).strip()
            except urllib.error.HTTPError as exc:
                last_error = f"HTTP {exc.code} {exc.reason}"
                if exc.code != 429 and exc.code < 500:
                    raise LLMEndpointError(f"LLM endpoint {self.url} refused the request: {last_error}") from exc
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                last_error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            except (json.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
                last_error = f"malformed response ({exc!r})"
            if attempt < self.max_retries and stop.wait(self.retry_wait * 2**attempt):
                break
        raise ConnectionError(last_error)

    def _ask_concurrently(self, jobs: Iterable[_Job], record: Callable[[str, str, str], None]) -> None:
        """Send ``jobs`` from ``max_workers`` threads; ``record`` (called in this thread) caches each answer.

        At most ``2 · max_workers`` jobs are submitted ahead. The first failure (or an interrupt) stops new
        submissions and retries; answers of requests still in flight are recorded, then the error is raised.
        """
        stop = threading.Event()
        jobs = iter(jobs)
        pending: dict[Future[str], _Job] = {}
        failure: BaseException | None = None

        def collect(done: Iterable[Future[str]]) -> None:
            nonlocal failure
            for future in done:
                key, sha, _, _ = pending.pop(future)
                if future.cancelled():
                    continue
                error = future.exception()
                if error is None:
                    record(key, sha, future.result())
                elif failure is None:
                    failure = error
                    stop.set()

        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="llm-client") as pool:
            try:
                for job in itertools.islice(jobs, 2 * self.max_workers):
                    pending[pool.submit(self._post, job[2], job[3], stop)] = job
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    collect(done)
                    if failure is None:
                        for job in itertools.islice(jobs, 2 * self.max_workers - len(pending)):
                            pending[pool.submit(self._post, job[2], job[3], stop)] = job
            except BaseException:  # Ctrl-C: no new request or retry; answers in flight are still cached
                stop.set()
                for future in pending:
                    future.cancel()
                collect(wait(pending).done)
                raise
        if failure is not None:
            raise failure

    def summarize(self, prompts: Mapping[str, tuple[str, str]], what: str = "summaries") -> dict[str, str]:
        """Summaries for ``{key: (system prompt, user prompt)}``, from the cache or the endpoint.

        Returns:
            ``{key: summary}`` in the order of ``prompts``.

        Raises:
            LLMEndpointError: the endpoint stayed unreachable; finished summaries are in the cache file and a
                rerun asks only for the missing ones.
        """
        cache = self.cached()
        results: dict[str, str] = {}
        todo: list[_Job] = []
        for key, (system, user) in prompts.items():
            sha = _sha(system + "\x00" + user)
            hit = cache.get(key)
            if hit is not None and hit["prompt_sha"] == sha:
                results[key] = hit["text"]
            else:
                todo.append((key, sha, system, user))
        bar = tqdm(total=len(todo), desc=f"LLM {what}", disable=not self.show_progress or not todo)

        def record(key: str, sha: str, text: str) -> None:
            self._append(key, sha, text)
            results[key] = text
            bar.update()

        try:
            if self.max_workers == 1:
                for key, sha, system, user in todo:
                    record(key, sha, self._post(system, user))
            else:
                self._ask_concurrently(todo, record)
        except ConnectionError as exc:
            raise LLMEndpointError(
                f"LLM endpoint {self.url} is unreachable ({exc}) after {self.max_retries + 1} attempts; "
                f"{len(results)} of {len(prompts)} {what} are cached in {self.cache_file}; rerun to resume"
            ) from exc
        finally:
            bar.close()
        return {key: results[key] for key in prompts}


class LLMSource(SemanticSource):
    """Item (and window) vectors from LLM summaries of the item texts, embedded with a local text encoder.

    Args:
        item_texts: ``{item id: text}`` or a sequence indexed by item id: the item's basic information.
        summarizer: An :class:`LLMSummarizer`.
        encoder: :class:`TextEncoder` for the summaries (default all-MiniLM-L6-v2).
        domain: Word used in the prompts (``"movie"``, ``"beauty products"`` ...).
        user_vectors: ``"mean"`` (default, no per-window calls) or ``"text"`` (one preference summary per window:
            as many requests as windows).
        recency_decay: ``γ`` of the recency-weighted mean.
    """

    name = "llm"
    supported_user_modes = ("mean", "text")

    def __init__(
        self,
        item_texts: Mapping[int, str | None] | Sequence[str | None],
        summarizer: LLMSummarizer,
        encoder: TextEncoder | None = None,
        *,
        domain: str = "item",
        user_vectors: str = "mean",
        recency_decay: float = 0.9,
    ) -> None:
        super().__init__(user_vectors=user_vectors, recency_decay=recency_decay)
        self.item_texts = item_texts
        self.summarizer = summarizer
        self.encoder = encoder if encoder is not None else TextEncoder()
        self.domain = domain
        self._texts: list[str | None] | None = None

    def item_prompts(self, num_items: int) -> dict[str, tuple[str, str]]:
        self._texts = item_text_list(self.item_texts, num_items)
        system = ITEM_SYSTEM_PROMPT.format(domain=self.domain)
        return {
            f"item:{i}": (system, ITEM_USER_PROMPT.format(text=t))
            for i, t in enumerate(self._texts) if i > 0 and t is not None
        }

    def _item_matrix(self, num_items: int) -> Tensor:
        prompts = self.item_prompts(num_items)
        summaries = self.summarizer.summarize(prompts, what="item summaries")
        ids = [int(key.split(":", 1)[1]) for key in prompts]
        vectors = self.encoder.encode([summaries[key] for key in prompts])
        matrix = vectors.new_zeros(num_items + 1, vectors.size(1))
        matrix[ids] = vectors
        return matrix

    def _window_matrix(self, windows: Tensor, users: Tensor | None,
                       user_ids: Sequence[str] | None = None) -> Tensor:
        if self._texts is None:
            raise ValueError("call item_vectors(num_items) before window_vectors")
        if users is None:
            raise ValueError("LLM window summaries are cached per 'uid:i1:...' key: pass users")
        system = USER_SYSTEM_PROMPT.format(domain=self.domain)
        keys = [f"window:{k}" for k in window_keys(users, windows)]
        texts = window_texts(windows, self._texts)
        prompts = {key: (system, text) for key, text in zip(keys, texts)}
        summaries = self.summarizer.summarize(prompts, what="preference summaries")
        return self.encoder.encode([summaries[key] for key in keys])

    def describe_source(self) -> str:
        return f"LLM source ({self.summarizer.model} at {self.summarizer.url})"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "llm_model": self.summarizer.model, "model": self.encoder.model_name}
