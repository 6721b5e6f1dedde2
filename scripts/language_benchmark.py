#!/usr/bin/env python
"""Per-language figures for the default bot, and Chinese FAQ retrieval on held-out paraphrases.

    python scripts/language_benchmark.py [--model models/default]

- eval_data/zh_faq: 111 Chinese paraphrases of the FAQ entries (never trained on) and 20 Chinese
  questions the bot does not cover. Prints hit@1 of the engine's top candidate and of the FAQ
  retriever alone, and how the out-of-scope questions were routed (none may be answered).
- eval_data/zh_faq_fresh: a second such set (111 + 10), written later and measured only after the
  training data last changed (see docs/benchmarks.md).
- eval_data/default_bot: the held-out test set, figures split by language.
- One phrasing per entry: index one Chinese phrasing of each default-bot FAQ entry, query with
  its other Chinese phrasings; hit@1 of the FAQ retriever against a plain character TF-IDF
  (1-2-grams, cosine) baseline, as a knowledge base that starts with one question per answer.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.settings import Settings  # noqa: E402
from bot.core.vocabulary import OUT_OF_SCOPE, faq_id_of
from bot.ml.engine import TriageEngine  # noqa: E402
from bot.ml.training_data import load_training_data
from bot.ml.validation import evaluate_engine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    args = ap.parse_args()
    detection(args.datasets)
    engine = TriageEngine.from_model_dir(args.model, Settings())
    for name in ("zh_faq", "zh_faq_fresh"):
        chinese_retrieval(engine, name)
    one_phrasing(engine)
    report = evaluate_engine(engine, load_training_data(ROOT / "eval_data" / "default_bot"))
    print("eval_data/default_bot by language:")
    print(json.dumps(report.by_language, indent=1))
    print(f"priority: P0 recall {report.p0_recall:.2%}, P0 precision {report.p0_precision:.2%}, "
          f"P0 not routed to a person {report.p0_not_to_person}, P0 answered {report.p0_answered}, "
          f"priority accuracy {report.priority_accuracy:.2%}")


def detection(datasets: Path) -> None:
    """Language detection (from the locale files) on messages of known language."""
    from bot.core.i18n import detect_language

    sets = {"zh": [e.text for n in ("zh_faq", "zh_faq_fresh")
                   for e in load_training_data(ROOT / "eval_data" / n).examples]}
    val = datasets / "clinc150" / "val.json"
    if val.exists():
        sets["en"] = [t for t, _ in json.loads(val.read_text(encoding="utf-8"))]
    for lang, texts in sets.items():
        wrong = [t for t in texts if detect_language(t) != lang]
        print(f"language detection, {lang} ({'CLINC150 val' if lang == 'en' else 'eval_data/zh_faq*'}): "
              f"{1 - len(wrong) / len(texts):.2%} of {len(texts)}" + (f"; e.g. {wrong[:3]}" if wrong else ""))


def chinese_retrieval(engine: TriageEngine, name: str) -> None:
    data = load_training_data(ROOT / "eval_data" / name)
    faq = [e for e in data.examples if e.label != OUT_OF_SCOPE]
    oos = [e for e in data.examples if e.label == OUT_OF_SCOPE]
    texts = [e.text for e in faq]
    X = engine.embedder.encode_query(texts)
    decisions = engine.predict(texts, embeddings=X)
    hits = engine.faq_index.search(X, texts, k=1)
    engine_hit = sum(d.candidates[0].intent == e.label for d, e in zip(decisions, faq) if d.candidates) / len(faq)
    retriever_hit = sum(bool(h) and h[0].faq_id == faq_id_of(e.label) for h, e in zip(hits, faq)) / len(faq)
    routes = {r: sum(d.route.value == r for d in decisions) for r in ("answer", "confirm", "escalate")}
    oos_dec = engine.predict([e.text for e in oos])
    oos_routes = {r: sum(d.route.value == r for d in oos_dec) for r in ("answer", "confirm", "escalate")}
    print(f"{name}: Chinese FAQ paraphrases: {len(faq)}; hit@1 engine top candidate {engine_hit:.2%}, "
          f"retriever alone {retriever_hit:.2%}; routes {routes}")
    print(f"{name}: Chinese out-of-scope questions: {len(oos)}; routes {oos_routes}; answered {oos_routes['answer']}")


def one_phrasing(engine: TriageEngine) -> None:
    """Index the first Chinese phrasing of each entry, query with the rest of its Chinese ones."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from bot.core.i18n import detect_language
    from kb_index.retrieval import FaqIndex
    from kb_index.store import FaqEntry

    entries, queries = [], []
    for e in load_training_data(ROOT / "training_data").faqs:
        zh = [q for q in e.questions if detect_language(q) == "zh"]
        if len(zh) < 2:
            continue
        entries.append(FaqEntry(e.id, zh[:1], e.answers, e.lang, e.tags, e.complexity, e.priority))
        queries += [(q, e.id) for q in zh[1:]]
    index = FaqIndex(engine.embedder, engine.locales).build(entries)
    texts = [q for q, _ in queries]
    hits = index.search(engine.embedder.encode_query(texts), texts, k=1)
    ours = sum(bool(h) and h[0].faq_id == fid for h, (_, fid) in zip(hits, queries)) / len(queries)
    tfidf = TfidfVectorizer(analyzer="char", ngram_range=(1, 2)).fit([e.questions[0] for e in entries])
    sims = (tfidf.transform(texts) @ tfidf.transform([e.questions[0] for e in entries]).T).toarray()
    base = sum(entries[int(i)].id == fid for i, (_, fid) in zip(sims.argmax(axis=1), queries)) / len(queries)
    print(f"one Chinese phrasing per entry ({len(entries)} entries, {len(queries)} queries): hit@1 FAQ retriever "
          f"{ours:.2%}, character TF-IDF baseline {base:.2%}")


if __name__ == "__main__":
    main()
