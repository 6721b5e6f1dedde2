import numpy as np

from intents.calibration import Platt, answer_threshold, fit_platt, scope_threshold


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


def test_answer_threshold_reaches_target_precision():
    conf = np.r_[np.linspace(0.9, 1.0, 300), np.linspace(0.0, 0.6, 100)]
    correct = np.r_[np.ones(300, bool), np.zeros(100, bool)]
    correct[:3] = False  # three errors among the confident ones (at 0.9..0.9003)
    t = answer_threshold(conf, correct, 0.99)
    answered = conf >= t
    assert correct[answered].mean() >= 0.99
    assert answered.sum() >= 290


def test_answer_threshold_none_when_unreachable():
    conf = np.linspace(0, 1, 50)
    correct = np.arange(50) % 2 == 0
    assert answer_threshold(conf, correct, 0.99) is None
    # one extra error is counted: 50 clean answers cannot promise 99%
    assert answer_threshold(np.linspace(0.5, 1, 50), np.ones(50, bool), 0.99) is None


def test_scope_threshold_with_and_without_negatives():
    conf_in = np.linspace(0.5, 1.0, 100)
    correct = np.ones(100, bool)
    conf_oos = np.linspace(0.0, 0.45, 50)
    t = scope_threshold(conf_in, correct, conf_oos)
    assert 0.45 < t <= 0.5
    t2 = scope_threshold(conf_in, correct, np.array([]), keep_share=0.95)
    assert np.mean(conf_in >= t2) >= 0.95
