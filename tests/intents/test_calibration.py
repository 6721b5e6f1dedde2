import numpy as np
import pytest

from intents.calibration import (
    Platt,
    answer_threshold,
    best_supported,
    fit_platt,
    precision_lower_bound,
    scope_threshold,
)


def test_platt_is_monotone_and_fits_direction():
    rng = np.random.default_rng(0)
    s = rng.uniform(0, 1, 500)
    correct = rng.uniform(0, 1, 500) < s
    p = fit_platt(s, correct)
    assert p.a > 0
    out = p(np.array([0.1, 0.5, 0.9]))
    assert out[0] < out[1] < out[2]
    assert Platt.from_json(p.to_json()) == p


def test_platt_degenerate_inputs():
    assert fit_platt(np.array([0.2, 0.3]), np.array([True, True])).a > 0
    assert fit_platt(np.array([]), np.array([], dtype=bool)).a > 0


def test_precision_lower_bound_is_clopper_pearson():
    # With no error, the one-sided bound is alpha ** (1 / n) (the "rule of three" in exact form).
    assert precision_lower_bound(299, 299, 0.95) == pytest.approx(0.05 ** (1 / 299))
    assert precision_lower_bound(299, 299, 0.95) > 0.99 > precision_lower_bound(298, 298, 0.95)
    # One error in 100: the bound sits well below the 99% point estimate.
    assert 0.94 < precision_lower_bound(99, 100, 0.95) < 0.96
    assert precision_lower_bound(0, 0) == 0.0 and precision_lower_bound(0, 10) == 0.0


def test_answer_threshold_reaches_target_with_its_bound():
    conf = np.r_[np.linspace(0.9, 1.0, 1000), np.linspace(0.0, 0.6, 100)]
    correct = np.r_[np.ones(1000, bool), np.zeros(100, bool)]
    correct[:3] = False  # three errors among the least confident answers (0.9..0.9003)
    cut = answer_threshold(conf, correct, 0.99)
    answered = conf >= cut.threshold
    assert correct[answered].mean() >= 0.99 and cut.lower_bound >= 0.99
    assert answered.sum() == cut.answered >= 900
    assert cut.answered - cut.correct <= 4  # the bound still holds with one wrong answer at 0.6


def test_a_small_set_cannot_promise_99_percent():
    conf = np.linspace(0.5, 1, 100)
    assert answer_threshold(conf, np.ones(100, bool), 0.99) is None  # 100 clean answers: bound 97%
    best = best_supported(conf, np.ones(100, bool))
    assert best.answered == 100 and 0.96 < best.lower_bound < 0.99
    cut = answer_threshold(conf, np.ones(100, bool), 0.95)
    assert cut is not None and cut.threshold == conf.min()
    half = np.arange(50) % 2 == 0
    assert answer_threshold(np.linspace(0, 1, 50), half, 0.9) is None


def test_scope_threshold_with_and_without_negatives():
    conf_in = np.linspace(0.5, 1.0, 100)
    correct = np.ones(100, bool)
    conf_oos = np.linspace(0.0, 0.45, 50)
    t = scope_threshold(conf_in, correct, conf_oos)
    assert 0.45 < t <= 0.5
    t2 = scope_threshold(conf_in, correct, np.array([]), keep_share=0.95)
    assert np.mean(conf_in >= t2) >= 0.95
