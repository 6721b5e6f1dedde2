"""Write an evaluation report directory: JSON, plots, misclassified examples and an index.html."""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from bot.ml.evaluation import EvalReport


def _plots(report: EvalReport, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(report.confusion_labels)
    cm = np.array(report.confusion, dtype=float)
    total = len(labels)
    # Readable labels: at most SHOWN intents, those with the most confusion (errors in their row
    # and column), so a large model's matrix is not a wall of unreadable ticks.
    SHOWN = 40
    if total > SHOWN:
        off = cm - np.diag(np.diag(cm))
        keep = np.sort(np.argsort(-(off.sum(axis=0) + off.sum(axis=1)), kind="stable")[:SHOWN])
        cm, labels = cm[np.ix_(keep, keep)], [labels[i] for i in keep]
    n = len(labels)
    size = min(5 + n * 0.32, 22)
    fig, ax = plt.subplots(figsize=(size, size))
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    short = [lab if len(lab) <= 28 else lab[:27] + "…" for lab in labels]
    ax.set_xticks(range(n), short, rotation=60, ha="right", rotation_mode="anchor", fontsize=10)
    ax.set_yticks(range(n), short, fontsize=10)
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("true intent")
    ax.set_title("Which intents are mistaken for which (share of each true intent)"
                 + (f"\nthe {n} most confused of {total} intents" if total > n else ""))
    fig.tight_layout()
    fig.savefig(out / "confusion_matrix.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    if report.risk_coverage:
        _, cov, prec = zip(*report.risk_coverage)
        ax.plot(cov, prec, marker=".", label="answer threshold sweep")
    ax.scatter([report.answer_coverage], [report.answer_precision or 0], color="red", zorder=3,
               label="calibrated answer threshold")
    ax.set_xlabel("answer coverage (share of in-scope queries answered)")
    ax.set_ylabel("answer precision")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(max(0.0, min([p for *_, p in report.risk_coverage] + [report.answer_precision or 1]) - 0.02), 1.005)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    ax.set_title("Risk–coverage")
    fig.tight_layout()
    fig.savefig(out / "risk_coverage.png", dpi=90)
    plt.close(fig)


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def write_report(report: EvalReport, out: Path, title: str = "triage evaluation") -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    with (out / "misclassified.jsonl").open("w", encoding="utf-8") as f:
        for m in report.misclassified:
            f.write(json.dumps(m, ensure_ascii=False) + "\n")
    _plots(report, out)
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(s.intent)}</td><td>{s.precision:.3f}</td><td>{s.recall:.3f}</td><td>{s.f1:.3f}</td><td>{s.support}</td></tr>"
        for s in report.per_intent)
    mis = "".join(
        f"<tr><td>{e(m['text'])}</td><td>{e(m['gold'])}</td><td>{e(m['predicted'])}</td><td>{m['confidence']:.3f}</td><td>{m['route']}</td></tr>"
        for m in report.misclassified[:300])
    prio = ""
    if report.priority_confusion:
        head = "".join(f"<th>pred {p}</th>" for p in report.priority_labels)
        body = "".join(f"<tr><th>gold {p}</th>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>"
                       for p, row in zip(report.priority_labels, report.priority_confusion))
        prio = (f"<h2>Priority</h2><p>accuracy {_pct(report.priority_accuracy)}; P0 recall "
                f"{_pct(report.p0_recall)}, P0 precision {_pct(report.p0_precision)}; P0 messages not routed to a "
                f"person: {report.p0_not_to_person}, answered by the bot: {report.p0_answered}</p>"
                f"<table><tr><th></th>{head}</tr>{body}</table>")
    if report.complexity_confusion:
        chead = "".join(f"<th>pred {c}</th>" for c in report.complexity_labels)
        cbody = "".join(f"<tr><th>gold {c}</th>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>"
                        for c, row in zip(report.complexity_labels, report.complexity_confusion))
        prio += (f"<h2>Complexity</h2><p>complex messages not routed to a person: {report.complex_not_to_person}</p>"
                 f"<table><tr><th></th>{chead}</tr>{cbody}</table>")
    langs = "".join(f"<tr><th>{e(lang)}</th>" + "".join(f"<td>{_pct(v) if k != 'n' else v}</td>" for k, v in row.items())
                    + "</tr>" for lang, row in report.by_language.items())
    if langs:
        cols = "".join(f"<th>{e(k)}</th>" for k in next(iter(report.by_language.values())))
        prio += f"<h2>By language</h2><table><tr><th></th>{cols}</tr>{langs}</table>"
    summary = [
        ("queries", report.n), ("in scope", report.n_in_scope), ("out of scope", report.n_out_of_scope),
        ("in-scope accuracy", _pct(report.in_scope_accuracy)), ("out-of-scope recall", _pct(report.out_of_scope_recall)),
        ("answer coverage", _pct(report.answer_coverage)), ("answer precision", _pct(report.answer_precision)),
        ("out-of-scope answered", _pct(report.out_of_scope_answered)),
    ] + [(f"route {k}", _pct(v)) for k, v in report.route_shares.items()]
    srows = "".join(f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in summary)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse;margin-bottom:1.5em}}
td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left}}img{{max-width:100%;border:1px solid #eee}}</style></head>
<body><h1>{e(title)}</h1><table>{srows}</table>
<p>Files: <a href="report.json">report.json</a>, <a href="misclassified.jsonl">misclassified.jsonl</a></p>
<h2>Risk–coverage</h2><img src="risk_coverage.png" alt="risk-coverage curve">
{prio}
<h2>Per intent</h2><table><tr><th>intent</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>{rows}</table>
<h2>Confusion matrix</h2><img src="confusion_matrix.png" alt="confusion matrix">
<h2>Misclassified ({len(report.misclassified)})</h2><table><tr><th>text</th><th>gold</th><th>predicted</th><th>confidence</th><th>route</th></tr>{mis}</table>
</body></html>"""
    (out / "index.html").write_text(page, encoding="utf-8")
