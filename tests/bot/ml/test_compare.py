from bot.core.vocabulary import Priority
from bot.ml.compare import compare, describe, mcnemar_p
from bot.ml.evaluation import evaluate_decisions
from bot.ml.policy import Decision, Route


def test_exact_mcnemar_against_hand_computed_values():
    assert mcnemar_p(0, 0) == 1.0
    assert abs(mcnemar_p(1, 9) - 2 * 11 / 1024) < 1e-12      # P(X <= 1), X ~ Bin(10, 1/2), two-sided
    assert mcnemar_p(9, 1) == mcnemar_p(1, 9)
    assert mcnemar_p(5, 5) == 1.0
    assert mcnemar_p(0, 20) < 1e-5


def d(intent):
    return Decision("q", "en", intent, 0.9, Route.ANSWER if intent else Route.ESCALATE, Priority.P2, None, [])


def test_compare_counts_discordant_pairs_and_puts_regressions_first():
    gold = ["a", "a", "b", "b", "out_of_scope", "c"]
    da = [d("a"), d("b"), d("b"), d("b"), d(None), d("c")]
    db = [d("a"), d("a"), d("b"), d("a"), d("a"), d("c")]
    ra, rb = evaluate_decisions(da, gold), evaluate_decisions(db, gold)
    c = compare(ra, da, rb, db, gold)
    assert (c.only_a_right, c.only_b_right, c.both_right, c.neither_right) == (2, 1, 3, 0)
    assert c.changes[0].delta < 0 and c.changes[0].intent in ("b", "out_of_scope")
    assert all(x.delta <= y.delta for x, y in zip(c.changes, c.changes[1:]))
    assert c.losses(0.05) and "out_of_scope_recall: 1.000 -> 0.000" in c.losses(0.05)
    assert c.losses(1.5) == []
    text = "\n".join(describe(c, "A", "B"))
    assert text.index("regressions") < text.index("improvements") < text.index("McNemar")
