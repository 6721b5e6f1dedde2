"""A micro-batcher in front of an encoder: concurrent callers share encoder calls.

Callers' texts queue up while the encoder is busy and go into the next call together, up to
`max_batch` texts; under concurrency (the last batch served several callers) a batch also waits
at most `max_wait` seconds (a few milliseconds) for company, while a lone caller on an idle server
never waits. One worker thread encodes each batch in one call and hands each caller its own rows
back, in order. When more than `max_queue` texts are
already waiting, a new caller is refused at once (`Overloaded`, a 503 with Retry-After at the
HTTP edge) instead of waiting without bound. A batch whose encoding fails fails only the callers
in it.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from bot.core.errors import Overloaded
from intents.encoder import Embedder, EncoderInfo


class _Request:
    __slots__ = ("texts", "future")

    def __init__(self, texts: list[str]):
        self.texts = texts
        self.future: Future = Future()


class BatchingEmbedder(Embedder):
    """Wraps `inner`; `encode_query` goes through the batcher, everything else straight through."""

    def __init__(self, inner: Embedder, max_batch: int = 64, max_wait: float = 0.004, max_queue: int = 2048):
        self.inner = inner
        self.max_batch, self.max_wait, self.max_queue = max_batch, max_wait, max_queue
        self._queue: deque[_Request] = deque()
        self._queued_texts = 0
        self._cond = threading.Condition()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="triage-encoder-batcher", daemon=True)
        self._worker.start()
        self.batches = 0  # encoder calls made (for tests and metrics)
        self._last_callers = 0  # callers served by the last batch: >1 means there is concurrency

    # -- the Embedder interface ----------------------------------------------------------------
    def info(self) -> EncoderInfo:
        return self.inner.info()

    def base_info(self) -> EncoderInfo:
        return self.inner.base_info()

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self.inner.embed(texts, progress=progress)

    def encode_document(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self.inner.encode_document(texts, progress=progress)

    def encode_query(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts or progress or len(texts) >= self.max_batch:  # big jobs gain nothing from waiting
            return self.inner.encode_query(texts, progress=progress)
        request = _Request(texts)
        with self._cond:
            if self._closed:
                raise RuntimeError("the encoder batcher is closed")
            if self._queued_texts + len(texts) > self.max_queue:
                raise Overloaded(f"the encoder queue is full ({self._queued_texts} texts waiting)")
            self._queue.append(request)
            self._queued_texts += len(texts)
            self._cond.notify()
        return request.future.result()

    # -- the worker ----------------------------------------------------------------------------
    def _take_batch(self) -> list[_Request]:
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if self._closed and not self._queue:
                return []
            deadline = time.monotonic() + (self.max_wait if self._last_callers > 1 else 0.0)
            while self._queued_texts < self.max_batch and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch, size = [], 0
            while self._queue and (not batch or size + len(self._queue[0].texts) <= self.max_batch):
                r = self._queue.popleft()
                batch.append(r)
                size += len(r.texts)
            self._queued_texts -= size
            self._last_callers = len(batch)
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if not batch:
                return
            flat = [t for r in batch for t in r.texts]
            try:
                vectors = self.inner.encode_query(flat)
            except BaseException as exc:  # only the callers of this batch see it
                for r in batch:
                    r.future.set_exception(exc)
                continue
            self.batches += 1
            pos = 0
            for r in batch:
                r.future.set_result(vectors[pos:pos + len(r.texts)])
                pos += len(r.texts)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._worker.join(timeout=10)
