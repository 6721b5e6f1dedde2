"""The encoder micro-batcher: shared calls, right rows to the right callers, bounded queue."""
import threading

import numpy as np
import pytest

from bot.core.errors import Overloaded
from intents.batching import BatchingEmbedder
from intents.encoder import FakeEmbedder


class Recording(FakeEmbedder):
    def __init__(self, fail_on: str | None = None, gate: threading.Event | None = None):
        super().__init__(16)
        self.calls: list[list[str]] = []
        self.fail_on, self.gate = fail_on, gate
        self.started = threading.Event()

    def embed(self, texts, *, progress=False):
        self.started.set()
        if self.gate is not None:
            self.gate.wait(10)
        self.calls.append(list(texts))
        if self.fail_on and self.fail_on in texts:
            raise RuntimeError("encoder failed")
        return super().embed(texts)


def run_concurrently(fn, args):
    out, errors = [None] * len(args), [None] * len(args)
    start = threading.Barrier(len(args))

    def call(i):
        start.wait()
        try:
            out[i] = fn(args[i])
        except Exception as e:
            errors[i] = e
    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out, errors


def test_concurrent_callers_share_calls_and_get_their_own_rows_in_order():
    inner = Recording()
    b = BatchingEmbedder(inner, max_batch=64, max_wait=0.05)
    reference = FakeEmbedder(16)
    texts = [[f"caller {i} text {j}" for j in range(1 + i % 3)] for i in range(16)]
    out, errors = run_concurrently(b.encode_query, texts)
    assert errors == [None] * 16
    for mine, vecs in zip(texts, out):
        assert np.allclose(vecs, reference.embed(mine))               # my rows, in my order
    assert len(inner.calls) < 16                                      # calls were shared
    b.close()


def test_a_failing_batch_fails_only_its_callers():
    gate = threading.Event()
    inner = Recording(fail_on="poison", gate=gate)
    b = BatchingEmbedder(inner, max_batch=2, max_wait=0.2)
    results = {}

    def call(name, texts):
        try:
            results[name] = b.encode_query(texts)
        except RuntimeError as e:
            results[name] = e
    first = threading.Thread(target=call, args=("bad", ["poison", "x"]))  # a batch of its own (2 texts)
    first.start()
    assert inner.started.wait(10)                                     # the bad batch is in the encoder
    second = threading.Thread(target=call, args=("good", ["fine text"]))
    second.start()
    gate.set()
    first.join()
    second.join()
    assert isinstance(results["bad"], RuntimeError)
    assert isinstance(results["good"], np.ndarray) and results["good"].shape == (1, 16)
    b.close()


def test_a_full_queue_refuses_at_once():
    import time

    gate = threading.Event()
    inner = Recording(gate=gate)                                      # the encoder gets stuck
    b = BatchingEmbedder(inner, max_batch=4, max_wait=0.0, max_queue=4)
    first = threading.Thread(target=b.encode_query, args=(["t0"],))
    first.start()
    assert inner.started.wait(10)                                     # one batch in the encoder
    holders = [threading.Thread(target=b.encode_query, args=([f"t{i}"],)) for i in range(1, 5)]
    for t in holders:
        t.start()
    deadline = time.monotonic() + 10
    while b._queued_texts < 4 and time.monotonic() < deadline:          # four waiting: the queue is full
        time.sleep(0.01)
    with pytest.raises(Overloaded, match="queue is full"):
        b.encode_query(["one more"])
    gate.set()
    for t in [first, *holders]:
        t.join()
    b.close()


def test_a_full_queue_is_a_503_with_retry_after(db_engine, tiny_model, fake_embedder, monkeypatch):
    from tests.bot.interfaces.test_api import H, new_conv
    from tests.bot.interfaces.test_hardening import settings_for
    from tests.factories import api_client, make_service

    s = settings_for()
    svc = make_service(db_engine, tiny_model, fake_embedder, s)
    svc.engine.batch_queries(8, 0.001, 8)

    batcher = svc.engine.embedder
    with batcher._cond:
        batcher._queued_texts = 8  # as if 8 texts were waiting: the queue is full
    with api_client(svc, s) as c:
        cid, token = new_conv(c)
        r = c.post(f"/conversations/{cid}/messages", json={"text": "what are the trading fees"}, headers=H(token))
        assert r.status_code == 503 and r.headers["retry-after"] and "queue is full" in r.json()["detail"]
