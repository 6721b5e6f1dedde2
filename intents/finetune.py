"""Contrastive fine-tuning of a sentence-transformers encoder on the bot's own examples.

Pairs of examples of the same intent are pulled together and pushed away from every other
example in the batch (in-batch negatives, as sentence-transformers' MultipleNegativesRankingLoss
does, both directions). Examples of the same intent that meet as negatives are masked, and
out-of-scope examples ride along in every batch as extra negatives that are never anchors, so
the encoder learns to keep them away from every intent.

Runs on the CPU within a time budget: the step time is measured on the first steps and the
learning-rate schedule is fitted to the steps the budget allows. Deterministic for a seed and a
thread count. Only the transformer layers are tuned (the word-embedding table stays as it is);
the tuned tensors are returned as float16 arrays, and the live model is rounded to the same
values, so what training measured is what a loaded model computes.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from bot.core.vocabulary import OUT_OF_SCOPE


@dataclass(frozen=True)
class FineTuneConfig:
    epochs: float = 1.0
    #: At least this many steps, however small the data (one epoch of 1,000 examples is 18 steps).
    min_steps: int = 0
    #: Texts per batch: pairs (two texts each) plus `oos_per_batch` out-of-scope negatives.
    batch_size: int = 64
    oos_per_batch: int = 8
    learning_rate: float = 5e-5
    warmup_share: float = 0.1
    #: Similarity scale (1 / temperature) of the contrastive softmax.
    scale: float = 20.0
    max_seq_length: int = 64
    #: Wall-clock budget for the optimisation steps; None = no limit.
    max_seconds: float | None = None
    seed: int = 13

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FineTuneResult:
    weights: dict[str, np.ndarray]  # tuned parameter name -> float16 array
    steps: int
    planned_steps: int
    epochs_done: float
    seconds: float
    last_loss: float
    stopped_by_budget: bool

    def summary(self) -> dict:
        return {"steps": self.steps, "planned_steps": self.planned_steps, "epochs": round(self.epochs_done, 3),
                "seconds": round(self.seconds, 1), "last_loss": round(self.last_loss, 4),
                "stopped_by_budget": self.stopped_by_budget,
                "parameters": int(sum(int(np.prod(a.shape)) for a in self.weights.values()))}


def pair_epoch(labels: Sequence[str], rng: np.random.Generator) -> list[tuple[int, int]]:
    """One epoch of same-label pairs: each in-scope example appears once (an odd one out is paired
    with a random other example of its label, a label of one example with itself)."""
    by: dict[str, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        if lab != OUT_OF_SCOPE:
            by[lab].append(i)
    pairs: list[tuple[int, int]] = []
    for lab in sorted(by):
        idx = np.array(by[lab])
        rng.shuffle(idx)
        for a in range(0, len(idx) - 1, 2):
            pairs.append((int(idx[a]), int(idx[a + 1])))
        if len(idx) % 2:
            other = idx[rng.integers(len(idx) - 1)] if len(idx) > 1 else idx[0]
            pairs.append((int(idx[-1]), int(other)))
    order = rng.permutation(len(pairs))
    return [pairs[i] for i in order]


def batches_of(pairs: list[tuple[int, int]], labels: Sequence[str], per_batch: int) -> list[list[tuple[int, int]]]:
    """Group pairs into batches, keeping one pair per label in a batch where the order allows
    (a pair whose label is already in the batch waits for the next one)."""
    out: list[list[tuple[int, int]]] = []
    waiting = list(pairs)
    while waiting:
        batch, seen, rest = [], set(), []
        for p in waiting:
            if len(batch) < per_batch and labels[p[0]] not in seen:
                batch.append(p)
                seen.add(labels[p[0]])
            else:
                rest.append(p)
        if len(batch) < per_batch:  # few labels left: fill up, collisions are masked in the loss
            take = per_batch - len(batch)
            batch, rest = batch + rest[:take], rest[take:]
        out.append(batch)
        waiting = rest
    return out


def contrastive_loss(emb, labels: Sequence[str], n_pairs: int, scale: float):
    """Symmetric in-batch-negatives loss. `emb` rows: anchors 0..P-1, their partners P..2P-1,
    then out-of-scope negatives. Each of the 2P paired rows must pick its partner among all other
    rows; rows of the same label other than the partner are masked."""
    import torch

    sims = scale * emb @ emb.T
    lab = np.array(labels, dtype=object)
    same = torch.from_numpy((lab[:, None] == lab[None, :]) & (lab[:, None] != OUT_OF_SCOPE))
    partner = torch.cat([torch.arange(n_pairs, 2 * n_pairs), torch.arange(0, n_pairs)])
    rows = torch.arange(2 * n_pairs)
    mask = same[: 2 * n_pairs].clone()
    mask[rows, partner] = False
    mask[rows, rows] = True
    logits = sims[: 2 * n_pairs].masked_fill(mask, float("-inf"))
    return torch.nn.functional.cross_entropy(logits, partner)


def _trainable(model) -> list[tuple[str, object]]:
    return [(n, p) for n, p in model.named_parameters() if "word_embeddings" not in n]


def fine_tune(model, texts: Sequence[str], labels: Sequence[str], config: FineTuneConfig,
              progress: bool = False, log: Callable[[str], None] | None = None) -> FineTuneResult:
    """Tune `model` (a SentenceTransformer, changed in place) on labelled texts."""
    import torch

    texts, labels = list(texts), list(labels)
    in_scope = [lab for lab in labels if lab != OUT_OF_SCOPE]
    if len(set(in_scope)) < 2:
        raise ValueError("fine-tuning needs at least two intents")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    oos_idx = np.array([i for i, lab in enumerate(labels) if lab == OUT_OF_SCOPE], dtype=np.int64)
    n_pairs = max(2, (config.batch_size - (config.oos_per_batch if len(oos_idx) else 0)) // 2)
    model.max_seq_length = min(model.max_seq_length, config.max_seq_length)

    epochs_planned = max(config.epochs, 1e-9)
    epoch_batches: list[list[tuple[int, int]]] = []
    steps_per_epoch = len(batches_of(pair_epoch(labels, np.random.default_rng(config.seed)), labels, n_pairs))
    total = max(1, config.min_steps, int(math.ceil(epochs_planned * steps_per_epoch)))

    params = _trainable(model)
    for n, p in model.named_parameters():
        p.requires_grad_("word_embeddings" not in n)
    opt = torch.optim.AdamW([p for _, p in params], lr=config.learning_rate, weight_decay=0.01)
    planned = total
    model.train()

    def lr_at(step: int) -> float:
        warm = max(1, int(config.warmup_share * planned))
        if step < warm:
            return config.learning_rate * (step + 1) / warm
        return config.learning_rate * max(0.0, (planned - step) / max(1, planned - warm))

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=planned, desc="fine-tuning encoder", unit="step")
    t0 = time.perf_counter()
    step, loss_value, stopped = 0, float("nan"), False
    while step < planned:
        if not epoch_batches:
            epoch_batches = batches_of(pair_epoch(labels, rng), labels, n_pairs)
        batch = epoch_batches.pop(0)
        a = [i for i, _ in batch]
        b = [j for _, j in batch]
        negs = (rng.choice(oos_idx, size=min(config.oos_per_batch, len(oos_idx)), replace=False).tolist()
                if len(oos_idx) and config.oos_per_batch else [])
        rows = a + b + negs
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        features = model.preprocess([texts[i] for i in rows])
        emb = model(features)["sentence_embedding"]
        loss = contrastive_loss(emb, [labels[i] for i in rows], len(batch), config.scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
        opt.step()
        loss_value = float(loss.detach())
        step += 1
        elapsed = time.perf_counter() - t0
        if config.max_seconds is not None:
            if step == 3 and planned > 3:
                # Fit the schedule to the budget, measured on the first steps.
                affordable = int(config.max_seconds / (elapsed / step))
                if affordable < planned:
                    planned = max(step + 1, affordable)
                    if bar is not None:
                        bar.total = planned
                        bar.refresh()
                    if log:
                        log(f"fine-tuning: the {config.max_seconds:.0f} s budget allows {planned} of {total} steps")
            if elapsed >= config.max_seconds and step < planned:
                stopped = True
                break
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.3f}")
    if bar is not None:
        bar.close()
    model.eval()
    weights: dict[str, np.ndarray] = {}
    with torch.no_grad():
        for name, p in params:
            half = p.detach().to(torch.float16)
            p.copy_(half.to(p.dtype))  # the live model computes exactly what a loaded one will
            weights[name] = half.numpy().copy()
        for p in model.parameters():
            p.requires_grad_(False)
    return FineTuneResult(weights, step, planned, step / steps_per_epoch, time.perf_counter() - t0,
                          loss_value, stopped)
