"""`triage compare`: two models on the same test data, side by side, regressions first.

Figures per model (in-scope accuracy, out-of-scope recall, answer coverage and precision,
priority accuracy and confusion), per-intent F1 changes with the regressions first, and an exact
McNemar test on the messages both models decided: of the messages exactly one model got right,
is the split further from 50/50 than chance allows? (Two-sided binomial p-value; `b` = only A
right, `c` = only B right.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from bot.core.vocabulary import OUT_OF_SCOPE
from bot.ml.evaluation import EvalReport
from bot.ml.policy import Decision

#: The headline figures compared, and whether higher is better.
FIGURES = (("in_scope_accuracy", True), ("out_of_scope_recall", True), ("answer_coverage", True),
           ("answer_precision", True), ("out_of_scope_answered", False), ("priority_accuracy", True),
           ("p0_recall", True))


def mcnemar_p(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value for b and c discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class IntentChange:
    intent: str
    support: int
    f1_a: float
    f1_b: float

    @property
    def delta(self) -> float:
        return self.f1_b - self.f1_a


@dataclass(frozen=True)
class Comparison:
    a: EvalReport
    b: EvalReport
    only_a_right: int
    only_b_right: int
    both_right: int
    neither_right: int
    changes: list[IntentChange] = field(default_factory=list)  # regressions first

    @property
    def p_value(self) -> float:
        return mcnemar_p(self.only_a_right, self.only_b_right)

    def figure_rows(self) -> list[tuple[str, float | None, float | None, bool]]:
        return [(k, getattr(self.a, k), getattr(self.b, k), hib) for k, hib in FIGURES]

    def losses(self, margin: float) -> list[str]:
        """Headline figures where B is worse than A by more than `margin` (absolute)."""
        out = []
        for k, a, b, hib in self.figure_rows():
            if a is None or b is None:
                continue
            worse = (a - b) if hib else (b - a)
            if worse > margin:
                out.append(f"{k}: {a:.3f} -> {b:.3f}")
        return out

    def to_json(self) -> dict:
        return {"figures": {k: {"a": a, "b": b} for k, a, b, _ in self.figure_rows()},
                "priority_confusion": {"a": self.a.priority_confusion, "b": self.b.priority_confusion},
                "mcnemar": {"only_a_right": self.only_a_right, "only_b_right": self.only_b_right,
                            "both_right": self.both_right, "neither_right": self.neither_right,
                            "p_value": self.p_value},
                "per_intent": [{"intent": c.intent, "support": c.support, "f1_a": c.f1_a, "f1_b": c.f1_b,
                                "delta": c.delta} for c in self.changes]}


def _right(d: Decision, gold: str) -> bool:
    return (d.intent or OUT_OF_SCOPE) == gold


def compare(a: EvalReport, da: list[Decision], b: EvalReport, db: list[Decision], gold: list[str]) -> Comparison:
    """Compare two models' reports and their decisions on the same examples (`gold` labels)."""
    if not (len(da) == len(db) == len(gold)):
        raise ValueError("both models must decide the same messages")
    ra = [_right(d, g) for d, g in zip(da, gold)]
    rb = [_right(d, g) for d, g in zip(db, gold)]
    fa = {s.intent: s for s in a.per_intent}
    fb = {s.intent: s for s in b.per_intent}
    changes = [IntentChange(i, max(fa[i].support if i in fa else 0, fb[i].support if i in fb else 0),
                            fa[i].f1 if i in fa else 0.0, fb[i].f1 if i in fb else 0.0)
               for i in sorted(set(fa) | set(fb))]
    changes = [c for c in changes if c.support > 0]
    changes.sort(key=lambda c: (c.delta, c.intent))
    return Comparison(a, b, sum(x and not y for x, y in zip(ra, rb)), sum(y and not x for x, y in zip(ra, rb)),
                      sum(x and y for x, y in zip(ra, rb)), sum(not x and not y for x, y in zip(ra, rb)), changes)


def describe(c: Comparison, name_a: str, name_b: str, top: int = 15) -> list[str]:
    """The comparison as lines of text: regressions first, then the figures, then the test."""
    lines = []
    worse = [x for x in c.changes if x.delta < 0]
    better = [x for x in c.changes if x.delta > 0]
    lines.append(f"Per-intent F1 regressions ({len(worse)}):" if worse else "Per-intent F1 regressions: none")
    lines += [f"  {x.intent:<40} {x.f1_a:.3f} -> {x.f1_b:.3f} ({x.delta:+.3f}, n={x.support})" for x in worse[:top]]
    if len(worse) > top:
        lines.append(f"  … and {len(worse) - top} more")
    lines.append(f"Per-intent F1 improvements ({len(better)}):" if better else "Per-intent F1 improvements: none")
    lines += [f"  {x.intent:<40} {x.f1_a:.3f} -> {x.f1_b:.3f} ({x.delta:+.3f}, n={x.support})"
              for x in sorted(better, key=lambda x: -x.delta)[:top]]
    lines.append("")
    lines.append(f"{'figure':<24} {'A':>8} {'B':>8} {'B - A':>8}")
    for k, a, b, _ in c.figure_rows():
        fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
        delta = "—" if a is None or b is None else f"{b - a:+.3f}"
        lines.append(f"{k:<24} {fmt(a):>8} {fmt(b):>8} {delta:>8}")
    lines.append("")
    lines.append(f"A = {name_a}, B = {name_b}; {c.a.n} messages. McNemar (exact): only A right {c.only_a_right}, "
                 f"only B right {c.only_b_right}, p = {c.p_value:.4g}"
                 + (" (a real difference at 5%)" if c.p_value < 0.05 else " (no significant difference at 5%)"))
    return lines


def write_html(c: Comparison, name_a: str, name_b: str, out) -> None:
    """An HTML page and comparison.json in directory `out`."""
    import html
    import json
    from pathlib import Path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.json").write_text(json.dumps(c.to_json(), indent=1), encoding="utf-8")
    esc = html.escape
    fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
    rows = "".join(f"<tr><td>{esc(x.intent)}</td><td>{x.support}</td><td>{x.f1_a:.3f}</td><td>{x.f1_b:.3f}</td>"
                   f"<td class='{'bad' if x.delta < 0 else 'good' if x.delta > 0 else ''}'>{x.delta:+.3f}</td></tr>"
                   for x in c.changes if x.delta != 0)
    figs = "".join(f"<tr><td>{esc(k)}</td><td>{fmt(a)}</td><td>{fmt(b)}</td>"
                   f"<td>{'—' if a is None or b is None else f'{b - a:+.3f}'}</td></tr>" for k, a, b, _ in c.figure_rows())

    def confusion(m):
        if not m:
            return "<p>—</p>"
        head = "<tr><th>gold \\ predicted</th><th>P0</th><th>P1</th><th>P2</th></tr>"
        return "<table>" + head + "".join(f"<tr><th>P{i}</th>" + "".join(f"<td>{v}</td>" for v in r) + "</tr>"
                                          for i, r in enumerate(m)) + "</table>"

    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>triage compare</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}table{{border-collapse:collapse;margin:.5rem 0}}
td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}}.bad{{color:#a30000}}.good{{color:#1b5e20}}</style>
</head><body><main><h1>Model comparison</h1><p>A = {esc(name_a)}<br>B = {esc(name_b)}<br>{c.a.n} messages.</p>
<h2>Per-intent F1 changes (regressions first)</h2><table><tr><th>intent</th><th>n</th><th>A</th><th>B</th><th>B − A</th></tr>
{rows or '<tr><td colspan=5>no change</td></tr>'}</table>
<h2>Figures</h2><table><tr><th>figure</th><th>A</th><th>B</th><th>B − A</th></tr>{figs}</table>
<h2>Priority confusion</h2><h3>A</h3>{confusion(c.a.priority_confusion)}<h3>B</h3>{confusion(c.b.priority_confusion)}
<h2>McNemar test</h2><p>Only A right: {c.only_a_right}; only B right: {c.only_b_right}; both right: {c.both_right};
neither: {c.neither_right}. Exact two-sided p = {c.p_value:.4g}.</p></main></body></html>"""
    (out / "index.html").write_text(page, encoding="utf-8")
