"""Run a sentence-transformers encoder through ONNX Runtime.

The model's transformer is exported once to ONNX (from the loaded weights, fine-tuned ones
included; nothing is downloaded) and cached beside a JSON record of the file's SHA-256, checked at
every load. Tokenisation, pooling and normalisation stay those of the sentence-transformers model,
so the vectors are the same (cosine ≥ 0.99999 to the PyTorch ones; a test checks it).

Why: a forward pass is one call into ONNX Runtime, which releases the GIL for all of it, where
PyTorch runs a few hundred Python-level steps that each need the GIL back. A server's request
threads hold the GIL between them, so under load the PyTorch encoder waited on them (a batch of
six short texts took 81 ms with 16 clients instead of about 15 ms); it is also faster on its own.

With precision "int8" the export's matrix weights are then quantized to 8 bits per output channel
(ONNX Runtime's dynamic quantization; activations quantized per call), cached beside it: about
twice the texts per second on 2 cores, vectors at cosine ~0.99 to the float ones
(`scripts/encoder_benchmark.py`). A model records the precision it was trained with.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import warnings
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bot.core.errors import EncoderError
from intents.encoder import file_sha256

#: The transformer inputs the export knows how to feed (models take a subset of them).
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "triage" / "onnx"


def _variant(key: str, precision: str) -> str:
    """The cache name of `key`'s export at `precision` (the float export keeps the bare key)."""
    return key if precision == "float32" else f"{key}-{precision}"


def _cached(cache_dir: Path, key: str) -> Path | None:
    """The cached export named `key`, if its recorded SHA-256 still matches."""
    path, record = cache_dir / f"{key}.onnx", cache_dir / f"{key}.json"
    try:
        if path.exists() and record.exists() and json.loads(record.read_text()).get("sha256") == file_sha256(path):
            return path
    except (OSError, ValueError):
        pass  # unreadable or altered: export again
    return None


def _described(model_dir: Path) -> tuple[str, int, bool] | None:
    """(pooling, max length, lower-case) of a Transformer + Pooling [+ Normalize] directory, read
    from its files; None when it is anything else (then the model itself is loaded and asked)."""
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((model_dir / "modules.json").read_text())]
        bert = json.loads((model_dir / "sentence_bert_config.json").read_text())
        pool = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if modules not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) \
            or not bert.get("max_seq_length"):
        return None
    modes = frozenset(k for k, v in pool.items() if k.startswith("pooling_mode") and v is True)
    pooling = {frozenset({"pooling_mode_mean_tokens"}): "mean", frozenset({"pooling_mode_cls_token"}): "cls"}.get(modes)
    return (pooling, int(bert["max_seq_length"]), bool(bert.get("do_lower_case"))) if pooling else None


class OnnxEncoder:
    """A sentence encoder run by ONNX Runtime: a tokenizer, the exported transformer at `path`,
    and the pooling. Made by `from_model` (a loaded `SentenceTransformer`, exported if need be) or
    `from_cache` (without PyTorch, when the export is cached: a server starts seconds sooner)."""

    def __init__(self, tokenizer, path: Path, pooling: str, max_length: int, lower: bool, threads: int = 0,
                 workers: int | None = None):
        self.tokenizer, self.pooling, self.max_length, self.lower = tokenizer, pooling, max_length, lower
        self.path = Path(path)
        # A fast tokenizer sets its padding and truncation per call and refuses to be used by two
        # threads at once ("Already borrowed"); the run itself is thread-safe.
        self._tokenizer_lock = threading.Lock()
        self.inputs = [n for n in _INPUTS if n in tokenizer(["a"], return_tensors="np")]
        self.session = self._session(threads)
        #: Texts spanning several batches run on this many cores at once, one batch per core (see
        #: `encode`); 1 keeps every batch on `session`.
        self.workers = max(1, workers if workers is not None else len(os.sched_getaffinity(0)))
        self._bulk = None
        self._bulk_lock = threading.Lock()

    def _session(self, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        # Idle pool threads would spin for the next call, taking the cores from request threads.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def _bulk_runner(self) -> tuple[object, ThreadPoolExecutor]:
        """A one-thread session run by `workers` threads at once, made on first use."""
        with self._bulk_lock:
            if self._bulk is None:
                self._bulk = (self._session(1), ThreadPoolExecutor(self.workers, thread_name_prefix="triage-encode"))
            return self._bulk

    @classmethod
    def from_cache(cls, model_dir: Path, key: str, cache_dir: Path | None = None,
                   precision: str = "float32") -> "OnnxEncoder | None":
        """Without loading the model, when its export is cached (for int8: the quantized one, or
        the float one to quantize) and its directory says how it tokenises and pools; else None."""
        cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        described = _described(Path(model_dir))
        if described is None:
            return None
        path = _cached(cache_dir, _variant(key, precision))
        if path is None and precision != "float32" and (source := _cached(cache_dir, key)) is not None:
            path = _quantize_to(source, _variant(key, precision), cache_dir)
        if path is None:
            return None
        from transformers import AutoTokenizer

        pooling, max_length, lower = described
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        return cls(tokenizer, path, pooling, max_length, lower)

    @classmethod
    def from_model(cls, st, key: str, cache_dir: Path | None = None, precision: str = "float32") -> "OnnxEncoder":
        """From a loaded SentenceTransformer (`st`, fine-tuned weights applied), whose weights
        `key` names; exported into `cache_dir` (and quantized, for int8) unless a valid export is
        there."""
        modules = [type(m).__name__ for m in st]
        if not modules or modules[0] != "Transformer" or any(m not in ("Transformer", "Pooling", "Normalize")
                                                              for m in modules):
            raise EncoderError(f"the ONNX backend runs Transformer + Pooling models, not {' + '.join(modules)}; "
                               f"set TRIAGE_ENCODER_BACKEND=torch")
        pooling = st[1].get_config_dict().get("pooling_mode", "mean") if len(st) > 1 else "mean"
        if pooling not in ("mean", "cls"):
            raise EncoderError(f"the ONNX backend supports mean or CLS pooling, not {pooling!r}; "
                               f"set TRIAGE_ENCODER_BACKEND=torch")
        cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        path = _cached(cache_dir, key) or _export_to(st, key, cache_dir)
        if precision != "float32":
            path = _cached(cache_dir, _variant(key, precision)) or _quantize_to(path, _variant(key, precision), cache_dir)
        return cls(st.tokenizer, path, pooling, int(st.max_seq_length), bool(getattr(st[0], "do_lower_case", False)))

    # -- encoding -------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str], batch_size: int, progress: bool = False) -> np.ndarray:
        """Unit-length vectors of `texts`, in batches of similar length (less padding).

        One batch runs on `session` with every core. Several batches run `workers` at a time on a
        one-thread session, one per core: a transformer on a dozen short texts splits poorly
        across cores (3-28% more texts per second on 2 cores, depending on how busy the machine is;
        `scripts/encoder_benchmark.py`)."""
        texts = [t.lower() for t in texts] if self.lower else list(texts)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        batches = [order[a:a + batch_size] for a in range(0, len(texts), batch_size)]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(batches), desc="Encoding", unit="batch")
        out: np.ndarray | None = None
        try:
            for rows, vecs in self._encoded(texts, batches):
                if out is None:
                    out = np.empty((len(texts), vecs.shape[1]), dtype=np.float32)
                out[rows] = vecs
                if bar is not None:
                    bar.update()
        finally:
            if bar is not None:
                bar.close()
        return out

    def _encoded(self, texts: list[str], batches: list[np.ndarray]):
        """(rows, vectors) per batch, in order: one after another on `session`, or at most two
        batches a core in flight on the bulk session."""
        if len(batches) == 1 or self.workers == 1:
            for rows in batches:
                yield rows, self._run(self.session, texts, rows)
            return
        session, pool = self._bulk_runner()
        pending: deque = deque()
        try:
            for rows in batches:
                pending.append((rows, pool.submit(self._run, session, texts, rows)))
                if len(pending) >= 2 * self.workers:
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
        finally:
            for _, future in pending:  # a batch failed or the caller was interrupted: stop the rest
                future.cancel()

    def _run(self, session, texts: list[str], rows: np.ndarray) -> np.ndarray:
        with self._tokenizer_lock:
            enc = self.tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="np")
        hidden = session.run(None, {n: enc[n].astype(np.int64) for n in self.inputs})[0]
        if self.pooling == "cls":
            vecs = hidden[:, 0]
        else:
            mask = enc["attention_mask"][..., None].astype(np.float32)
            vecs = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return vecs / np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)

# -- export ---------------------------------------------------------------------------------------
def _write_cached(cache_dir: Path, key: str, write) -> Path:
    """Run `write(path)` into a temporary file, then publish it as `key` with its SHA-256 record."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        cache_dir = Path(tempfile.mkdtemp(prefix="triage-onnx-"))  # read-only home: this process only
    path, record = cache_dir / f"{key}.onnx", cache_dir / f"{key}.json"
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".onnx.part")
    os.close(fd)
    try:
        write(Path(tmp))
        digest = file_sha256(Path(tmp))
        os.replace(tmp, path)  # atomic: two processes writing at once each write a whole file
        record.write_text(json.dumps({"sha256": digest}))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _export_to(st, key: str, cache_dir: Path) -> Path:
    return _write_cached(cache_dir, key, lambda path: _export(st, path))


class _NoPreprocessingHint(logging.Filter):
    """ONNX Runtime's quantizer logs advice for image models ("run pre-processing") on every call."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing" not in record.getMessage()


def _quantize_to(source: Path, key: str, cache_dir: Path) -> Path:
    """`source` with its MatMul weights in signed 8 bits per output channel, cached as `key`.

    Per channel keeps the vectors closest to the float ones (cosine ~0.99 against ~0.97 with one
    scale per matrix); `reduce_range` (7-bit weights) avoids the saturation of 8-bit products on
    x86 cores without VNNI, so vectors made on a CPU with VNNI and on one without agree (up to
    rounding)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def write(path: Path) -> None:
        hint = _NoPreprocessingHint()
        logging.getLogger().addFilter(hint)
        try:
            quantize_dynamic(str(source), str(path), weight_type=QuantType.QInt8, per_channel=True,
                             reduce_range=True, op_types_to_quantize=["MatMul"])
        except Exception as exc:  # one clear line instead of the quantizer's trace
            raise EncoderError(f"cannot quantize the encoder to int8 ({exc}); set TRIAGE_ENCODER_PRECISION=float32") from exc
        finally:
            logging.getLogger().removeFilter(hint)

    return _write_cached(cache_dir, key, write)


def _export(st, path: Path) -> None:
    import torch

    names = [n for n in _INPUTS if n in st.tokenizer(["a"], return_tensors="np")]

    class Transformer(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, *args):
            return self.model(**dict(zip(names, args))).last_hidden_state

    sample = st.tokenizer(["an example sentence to trace"], return_tensors="pt")
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on tracing, not the user's concern
            torch.onnx.export(Transformer(st[0].auto_model).eval(), tuple(sample[n] for n in names), str(path),
                              input_names=list(names), output_names=["last_hidden_state"],
                              dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "tokens"}},
                              opset_version=17, dynamo=False)
    except Exception as exc:  # one clear line instead of the exporter's trace
        raise EncoderError(f"cannot export the encoder to ONNX ({exc}); set TRIAGE_ENCODER_BACKEND=torch") from exc
