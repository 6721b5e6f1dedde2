"""The trained model as one typed bundle, and its (de)serialisation to a model directory."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.core.errors import EncoderError, ModelError
from bot.core.vocabulary import IntentMeta
from bot.ml.artifacts import (
    arrays_from_bytes,
    arrays_to_bytes,
    json_bytes,
    read_model_dir,
    write_model_dir,
)
from bot.ml.policy import Thresholds
from escalation.urgency import UrgencyThresholds
from intents.calibration import Platt
from intents.classifier import IntentClassifier
from intents.encoder import Embedder, EncoderInfo
from kb_index.retrieval import FaissIndex
from kb_index.store import FaqEntry

TUNED_FILE = "encoder_tuned.safetensors"
#: The approximate FAQ index's lists (written when training searched one).
CENTROIDS_FILE = "faq_centroids.safetensors"


@dataclass
class TunedEncoder:
    """Fine-tuned encoder tensors (applied over the base encoder's weights) and their record."""

    weights: dict[str, np.ndarray]
    sha256: str  # of the safetensors file: the tuned encoder's identity
    base: EncoderInfo
    summary: dict = field(default_factory=dict)  # steps, time, configuration

    def to_json(self) -> dict:
        return {"file": TUNED_FILE, "sha256": self.sha256, "base": self.base.to_json(), "summary": self.summary}


def check_encoder(model_encoder: EncoderInfo, configured: EncoderInfo) -> None:
    if not model_encoder.same_encoder(configured):
        def described(e: EncoderInfo) -> str:
            return f"{e.name!r} (sha256 {e.weights_sha256[:12]}…, dim {e.dim}, {e.precision})"

        raise EncoderError(
            f"model was trained with encoder {described(model_encoder)} but the configured encoder is "
            f"{described(configured)}; set TRIAGE_ENCODER (and TRIAGE_ENCODER_PRECISION) to the training "
            f"encoder or retrain")


@dataclass
class TriageModel:
    encoder: EncoderInfo
    classifier: IntentClassifier
    calibration: Platt  # classifier raw score (and margin) -> confidence
    retrieval_calibration: Platt  # FAQ retrieval score -> confidence (entries new since training)
    thresholds: Thresholds
    meta: dict[str, IntentMeta]
    faqs: list[FaqEntry]
    faq_vectors: dict[str, np.ndarray]
    report: dict = field(default_factory=dict)  # what training measured on its held-out part
    urgency: IntentClassifier | None = None  # P0/P1/P2 from the message itself
    urgency_thresholds: UrgencyThresholds = field(default_factory=UrgencyThresholds)
    urgency_texts: list[str] = field(default_factory=list)  # its training examples, quoted as evidence
    complexity: IntentClassifier | None = None  # simple/medium/complex from the message itself
    tuned: TunedEncoder | None = None  # fine-tuned encoder weights, applied over `encoder`
    scope_calibration: Platt | None = None  # scope mix -> confidence; None: `calibration` of the raw score
    #: The approximate FAQ index's lists (when training searched one), so loading does not cluster again.
    faq_centroids: np.ndarray | None = None
    #: The first 12 hex digits of the SHA-256 of the model's manifest (which lists every file's
    #: hash): one identity per trained model, recorded with each bot reply. Empty before saving.
    fingerprint: str = ""

    def bind_encoder(self, embedder: Embedder) -> Embedder:
        """The embedder this model predicts with: `embedder` itself for a model trained on a plain
        encoder (checked to be the same), or the base `embedder` with the model's fine-tuned
        weights applied (an embedder already carrying those weights is used as it is)."""
        if self.tuned is None:
            check_encoder(self.encoder, embedder.info())
            return embedder
        if embedder.info().weights_sha256 == self.tuned.sha256 and embedder.info().precision == self.encoder.precision:
            return embedder
        check_encoder(self.encoder, embedder.base_info())
        with_tuned = getattr(embedder, "with_tuned", None)
        if with_tuned is None:
            raise EncoderError(f"the {embedder.info().name} encoder cannot carry fine-tuned weights")
        return with_tuned(self.tuned.weights, self.tuned.sha256)

    def save(self, path: Path) -> None:
        clf_meta, clf_arrays = self.classifier.to_state()
        vec_ids = [e.id for e in self.faqs]
        faq_matrix = (np.vstack([self.faq_vectors[i] for i in vec_ids]) if vec_ids
                      else np.zeros((0, self.encoder.dim), np.float32))
        faiss_index = FaissIndex(self.encoder.dim)
        faiss_index.add(faq_matrix)
        files = {
            "config.json": json_bytes({
                "encoder": self.encoder.to_json(),
                "calibration": self.calibration.to_json(),
                "retrieval_calibration": self.retrieval_calibration.to_json(),
                **({"scope_calibration": self.scope_calibration.to_json()} if self.scope_calibration else {}),
                "thresholds": self.thresholds.to_json(),
                "meta": {k: v.to_json() for k, v in sorted(self.meta.items())},
                "report": self.report,
            }),
            "classifier.json": json_bytes(clf_meta),
            "classifier.safetensors": arrays_to_bytes(clf_arrays),
            "faq.json": json_bytes([e.to_json() for e in self.faqs]),
            "faq_index.faiss": faiss_index.to_bytes(),
        }
        if self.faq_centroids is not None:
            files[CENTROIDS_FILE] = arrays_to_bytes({"centroids": np.asarray(self.faq_centroids, np.float32)})
        if self.urgency is not None:
            u_meta, u_arrays = self.urgency.to_state()
            files["urgency.json"] = json_bytes({**u_meta, "thresholds": self.urgency_thresholds.to_json(),
                                                "texts": self.urgency_texts})
            files["urgency.safetensors"] = arrays_to_bytes(u_arrays)
        if self.complexity is not None:
            c_meta, c_arrays = self.complexity.to_state()
            files["complexity.json"] = json_bytes(c_meta)
            files["complexity.safetensors"] = arrays_to_bytes(c_arrays)
        info = {"encoder": self.encoder.to_json()}
        if self.tuned is not None:
            files[TUNED_FILE] = arrays_to_bytes(self.tuned.weights)
            if hashlib.sha256(files[TUNED_FILE]).hexdigest() != self.tuned.sha256:
                raise ModelError("fine-tuned encoder weights do not match their recorded SHA-256", Path(path))
            info["tuned_encoder"] = self.tuned.to_json()
        write_model_dir(path, files, info)

    @classmethod
    def load(cls, path: Path) -> "TriageModel":
        manifest, files = read_model_dir(path)
        try:
            cfg = json.loads(files["config.json"])
            clf = IntentClassifier.from_state(json.loads(files["classifier.json"]),
                                              arrays_from_bytes(files["classifier.safetensors"]))
            faqs = [FaqEntry.from_json(d) for d in json.loads(files["faq.json"])]
            index = FaissIndex.from_bytes(files["faq_index.faiss"])
            matrix = index.vectors()
            vectors, pos = {}, 0
            for e in faqs:
                vectors[e.id] = matrix[pos:pos + len(e.questions)]
                pos += len(e.questions)
            if pos != len(index):
                raise ValueError("faq_index.faiss does not match faq.json")
            centroids = dict(arrays_from_bytes(files[CENTROIDS_FILE]))["centroids"] if CENTROIDS_FILE in files else None
            if centroids is not None and centroids.shape[1:] != matrix.shape[1:]:
                raise ValueError(f"{CENTROIDS_FILE} does not match faq_index.faiss")
            urgency, u_th, u_texts = None, UrgencyThresholds(), []
            if "urgency.json" in files:
                u_meta = json.loads(files["urgency.json"])
                urgency = IntentClassifier.from_state(u_meta, arrays_from_bytes(files["urgency.safetensors"]))
                u_th, u_texts = UrgencyThresholds.from_json(u_meta["thresholds"]), list(u_meta["texts"])
            tuned = None
            if "tuned_encoder" in manifest:
                rec = manifest["tuned_encoder"]
                data = files.get(rec["file"])
                if data is None:
                    raise ModelError(f"corrupt model: {rec['file']} is not listed in manifest.json", Path(path))
                if hashlib.sha256(data).hexdigest() != rec["sha256"]:
                    raise ModelError(f"tampered or corrupt model: {rec['file']} is not the fine-tuned encoder "
                                     "this model was trained with", Path(path))
                tuned = TunedEncoder(dict(arrays_from_bytes(data)), rec["sha256"], EncoderInfo.from_json(rec["base"]),
                                     dict(rec.get("summary", {})))
            complexity = None
            if "complexity.json" in files:
                complexity = IntentClassifier.from_state(json.loads(files["complexity.json"]),
                                                         arrays_from_bytes(files["complexity.safetensors"]))
            return cls(
                fingerprint=hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:12],
                urgency=urgency, urgency_thresholds=u_th, urgency_texts=u_texts, complexity=complexity, tuned=tuned,
                encoder=EncoderInfo.from_json(cfg["encoder"]),
                classifier=clf,
                calibration=Platt.from_json(cfg["calibration"]),
                retrieval_calibration=Platt.from_json(cfg["retrieval_calibration"]),
                scope_calibration=Platt.from_json(cfg["scope_calibration"]) if "scope_calibration" in cfg else None,
                thresholds=Thresholds.from_json(cfg["thresholds"]),
                meta={k: IntentMeta.from_json(v) for k, v in cfg["meta"].items()},
                faqs=faqs,
                faq_vectors=vectors,
                faq_centroids=centroids,
                report=cfg.get("report", {}),
            )
        except ModelError:
            raise
        except Exception as exc:  # a file that hashes right but does not parse: report, don't crash
            raise ModelError(f"corrupt model: {type(exc).__name__}: {exc}", Path(path)) from exc
