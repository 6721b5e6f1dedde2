"""The trained model as one typed bundle, and its (de)serialisation to a model directory."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.artifacts import arrays_from_bytes, arrays_to_bytes, json_bytes, read_model_dir, write_model_dir
from bot.errors import ModelError
from bot.policy import Thresholds
from bot.training_data import IntentMeta
from escalation.urgency import UrgencyThresholds
from intents.calibration import Platt
from intents.classifier import IntentClassifier
from intents.encoder import EncoderInfo
from kb_index.retrieval import FaissIndex
from kb_index.store import FaqEntry


@dataclass
class TriageModel:
    encoder: EncoderInfo
    classifier: IntentClassifier
    calibration: Platt  # classifier raw score -> confidence
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
                "thresholds": self.thresholds.to_json(),
                "meta": {k: v.to_json() for k, v in sorted(self.meta.items())},
                "report": self.report,
            }),
            "classifier.json": json_bytes(clf_meta),
            "classifier.safetensors": arrays_to_bytes(clf_arrays),
            "faq.json": json_bytes([e.to_json() for e in self.faqs]),
            "faq_index.faiss": faiss_index.to_bytes(),
        }
        if self.urgency is not None:
            u_meta, u_arrays = self.urgency.to_state()
            files["urgency.json"] = json_bytes({**u_meta, "thresholds": self.urgency_thresholds.to_json(),
                                                "texts": self.urgency_texts})
            files["urgency.safetensors"] = arrays_to_bytes(u_arrays)
        if self.complexity is not None:
            c_meta, c_arrays = self.complexity.to_state()
            files["complexity.json"] = json_bytes(c_meta)
            files["complexity.safetensors"] = arrays_to_bytes(c_arrays)
        write_model_dir(path, files, {"encoder": self.encoder.to_json()})

    @classmethod
    def load(cls, path: Path) -> "TriageModel":
        manifest, files = read_model_dir(path)
        try:
            cfg = json.loads(files["config.json"])
            clf = IntentClassifier.from_state(json.loads(files["classifier.json"]),
                                              arrays_from_bytes(files["classifier.safetensors"]))
            faqs = [FaqEntry.from_json(d) for d in json.loads(files["faq.json"])]
            index = FaissIndex.from_bytes(files["faq_index.faiss"])
            matrix = index._index.reconstruct_n(0, len(index)) if len(index) else np.zeros((0, index.dim), np.float32)
            vectors, pos = {}, 0
            for e in faqs:
                vectors[e.id] = matrix[pos:pos + len(e.questions)]
                pos += len(e.questions)
            if pos != len(index):
                raise ValueError("faq_index.faiss does not match faq.json")
            urgency, u_th, u_texts = None, UrgencyThresholds(), []
            if "urgency.json" in files:
                u_meta = json.loads(files["urgency.json"])
                urgency = IntentClassifier.from_state(u_meta, arrays_from_bytes(files["urgency.safetensors"]))
                u_th, u_texts = UrgencyThresholds.from_json(u_meta["thresholds"]), list(u_meta["texts"])
            complexity = None
            if "complexity.json" in files:
                complexity = IntentClassifier.from_state(json.loads(files["complexity.json"]),
                                                         arrays_from_bytes(files["complexity.safetensors"]))
            return cls(
                urgency=urgency, urgency_thresholds=u_th, urgency_texts=u_texts, complexity=complexity,
                encoder=EncoderInfo.from_json(cfg["encoder"]),
                classifier=clf,
                calibration=Platt.from_json(cfg["calibration"]),
                retrieval_calibration=Platt.from_json(cfg["retrieval_calibration"]),
                thresholds=Thresholds.from_json(cfg["thresholds"]),
                meta={k: IntentMeta.from_json(v) for k, v in cfg["meta"].items()},
                faqs=faqs,
                faq_vectors=vectors,
                report=cfg.get("report", {}),
            )
        except ModelError:
            raise
        except Exception as exc:  # a file that hashes right but does not parse: report, don't crash
            raise ModelError(f"corrupt model: {type(exc).__name__}: {exc}", Path(path)) from exc
