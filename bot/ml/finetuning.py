"""Fine-tuning the encoder as a training step: settings in, a tuned embedder and its record out."""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from bot.core.settings import TrainingSettings
from bot.ml.artifacts import arrays_to_bytes
from bot.ml.model import TunedEncoder
from intents.encoder import Embedder, SentenceTransformerEmbedder
from intents.finetune import FineTuneConfig, fine_tune


def can_fine_tune(embedder: Embedder) -> bool:
    """Only sentence-transformers encoders (not an already tuned one) can be fine-tuned here."""
    return isinstance(embedder, SentenceTransformerEmbedder) and embedder.tuned is None


def tune_encoder(embedder: Embedder, texts: Sequence[str], labels: Sequence[str], settings: TrainingSettings,
                 progress: bool = False, log: Callable[[str], None] | None = None) -> tuple[Embedder, TunedEncoder]:
    """Fine-tune a copy of `embedder` on labelled texts (out-of-scope ones as negatives) within
    the `fine_tune_minutes` budget; the original embedder is left as it was."""
    assert isinstance(embedder, SentenceTransformerEmbedder)
    config = FineTuneConfig(epochs=settings.fine_tune_epochs, min_steps=settings.fine_tune_min_steps,
                            learning_rate=settings.fine_tune_learning_rate,
                            max_seconds=settings.fine_tune_minutes * 60.0, seed=settings.seed)
    model = embedder.torch_model()
    result = fine_tune(model, texts, labels, config, progress=progress, log=log)
    sha = hashlib.sha256(arrays_to_bytes(result.weights)).hexdigest()
    tuned = embedder.with_tuned(result.weights, sha, model=model)
    base = embedder.base_info()
    summary = {**result.summary(), "examples": len(texts), "config": config.to_json(),
               "base": base.to_json()}
    if log:
        budget = " (stopped by the time budget)" if result.stopped_by_budget else ""
        log(f"fine-tuned {base.name} on {len(texts)} examples: {result.steps} steps, "
            f"{result.epochs_done:.2f} epochs in {result.seconds:.0f} s{budget}")
    return tuned, TunedEncoder(result.weights, sha, base, summary)
